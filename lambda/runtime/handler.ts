/**
 * `createMcpLambdaHandler`: serves an MCP server factory as a Lambda behind an API Gateway REST API
 * and its token authorizer. Stateless. With response streaming (`RESPONSE_TRANSFER_MODE=STREAM`, the
 * construct's default) a request whose tool sends progress or log notifications is answered as an
 * event stream that carries each one as it happens; a request that sends nothing mid-way is still
 * answered with one JSON body. Buffered, every answer is one JSON body.
 *
 * Per request, in this order: Origin check (403), CORS preflight (204), identity from the
 * authorizer context (401, also for a token whose `exp` passed while its authorizer decision was
 * cached), method (405), body size (413), Accept (406), Content-Type (415), JSON (400 parse error),
 * batch (400 invalid request), `subscriptions/listen` when buffered (404 method not found: it needs
 * a stream), per-tool scopes (403 insufficient_scope), then the MCP SDK: the 2026-07-28 path through
 * `createMcpHandler`, 2025-era requests through a stateless streamable HTTP transport.
 * Whatever happens, the answer is JSON-RPC and one log line.
 */
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  createMcpHandler,
  createRequestStateCodec,
  type RequestStateCodec,
  type ServerOptions,
  isJsonContentType,
  isLegacyRequest,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpRequestContext,
  type RequestId,
  type Server,
} from '@modelcontextprotocol/server';
import { isScopeToken } from '../shared/scopes';
import { insufficientScopeChallenge, invalidTokenChallenge, unauthorizedChallenge } from '../shared/urls';
import {
  bodyTextOf,
  headerValuesOf,
  proxyResultFromResponse,
  publicBaseOf,
  requestFromProxyEvent,
  type ProxyEvent,
  type ProxyResult,
} from './adapter';
import { authInfoFromAuthorizer, callerOf, missingScopes, type Caller } from './auth-info';
import { allowedOriginOf, readRuntimeSettings, type ResponseTransferMode } from './config';
import {
  isEventStream,
  StreamClosedError,
  writeResponseToStream,
  type HttpResponseStreamFrom,
  type LambdaResponseStream,
} from './response-stream';
import { jsonUnlessStreamed } from './sse';
import { RequestStateKeyError, requestStateKeyLoader } from './request-state-key';
import { DEFAULT_SERVICE_NAME } from '../shared/settings/common';
import { MCP_SETTINGS } from '../shared/settings/mcp';
import { nonEmpty } from '../shared/settings/setting';
import { createRequestLogWriter, type RequestLogWriter } from './request-log';
import {
  ExpiredTokenError,
  InvalidProxyEventError,
  MissingIdentityError,
  RuntimeConfigError,
  StreamingResponseError,
} from './errors';
import {
  ALLOWED_METHODS,
  corsHeaders,
  echoableId,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  jsonRpcErrorResponse,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  preflightResponse,
  TRANSPORT_ERROR,
} from './responses';

const REQUEST_STATE_SECRET_ARN = MCP_SETTINGS.requestStateSecretArn.variable;

/** Name, version and optional title the server reports to clients. */
export interface ServerInfo {
  readonly name: string;
  readonly version: string;
  readonly title?: string;
}

/** What the factory receives for each request: the SDK's context plus the caller, always present here. */
export interface McpLambdaRequestContext extends McpRequestContext {
  /** The verified caller's `AuthInfo` (also visible to tools as `ctx.http?.authInfo`). */
  readonly authInfo: AuthInfo;
  /** The caller, ready to use: `sub`, `orgId`, `clientId`, `scopes`. */
  readonly caller: Caller;
  /** The `serverInfo` option, to pass to `new McpServer(serverInfo)`. */
  readonly serverInfo: ServerInfo;
  /**
   * Server options this runtime needs, to spread into `new McpServer(serverInfo, { ...serverOptions })`:
   * `requestState.verify` checks every echoed `requestState` (when a key is configured), and the
   * 2025-era multi-round-trip shim is off, since a stateless server cannot send requests to a
   * 2025 client.
   */
  readonly serverOptions: Pick<ServerOptions, 'requestState' | 'inputRequired'>;
  /**
   * Seals a tool's multi-round-trip state (`inputRequired({ requestState: await requestState.mint(payload, ctx) })`)
   * with the function's HMAC key, bound to the caller (`sub` and `client_id`): state minted for one
   * user or client is refused for any other. Undefined when no key is configured.
   */
  readonly requestState?: RequestStateCodec;
}

/**
 * Builds a fresh `McpServer` (or low-level `Server`) for one request. Register tools here; a tool
 * reads its caller with `callerOf(ctx.http?.authInfo)` in its callback `(args, ctx) => ...`.
 */
export type McpLambdaServerFactory = (ctx: McpLambdaRequestContext) => McpServer | Server | Promise<McpServer | Server>;

export interface McpLambdaHandlerOptions {
  /**
   * Scopes each tool requires, checked before the tool runs: a caller without them gets a 403 with
   * a JSON-RPC error whose `data` says `insufficient_scope` and names `requiredScopes` and
   * `missingScopes`, and the tool never executes. The body is what reaches clients: API Gateway
   * renames a proxy integration's `WWW-Authenticate` (`x-amzn-Remapped-WWW-Authenticate`). List
   * these scopes in the construct's `scopesSupported` too, so the metadata advertises them.
   * @default - no tool requires a scope beyond what the authorizer demands
   */
  readonly toolScopes?: Readonly<Record<string, readonly string[]>>;
  /**
   * Browser origins allowed to call the endpoint (full origins or bare hostnames); a request with
   * another `Origin` gets 403. Requests without `Origin` (non-browser clients) always pass.
   * @default - `ALLOWED_ORIGINS` (comma separated); unset or `*` allows any origin
   */
  readonly allowedOrigins?: readonly string[] | '*';
  /**
   * Largest request body accepted, in bytes; larger bodies get 413.
   * @default - `MAX_BODY_BYTES`, or 1 MiB
   */
  readonly maxBodyBytes?: number;
  /**
   * Allowed clock skew, in seconds, when checking the token's `exp` on each request (API Gateway's
   * authorizer cache does not look at `exp`). Keep it equal to the authorizer's.
   * @default - `CLOCK_TOLERANCE_SECONDS`, or 30
   */
  readonly clockToleranceSeconds?: number;
  /**
   * The public base URL of the API; the canonical resource is `<base>/mcp`.
   * @default - `PUBLIC_BASE_URL`
   */
  readonly publicBaseUrl?: string;
  /**
   * What the server reports as its implementation, handed to the factory.
   * @default - `{ name: POWERTOOLS_SERVICE_NAME or 'mcp-server', version: '1.0.0' }`
   */
  readonly serverInfo?: ServerInfo;
  /**
   * The Powertools logger for the per-request log line. That line is written in the Logger's
   * default JSON shape with its level, service, sampling rate and persistent keys, without going
   * through its formatter (request-log.ts says why); its other lines are the Logger's own.
   * @default - a new Logger (service from `POWERTOOLS_SERVICE_NAME`, level from `POWERTOOLS_LOG_LEVEL`)
   */
  readonly logger?: Logger;
  /**
   * How API Gateway carries the answer: `stream` (the integration's `ResponseTransferMode: STREAM`)
   * or `buffered`. Streaming, the exported handler is a Lambda streaming handler.
   * @default - `RESPONSE_TRANSFER_MODE` (`STREAM` or `BUFFERED`), or `buffered` when unset
   */
  readonly responseTransferMode?: ResponseTransferMode;
  /**
   * Longest time one `subscriptions/listen` stream is held open, in seconds, before it is closed
   * cleanly (the client then listens again). A held stream is billed as Lambda duration.
   * @default - `LISTEN_MAX_SECONDS`, or 240 (under API Gateway's 5-minute idle timeout)
   */
  readonly listenMaxSeconds?: number;
  /**
   * How long before the invocation's time limit a streamed request is given up: its tool is
   * aborted and the client gets a JSON-RPC error instead of a stream cut off mid-way.
   * @default 2000
   */
  readonly timeoutMarginMs?: number;
  /**
   * `awslambda.HttpResponseStream.from`, which puts the HTTP status and headers in front of a
   * streamed body. Only for running the streaming handler outside a Lambda runtime.
   * @default - the Lambda Node.js runtime's `awslambda.HttpResponseStream.from`
   */
  readonly httpResponseStreamFrom?: HttpResponseStreamFrom;
  /**
   * The HMAC key for multi-round-trip `requestState` (at least 32 bytes), shared by every instance
   * of the function. Without one, tools get no `requestState` codec.
   * @default - no key
   */
  readonly requestStateKey?: string | Uint8Array;
  /**
   * How long a minted `requestState` stays valid, in seconds.
   * @default 600
   */
  readonly requestStateTtlSeconds?: number;
}

/** The parts of the Lambda context the handler reads. */
export interface LambdaContextLike {
  readonly awsRequestId?: string;
  /** Milliseconds left before Lambda stops the invocation. */
  getRemainingTimeInMillis?(): number;
}

/** A buffered REST API proxy handler: the whole answer as one proxy result. */
export type BufferedMcpLambdaHandler = (event: ProxyEvent, context?: LambdaContextLike) => Promise<ProxyResult>;
/** A Lambda streaming handler (`awslambda.streamifyResponse`): the answer is written to the stream as it is produced. */
export type StreamingMcpLambdaHandler = (
  event: ProxyEvent,
  responseStream: LambdaResponseStream,
  context?: LambdaContextLike,
) => Promise<void>;

/**
 * The Lambda handler. Called as Lambda calls a streaming handler, `(event, responseStream,
 * context)`, it streams; called with `(event, context)` it returns the proxy result. Which one
 * Lambda uses follows `responseTransferMode`: streaming, the function is marked with
 * `awslambda.streamifyResponse`.
 */
export interface McpLambdaHandler {
  (event: ProxyEvent, context?: LambdaContextLike): Promise<ProxyResult>;
  (event: ProxyEvent, responseStream: LambdaResponseStream, context?: LambdaContextLike): Promise<void>;
}

// The per-request log line, filled in as the request travels through the layers.
interface RequestRecord {
  requestId: string;
  httpMethod: string;
  /** The request's Origin once it passed the Origin check, serialised, for the CORS answer. */
  allowedOrigin?: string;
  rpcMethod?: string;
  tool?: string;
  era?: 'legacy' | 'modern';
  sub?: string;
  /** The JSON-RPC id of the request, echoed on an error answer. */
  rpcId?: RequestId | null;
  reasons: string[];
  /** An unexpected exception, logged with its stack on the request's line. */
  error?: Error;
  /** What to release once the answer has been read or written to the end (the 2025 transport, the in-flight entry). */
  cleanups: (() => void)[];
  /** Set once the answer is done: a cleanup added later runs at once. */
  finished?: boolean;
}

function onFinished(record: RequestRecord, cleanup: () => void): void {
  if (record.finished) cleanup();
  else record.cleanups.push(cleanup);
}

function finish(record: RequestRecord): void {
  record.finished = true;
  for (const cleanup of record.cleanups.splice(0)) cleanup();
}

/** The 2026-07-28 method that opens a server-to-client notification stream. */
const LISTEN_METHOD = 'subscriptions/listen';
const EXPIRED_TOKEN_DESCRIPTION = 'The access token has expired';
const DEFAULT_TIMEOUT_MARGIN_MS = 2000;
// The write buffer of Lambda's response stream: small, so each event leaves when it is written.
const STREAM_HIGH_WATER_MARK = 1024;

function validateToolScopes(toolScopes: Readonly<Record<string, readonly string[]>>): void {
  for (const [tool, scopes] of Object.entries(toolScopes)) {
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !isScopeToken(s))) {
      throw new RuntimeConfigError(
        'toolScopes',
        `toolScopes["${tool}"] must be a list of OAuth scope tokens (no spaces or quotes), got ${JSON.stringify(scopes)}.`,
      );
    }
  }
}

/** Scopes a tool requires: own entries only, so a tool named `constructor` or `__proto__` needs none. */
function scopesOfTool(
  toolScopes: Readonly<Record<string, readonly string[]>>,
  tool: string,
): readonly string[] | undefined {
  return Object.hasOwn(toolScopes, tool) ? toolScopes[tool] : undefined;
}

interface AwsLambdaGlobal {
  streamifyResponse(handler: StreamingMcpLambdaHandler, options?: { highWaterMark?: number }): unknown;
  HttpResponseStream: { from: HttpResponseStreamFrom };
}

/** The Lambda Node.js runtime's `awslambda` global, when this process has a complete one. */
function awslambdaGlobal(): AwsLambdaGlobal | undefined {
  const candidate = (globalThis as unknown as { awslambda?: Partial<AwsLambdaGlobal> }).awslambda;
  return typeof candidate?.streamifyResponse === 'function' && typeof candidate.HttpResponseStream?.from === 'function'
    ? (candidate as AwsLambdaGlobal)
    : undefined;
}

function isResponseStream(value: unknown): value is LambdaResponseStream {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as LambdaResponseStream).write === 'function' &&
    typeof (value as LambdaResponseStream).end === 'function'
  );
}

/** What one request is answered with, and how it ended, for the log line. */
interface Answer {
  readonly response: Response;
  readonly record: RequestRecord;
}

/**
 * Creates the Lambda handler. Reads its settings once (at cold start, when called at module scope)
 * and throws a {@link RuntimeConfigError} naming the variable when one is missing or malformed.
 *
 * ```ts
 * import { createMcpLambdaHandler, callerOf } from 'mcp-authkit-apigateway/runtime';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import * as z from 'zod';
 *
 * export const handler = createMcpLambdaHandler(({ serverInfo }) => {
 *   const server = new McpServer(serverInfo);
 *   server.registerTool('greet', { inputSchema: z.object({ name: z.string() }) }, async ({ name }, ctx) => {
 *     const caller = callerOf(ctx.http?.authInfo);
 *     return { content: [{ type: 'text', text: `Hello ${name}, from ${caller.sub}` }] };
 *   });
 *   return server;
 * }, { toolScopes: { greet: ['greetings:write'] } });
 * ```
 */
export function createMcpLambdaHandler(
  factory: McpLambdaServerFactory,
  options: McpLambdaHandlerOptions = {},
): McpLambdaHandler {
  const settings = readRuntimeSettings(options);
  const toolScopes = options.toolScopes ?? {};
  validateToolScopes(toolScopes);
  const streaming = settings.responseTransferMode === 'stream';
  const lambdaGlobal = awslambdaGlobal();
  const from = options.httpResponseStreamFrom ?? lambdaGlobal?.HttpResponseStream.from;
  if (streaming && from === undefined) noResponseStream();
  const logger = options.logger ?? new Logger();
  const writeRequestLog = createRequestLogWriter(logger);
  const answer = createAnswerer(createServe(factory, options, settings, logger, toolScopes), settings.origins.any);
  const margin = options.timeoutMarginMs ?? DEFAULT_TIMEOUT_MARGIN_MS;

  const buffered: BufferedMcpLambdaHandler = async (event, context) => {
    const started = performance.now();
    const { response, record } = await answer(event, newRecord(event, context), undefined);
    const result = await bufferedResult(response, record, settings.origins.any).finally(() => finish(record));
    logRequest(writeRequestLog, record, result.statusCode, performance.now() - started);
    return result;
  };

  const streamed: StreamingMcpLambdaHandler = async (event, responseStream, context) => {
    const started = performance.now();
    const limits = requestLimits(responseStream, context, margin);
    const record = newRecord(event, context);
    let status = 0;
    try {
      const answered = await limits.race(answer(event, record, limits));
      const response =
        answered?.response ?? withCors(timeoutResponse(limits, record.rpcId), record, settings.origins.any);
      if (answered === undefined) record.reasons.push(timeoutMessage(limits));
      status = response.status;
      await writeStreamed(response, responseStream, from ?? noResponseStream(), limits, record.rpcId ?? null);
      if (limits.reason() === 'timeout') record.reasons.push(timeoutMessage(limits));
    } catch (error) {
      limits.disconnected();
      if (!(error instanceof StreamClosedError)) throw error;
      record.reasons.push('the client disconnected before the answer was complete');
    } finally {
      limits.dispose();
      finish(record);
      logRequest(writeRequestLog, record, status, performance.now() - started);
    }
  };

  const entry = ((event: ProxyEvent, second?: LambdaResponseStream | LambdaContextLike, third?: LambdaContextLike) =>
    isResponseStream(second)
      ? streamed(event, second, third)
      : buffered(event, second as LambdaContextLike | undefined)) as McpLambdaHandler;
  if (streaming && lambdaGlobal !== undefined)
    lambdaGlobal.streamifyResponse(entry as StreamingMcpLambdaHandler, { highWaterMark: STREAM_HIGH_WATER_MARK });
  return entry;
}

/** Streaming needs the Lambda runtime's `awslambda.HttpResponseStream` (or `httpResponseStreamFrom`). */
function noResponseStream(): never {
  throw new RuntimeConfigError(
    'RESPONSE_TRANSFER_MODE',
    'RESPONSE_TRANSFER_MODE is STREAM, but this process has no awslambda.HttpResponseStream: run the function on the Lambda Node.js runtime, or pass responseTransferMode: "buffered".',
  );
}

async function bufferedResult(response: Response, record: RequestRecord, anyOrigin: boolean): Promise<ProxyResult> {
  try {
    return await proxyResultFromResponse(response);
  } catch (error) {
    if (!(error instanceof StreamingResponseError)) throw error;
    // Backstop: buffered, only listen-class requests stream, and those are refused up front.
    record.reasons.push(error.message);
    return proxyResultFromResponse(withCors(internalError(record, record.rpcId ?? null), record, anyOrigin));
  }
}

/**
 * The limits of one streamed request: the client disconnecting, and the invocation's time limit
 * less a margin. Either aborts `signal` (the MCP SDK then cancels the request and its tool).
 */
interface RequestLimits {
  readonly signal: AbortSignal;
  /** Why the request was given up: `timeout` or `disconnected`. */
  readonly reason: () => 'timeout' | 'disconnected' | 'hold' | undefined;
  /** Resolves with the promise's value, or with undefined once the limits abort the request. */
  race<T>(promise: Promise<T>): Promise<T | undefined>;
  /** Ends a listen stream after `seconds`, unless something else ends it first. */
  holdFor(seconds: number): void;
  /** Gives the request up because its stream can no longer be written. */
  disconnected(): void;
  readonly timeLimitMs?: number;
  dispose(): void;
}

function requestLimits(
  responseStream: LambdaResponseStream,
  context: LambdaContextLike | undefined,
  marginMs: number,
): RequestLimits {
  const controller = new AbortController();
  let reason: 'timeout' | 'disconnected' | 'hold' | undefined;
  const abort = (why: 'timeout' | 'disconnected' | 'hold'): void => {
    if (reason !== undefined) return;
    reason = why;
    controller.abort(new Error(`request given up: ${why}`));
  };
  const onClose = (): void => {
    if (!responseStream.writableFinished) abort('disconnected');
  };
  responseStream.on('close', onClose);
  const timers: NodeJS.Timeout[] = [];
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining !== undefined) timers.push(setTimeout(() => abort('timeout'), Math.max(0, remaining - marginMs)));
  // Removed again in dispose: a Request made with this signal keeps the signal alive for as long
  // as the Request lives, and a listener left on it would keep this request's answer alive too.
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    signal: controller.signal,
    reason: () => reason,
    race: (promise) => Promise.race([promise, aborted]),
    holdFor: (seconds) => void timers.push(setTimeout(() => abort('hold'), seconds * 1000)),
    disconnected: () => abort('disconnected'),
    timeLimitMs: remaining,
    dispose: () => {
      for (const timer of timers) clearTimeout(timer);
      responseStream.off('close', onClose);
      controller.signal.removeEventListener('abort', onAbort);
    },
  };
}

function timeoutMessage(limits: RequestLimits): string {
  const seconds = limits.timeLimitMs === undefined ? undefined : Math.round(limits.timeLimitMs / 1000);
  return `Request timed out: the server's time limit${seconds === undefined ? '' : ` (${seconds} s)`} was reached before the answer was complete`;
}

/** The JSON answer for a request given up before its response started. */
function timeoutResponse(limits: RequestLimits, id: RequestId | null | undefined): Response {
  if (limits.reason() === 'disconnected') throw new StreamClosedError();
  return jsonRpcErrorResponse(504, INTERNAL_ERROR, timeoutMessage(limits), { id: id ?? null });
}

/** Writes the response; when the limits stop it mid-stream, the stream ends with a JSON-RPC error event (or cleanly, for a listen stream's hold). */
async function writeStreamed(
  response: Response,
  responseStream: LambdaResponseStream,
  from: HttpResponseStreamFrom,
  limits: RequestLimits,
  id: RequestId | null,
): Promise<void> {
  const body = response.body;
  if (body === null || limits.signal.aborted || !isEventStream(response)) {
    await writeResponseToStream(response, responseStream, from);
    return;
  }
  const reader = body.getReader();
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    void reader.cancel().catch(() => undefined);
  };
  limits.signal.addEventListener('abort', stop, { once: true });
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (!done && !stopped) return controller.enqueue(value);
      if (stopped && limits.reason() === 'timeout')
        controller.enqueue(new TextEncoder().encode(sseErrorEvent(limits, id)));
      controller.close();
    },
  });
  try {
    await writeResponseToStream(
      new Response(guarded, { status: response.status, headers: response.headers }),
      responseStream,
      from,
    );
  } finally {
    limits.signal.removeEventListener('abort', stop);
  }
}

function sseErrorEvent(limits: RequestLimits, id: RequestId | null): string {
  const message = { jsonrpc: '2.0', id, error: { code: INTERNAL_ERROR, message: timeoutMessage(limits) } };
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

type Answerer = (event: ProxyEvent, record: RequestRecord, limits: RequestLimits | undefined) => Promise<Answer>;

function newRecord(event: ProxyEvent, context: LambdaContextLike | undefined): RequestRecord {
  return {
    requestId: context?.awsRequestId ?? event.requestContext?.requestId ?? crypto.randomUUID(),
    httpMethod: (event.httpMethod ?? '').toUpperCase(),
    reasons: [],
    cleanups: [],
  };
}

/**
 * The request pipeline shared by both transfer modes: checks, identity, then the MCP SDK. Always
 * resolves with a response (errors become JSON-RPC errors) carrying the CORS headers.
 */
function createAnswerer(serve: Serve, anyOrigin: boolean): Answerer {
  return async (event, record, limits) => {
    let response: Response;
    try {
      response = await serve(event, record, limits);
    } catch (error) {
      response = errorResponse(error, record);
    }
    return { response: withCors(response, record, anyOrigin), record };
  };
}

function errorResponse(error: unknown, record: RequestRecord): Response {
  if (error instanceof InvalidProxyEventError) {
    record.reasons.push(error.message);
    return jsonRpcErrorResponse(400, INVALID_REQUEST, `Bad Request: ${error.message}`);
  }
  record.error = error instanceof Error ? error : new Error(String(error));
  record.reasons.push(`unexpected ${record.error.name}: ${record.error.message}`);
  return internalError(record, record.rpcId ?? null);
}

function withCors(response: Response, record: RequestRecord, anyOrigin: boolean): Response {
  const cors = corsHeaders(record.allowedOrigin, anyOrigin);
  try {
    for (const [name, values] of Object.entries(cors)) response.headers.set(name, values.join(', '));
    return response;
  } catch {
    // A response with immutable headers (Response.error(), a fetched one): copy them.
    const headers = new Headers(response.headers);
    for (const [name, values] of Object.entries(cors)) headers.set(name, values.join(', '));
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

function internalError(record: RequestRecord, id: RequestId | null): Response {
  return jsonRpcErrorResponse(500, INTERNAL_ERROR, `Internal error (request id ${record.requestId})`, {
    id,
    data: { requestId: record.requestId },
  });
}

type Serve = (event: ProxyEvent, record: RequestRecord, limits: RequestLimits | undefined) => Promise<Response>;
type McpEntry = (request: Request, message: unknown, authInfo: AuthInfo, record: RequestRecord) => Promise<Response>;

/**
 * The MCP SDK for both eras, over one factory. Streaming, the 2026-07-28 path answers JSON unless
 * the handler sends something first (`responseMode: 'auto'`), and a 2025-era request gets the same
 * treatment from {@link jsonUnlessStreamed}; its transport stays open until the body has been read.
 */
function createMcpEntry(
  factory: McpLambdaServerFactory,
  settings: ReturnType<typeof readRuntimeSettings>,
  serverInfo: ServerInfo,
  logger: Logger,
  requestState: RequestStateCodec | undefined,
): McpEntry {
  const streaming = settings.responseTransferMode === 'stream';
  const serverOptions: McpLambdaRequestContext['serverOptions'] = {
    inputRequired: { legacyShim: false },
    ...(requestState ? { requestState: { verify: requestState.verify } } : {}),
  };
  const inFlight = new Set<RequestRecord>();
  const reportError = createErrorReporter(inFlight, logger);
  // The SDK hands the factory the very AuthInfo object given to fetch: it identifies the request.
  const recordOf = new WeakMap<AuthInfo, RequestRecord>();
  const userFactory = (ctx: McpRequestContext): ReturnType<McpLambdaServerFactory> => {
    if (ctx.authInfo === undefined) throw new MissingIdentityError('the MCP SDK called the factory without authInfo');
    const record = recordOf.get(ctx.authInfo);
    if (record) record.era = ctx.era;
    return factory({
      ...ctx,
      authInfo: ctx.authInfo,
      caller: callerOf(ctx.authInfo),
      serverInfo,
      serverOptions,
      requestState,
    });
  };
  const modern = withoutJsonModeNotice(() =>
    createMcpHandler(userFactory, {
      legacy: 'reject',
      responseMode: streaming ? 'auto' : 'json',
      maxRequestBodySize: settings.maxBodyBytes,
      onerror: reportError,
    }),
  );

  const serveLegacy = createLegacyServe(userFactory, settings, reportError);

  return async (request, message, authInfo, record) => {
    recordOf.set(authInfo, record);
    inFlight.add(record);
    try {
      onFinished(record, () => inFlight.delete(record));
      return (await isLegacyRequest(request, message))
        ? await serveLegacy(request, authInfo, message, record)
        : await modern.fetch(request, { authInfo, parsedBody: message });
    } catch (error) {
      inFlight.delete(record);
      throw error;
    }
  };
}

/**
 * The SDK reports errors through one `onerror` callback without saying which request they belong
 * to. A Lambda instance serves one request at a time, so the reason goes on that request's line;
 * with several in flight (a local runner) it gets a line of its own.
 */
function createErrorReporter(inFlight: ReadonlySet<RequestRecord>, logger: Logger): (error: Error) => void {
  return (error) => {
    if (inFlight.size === 1) for (const record of inFlight) record.reasons.push(error.message);
    else logger.warn('MCP SDK reported an error', { reason: error.message, requestsInFlight: inFlight.size });
  };
}

type LegacyServe = (
  request: Request,
  authInfo: AuthInfo,
  parsedBody: unknown,
  record: RequestRecord,
) => Promise<Response>;

/** A 2025-era request: a fresh server and stateless transport, closed once the response is done. */
function createLegacyServe(
  userFactory: (ctx: McpRequestContext) => ReturnType<McpLambdaServerFactory>,
  settings: ReturnType<typeof readRuntimeSettings>,
  reportError: (error: Error) => void,
): LegacyServe {
  const streaming = settings.responseTransferMode === 'stream';
  return async (request, authInfo, parsedBody, record) => {
    const product = await userFactory({ era: 'legacy', authInfo, requestInfo: request });
    const server = product instanceof McpServer ? product.server : product;
    server.onerror = (error) => record.reasons.push(error.message);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
      maxRequestBodySize: settings.maxBodyBytes,
    });
    const close = (): void => {
      void transport.close().catch(reportError);
      void product.close().catch(reportError);
    };
    await product.connect(transport);
    let response: Response;
    try {
      response = await transport.handleRequest(request, { authInfo, parsedBody });
    } catch (error) {
      close();
      throw error;
    }
    onFinished(record, close);
    return streaming ? jsonUnlessStreamed(response) : response;
  };
}

// The SDK announces on every construction in JSON mode that mid-call notifications are dropped.
// Buffered, that is this runtime's documented behaviour (a buffered integration could not deliver
// them before the result anyway), so the notice would only repeat on every cold start.
const JSON_MODE_NOTICE = "responseMode: 'json' drops mid-call notifications";

function withoutJsonModeNotice<T>(create: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith(JSON_MODE_NOTICE)) return;
    warn(...args);
  };
  try {
    return create();
  } finally {
    console.warn = warn;
  }
}

type Step = Response | undefined;

/** The request's checks in order, then the MCP SDK. */
function createServe(
  factory: McpLambdaServerFactory,
  options: McpLambdaHandlerOptions,
  settings: ReturnType<typeof readRuntimeSettings>,
  logger: Logger,
  toolScopes: Readonly<Record<string, readonly string[]>>,
): Serve {
  const base = publicBaseOf(settings.urls.base);
  const resource = new URL(settings.urls.resource);
  const serverInfo: ServerInfo = options.serverInfo ?? {
    name: process.env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE_NAME,
    version: '1.0.0',
  };
  const mcp = createMcpEntry(factory, settings, serverInfo, logger, requestStateCodecOf(options, logger));
  const streaming = settings.responseTransferMode === 'stream';
  const identify = createIdentify(settings, resource);
  const scopeRefusal = createScopeRefusal(settings, toolScopes);

  return async (event, record, limits) => {
    const headers = headerValuesOf(event);
    const header = (name: string): string | undefined => headers.get(name)?.join(', ');
    const refused = originRefusal(header('origin'), settings.origins, record);
    if (refused) return refused;
    if (record.httpMethod === 'OPTIONS') return preflightResponse();
    const authInfo = identify(event, header, record);
    if (authInfo instanceof Response) return authInfo;
    const body = bodyTextOf(event);
    const invalid = httpRefusal(record, body.byteLength, header, settings.maxBodyBytes);
    if (invalid) return invalid;
    const parsed = parseMessage(body.text, record);
    if (parsed instanceof Response) return parsed;
    const { message, id, rpcMethod, tool } = parsed;
    if (rpcMethod === LISTEN_METHOD && !streaming) return listenRefusal(record, id);
    if (tool !== undefined) {
      const refusal = scopeRefusal(tool, authInfo, id);
      if (refusal) {
        record.reasons.push(`tool ${tool} needs scopes the caller lacks`);
        return refusal;
      }
    }
    if (rpcMethod === LISTEN_METHOD) limits?.holdFor(settings.listenMaxSeconds);
    // The SDK gets the parsed message as `parsedBody` on both paths and then never reads the body,
    // so the request carries none.
    const request = requestFromProxyEvent(event, base, { headers, withoutBody: true, signal: limits?.signal });
    const response = await mcp(request, message, authInfo, record);
    // The SDK already answered JSON-RPC; add the request id so the caller can quote it.
    if (response.status >= 500) {
      await response.body?.cancel().catch(() => undefined);
      return internalError(record, id);
    }
    return response;
  };
}

/** The caller's identity from the authorizer's context, or the refusal that says why there is none. */
function createIdentify(
  settings: ReturnType<typeof readRuntimeSettings>,
  resource: URL,
): (event: ProxyEvent, header: (name: string) => string | undefined, record: RequestRecord) => AuthInfo | Response {
  return (event, header, record) => {
    try {
      const authInfo = authInfoFromAuthorizer({
        authorizer: event.requestContext?.authorizer,
        authorizationHeader: header('authorization'),
        resource,
        resourceMetadataUrl: settings.urls.protectedResourceMetadata,
        clockToleranceSeconds: settings.clockToleranceSeconds,
      });
      record.sub = (authInfo.extra as { sub: string }).sub;
      return authInfo;
    } catch (error) {
      return identityRefusal(error, record, settings.urls);
    }
  };
}

/** The 403 `insufficient_scope` answer when the token lacks a scope the tool requires. */
function createScopeRefusal(
  settings: ReturnType<typeof readRuntimeSettings>,
  toolScopes: Readonly<Record<string, readonly string[]>>,
): (tool: string, authInfo: AuthInfo, id: RequestId | null) => Step {
  return (tool, authInfo, id) => {
    const required = scopesOfTool(toolScopes, tool);
    if (!required || required.length === 0) return undefined;
    const missing = missingScopes(authInfo, required);
    if (missing.length === 0) return undefined;
    return jsonRpcErrorResponse(
      403,
      TRANSPORT_ERROR,
      `insufficient_scope: the tool "${tool}" requires the scope(s) ${missing.join(', ')} that the access token lacks`,
      {
        id,
        data: { error: 'insufficient_scope', tool, requiredScopes: [...required], missingScopes: missing },
        headers: { 'WWW-Authenticate': insufficientScopeChallenge(settings.urls, required) },
      },
    );
  };
}

/** The SDK would open an endless event stream, which a buffered integration can never deliver. */
function listenRefusal(record: RequestRecord, id: RequestId | null): Response {
  record.reasons.push(`${LISTEN_METHOD} needs a long-lived event stream, which a buffered integration cannot hold`);
  return jsonRpcErrorResponse(
    404,
    METHOD_NOT_FOUND,
    `Method not found: ${LISTEN_METHOD} needs response streaming, which this endpoint does not use`,
    { id },
  );
}

/**
 * The `requestState` codec: HMAC-SHA256 with the function's key, bound to the verified caller, so
 * a state captured by one user or client fails verification (`-32602`) for any other. A key given
 * as an option is checked at once. One in Secrets Manager is read when a tool first seals or a
 * request first echoes a state, so requests that never use one never wait for it.
 */
function requestStateCodecOf(options: McpLambdaHandlerOptions, logger: Logger): RequestStateCodec | undefined {
  const ttlSeconds = options.requestStateTtlSeconds ?? 600;
  if (options.requestStateKey !== undefined)
    return requestStateCodecFor(options.requestStateKey, ttlSeconds, 'requestStateKey');
  if (nonEmpty(process.env[REQUEST_STATE_SECRET_ARN]) === undefined) return undefined;
  const loadKey = requestStateKeyLoader();
  const codec = async (): Promise<RequestStateCodec> => {
    try {
      const key = await loadKey();
      if (key === undefined) throw new Error(`${REQUEST_STATE_SECRET_ARN} names no secret`);
      return requestStateCodecFor(key, ttlSeconds, REQUEST_STATE_SECRET_ARN);
    } catch (error) {
      // The reason goes to the log; the client learns only that the server could not do it now.
      logger.error('requestState key unavailable', { reason: (error as Error).message });
      throw new RequestStateKeyError('The server could not load its requestState key; try again shortly.');
    }
  };
  return {
    mint: async (payload, ctx) => (await codec()).mint(payload, ctx),
    verify: async (state, ctx) => (await codec()).verify(state, ctx),
  };
}

function requestStateCodecFor(key: string | Uint8Array, ttlSeconds: number, source: string): RequestStateCodec {
  try {
    return createRequestStateCodec({
      key,
      ttlSeconds,
      bind: (ctx) => {
        const authInfo = ctx.http?.authInfo;
        const sub = (authInfo?.extra as { sub?: unknown } | undefined)?.sub;
        return `${typeof sub === 'string' ? sub : ''}\0${authInfo?.clientId ?? ''}`;
      },
    });
  } catch (error) {
    throw new RuntimeConfigError(source, `${source} is unusable: ${(error as Error).message}`);
  }
}

function originRefusal(
  origin: string | undefined,
  policy: ReturnType<typeof readRuntimeSettings>['origins'],
  record: RequestRecord,
): Step {
  if (origin === undefined) return undefined;
  const allowed = allowedOriginOf(policy, origin);
  if (allowed === undefined) {
    record.reasons.push(`Origin ${JSON.stringify(origin)} is not allowed`);
    return jsonRpcErrorResponse(
      403,
      TRANSPORT_ERROR,
      'Forbidden: Origin not allowed (the server lists the browser origins it accepts in allowedOrigins)',
    );
  }
  record.allowedOrigin = allowed;
  return undefined;
}

function identityRefusal(
  error: unknown,
  record: RequestRecord,
  urls: ReturnType<typeof readRuntimeSettings>['urls'],
): Response {
  if (error instanceof ExpiredTokenError) {
    record.sub = error.sub;
    record.reasons.push(`refused: ${error.message}`);
    return jsonRpcErrorResponse(401, TRANSPORT_ERROR, `Unauthorized: ${EXPIRED_TOKEN_DESCRIPTION}`, {
      data: { error: 'invalid_token', error_description: EXPIRED_TOKEN_DESCRIPTION },
      headers: { 'WWW-Authenticate': invalidTokenChallenge(urls, EXPIRED_TOKEN_DESCRIPTION) },
    });
  }
  if (!(error instanceof MissingIdentityError)) throw error;
  record.reasons.push(`refused without identity: ${error.message}`);
  return jsonRpcErrorResponse(401, TRANSPORT_ERROR, 'Unauthorized: a valid bearer token is required', {
    headers: { 'WWW-Authenticate': unauthorizedChallenge(urls) },
  });
}

/** Method, body size, Accept and Content-Type, each refused with its own status. */
function httpRefusal(
  record: RequestRecord,
  byteLength: number,
  header: (name: string) => string | undefined,
  maxBodyBytes: number,
): Step {
  if (record.httpMethod !== 'POST') {
    record.reasons.push(`method ${record.httpMethod} is not served (stateless endpoint)`);
    return jsonRpcErrorResponse(405, TRANSPORT_ERROR, 'Method not allowed.', { headers: { Allow: ALLOWED_METHODS } });
  }
  if (byteLength > maxBodyBytes) {
    record.reasons.push(`body of ${byteLength} bytes exceeds ${maxBodyBytes}`);
    return jsonRpcErrorResponse(
      413,
      TRANSPORT_ERROR,
      `Payload Too Large: Request body must not exceed ${maxBodyBytes} bytes`,
    );
  }
  const accept = header('accept');
  if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
    record.reasons.push(`Accept ${JSON.stringify(accept ?? null)} lacks application/json and text/event-stream`);
    return jsonRpcErrorResponse(
      406,
      TRANSPORT_ERROR,
      'Not Acceptable: Client must accept both application/json and text/event-stream',
    );
  }
  const contentType = header('content-type');
  if (!isJsonContentType(contentType)) {
    record.reasons.push(`Content-Type ${JSON.stringify(contentType ?? null)} is not application/json`);
    return jsonRpcErrorResponse(415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
  }
  return undefined;
}

interface ParsedMessage {
  readonly message: unknown;
  readonly id: RequestId | null;
  readonly rpcMethod?: string;
  /** The tool a `tools/call` names. */
  readonly tool?: string;
}

function parseMessage(text: string, record: RequestRecord): ParsedMessage | Response {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    record.reasons.push(`body is not JSON: ${(error as Error).message}`);
    return jsonRpcErrorResponse(400, PARSE_ERROR, 'Parse error: Invalid JSON');
  }
  if (Array.isArray(message)) {
    record.reasons.push(`JSON-RPC batch of ${message.length} messages`);
    return jsonRpcErrorResponse(
      400,
      INVALID_REQUEST,
      'Invalid Request: JSON-RPC batches are not supported (removed in protocol revision 2025-06-18); send one message per request',
    );
  }
  const id = echoableId(message);
  record.rpcId = id;
  const { method, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
  const rpcMethod = typeof method === 'string' ? method : undefined;
  record.rpcMethod = rpcMethod;
  const tool = rpcMethod === 'tools/call' && typeof params?.name === 'string' ? params.name : undefined;
  record.tool = tool;
  return { message, id, rpcMethod, tool };
}

function logRequest(write: RequestLogWriter, record: RequestRecord, status: number, durationMs: number): void {
  write(status >= 500 ? 'ERROR' : status >= 400 ? 'WARN' : 'INFO', {
    requestId: record.requestId,
    httpMethod: record.httpMethod,
    rpcMethod: record.rpcMethod,
    tool: record.tool,
    era: record.era,
    status,
    durationMs: Math.round(durationMs * 100) / 100,
    sub: record.sub,
    reason: record.reasons.length > 0 ? record.reasons.join('; ') : undefined,
    error: record.error,
  });
}
