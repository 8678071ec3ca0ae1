/**
 * `createMcpLambdaHandler`: serves an MCP server factory as a Lambda behind an API Gateway REST API
 * and its token authorizer. Stateless. With response streaming (`RESPONSE_TRANSFER_MODE=STREAM`, the
 * construct's default) a request whose tool sends progress or log notifications is answered as an
 * event stream that carries each one as it happens; a request that sends nothing mid-way is still
 * answered with one JSON body. Buffered, every answer is one JSON body.
 *
 * This module is the public factory and its types; each request goes through `pipeline.ts` (the
 * checks in order, then the MCP SDK through `sdk-bridge.ts`), and a streamed one is bounded by
 * `request-limits.ts` and written by `stream-writer.ts`. Whatever happens, the answer is JSON-RPC
 * and one log line.
 */
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { ProxyEvent, ProxyResult } from './adapter';
import { readRuntimeSettings, type ResponseTransferMode } from './config';
import { DEFAULT_SERVICE_NAME } from '../shared/settings/common';
import { RuntimeConfigError } from './errors';
import { callerLeasesOf } from './lease-step';
import { bufferedResult, createPipeline, withCors, type Answerer } from './pipeline';
import { createRequestLogWriter, type RequestLogWriter } from './request-log';
import { finish, logRequest, newRecord, type RequestRecord } from './request-record';
import { giveUpResponse, type RequestLimits, requestLimits, timeoutMessage } from './request-limits';
import { requestStatesOf } from './request-state';
import { StreamClosedError, type HttpResponseStreamFrom, type LambdaResponseStream } from './response-stream';
import { createSdkBridge } from './sdk-bridge';
import { policiesOf, type ToolDefinition } from './tool-definition';
import type { McpLambdaServerFactory, ServerInfo } from './server-factory';
import { writeStreamed } from './stream-writer';
import { createRoleResolver, type RoleResolver } from './workos-access';
import { createMessageChecks } from './message-checks';
import { isTaskEvent, tasksOf } from './tasks';

export type { McpLambdaRequestContext, McpLambdaServerFactory, ServerInfo } from './server-factory';

export interface McpLambdaHandlerOptions {
  /**
   * Tools made with {@link defineTool}, each with its policy: the runtime registers them on every
   * server the factory returns and checks the policy before the tool runs (scopes, callers, roles,
   * permissions). A refused call gets a 403 (503 while WorkOS cannot be asked) and the tool never
   * executes. The factory may still register tools without a policy itself.
   * @default - none
   */
  readonly tools?: readonly ToolDefinition[];
  /**
   * Keep in `tools/list` the tools a caller can never call with its token (wrong caller kind,
   * missing scopes, no organization for a role). Roles and permissions never hide a tool.
   * @default false
   */
  readonly listAllTools?: boolean;
  /**
   * Replaced by the tool policy: passing it fails at start. Move `toolScopes: { name: [...] }` to
   * `defineTool(name, { policy: { scopes: [...] }, ...config }, callback)` in the `tools` option.
   * @deprecated
   */
  readonly toolScopes?: unknown;
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
   * The Powertools logger for the per-request log line, written through its public API, so the
   * line follows the Logger's configuration (level, service, sampling, keys, formatter, buffering);
   * request-log.ts bounds each field.
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
  /**
   * Most requests one caller (`sub` + `client_id`) may hold at once across every instance, or
   * `false` for no limit. Counted with a lease per held request in `stateTableName`: a listen
   * stream or a long-running tool takes one before it runs (429 with `Retry-After` at the limit),
   * any other request only once it has run `leaseAfterMs`.
   * @default - `MAX_CONCURRENT_REQUESTS_PER_CALLER` (`off` for none), or 10
   */
  readonly maxConcurrentRequestsPerCaller?: number | false;
  /**
   * The DynamoDB table (`pk`, `sk` string keys) that holds the per-caller leases; without one no
   * limit is counted and no DynamoDB client is made.
   * @default - `STATE_TABLE_NAME`, or none
   */
  readonly stateTableName?: string;
  /**
   * How long a request that does not hold from the start (anything but a listen stream or a
   * long-running tool) may run before it takes a lease against the per-caller limit. Shorter
   * requests never touch DynamoDB.
   * @default 5000
   */
  readonly leaseAfterMs?: number;
  /**
   * Options of the DynamoDB client of the leases (an endpoint, a region).
   * @default - the Lambda environment's
   */
  readonly stateTableClientConfig?: DynamoDBClientConfig;
  /**
   * Resolves a person's role and permissions in the token's organization, for tool policies and
   * `callerOf(...).access()`. Made once per container; WorkOS is asked only when a policy or a tool needs it.
   * @default - `createRoleResolver()`: the WorkOS API key from `WORKOS_API_KEY_SECRET_ARN`, cached for `PERMISSIONS_CACHE_TTL_MS`
   */
  readonly roleResolver?: RoleResolver;
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

const DEFAULT_TIMEOUT_MARGIN_MS = 2000;
// The write buffer of Lambda's response stream: small, so each event leaves when it is written.
const STREAM_HIGH_WATER_MARK = 1024;

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

/**
 * Creates the Lambda handler. Reads its settings once (at cold start, when called at module scope)
 * and throws a {@link RuntimeConfigError} naming the variable when one is missing or malformed.
 *
 * ```ts
 * import { createMcpLambdaHandler, callerOf, defineTool } from 'mcp-authkit-apigateway/runtime';
 * import { McpServer } from '@modelcontextprotocol/server';
 * import * as z from 'zod';
 *
 * const greet = defineTool(
 *   'greet',
 *   { inputSchema: z.object({ name: z.string() }), policy: { scopes: ['greetings:write'], callers: 'users' } },
 *   async ({ name }, ctx) => {
 *     const caller = callerOf(ctx.http?.authInfo);
 *     return { content: [{ type: 'text', text: `Hello ${name}, from ${caller.sub}` }] };
 *   },
 * );
 *
 * export const handler = createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), { tools: [greet] });
 * ```
 */
export function createMcpLambdaHandler(
  factory: McpLambdaServerFactory,
  options: McpLambdaHandlerOptions = {},
): McpLambdaHandler {
  const settings = readRuntimeSettings(options);
  if (options.toolScopes !== undefined) movedToolScopes();
  const tools = options.tools ?? [];
  const policies = policiesOf(tools);
  const streaming = settings.responseTransferMode === 'stream';
  const lambdaGlobal = awslambdaGlobal();
  const from = options.httpResponseStreamFrom ?? lambdaGlobal?.HttpResponseStream.from;
  if (streaming && from === undefined) noResponseStream();
  const logger = options.logger ?? new Logger();
  const serverInfo: ServerInfo = options.serverInfo ?? {
    name: process.env.POWERTOOLS_SERVICE_NAME || DEFAULT_SERVICE_NAME,
    version: '1.0.0',
  };
  const roleResolver = options.roleResolver ?? createRoleResolver({ logger });
  const requestStates = requestStatesOf(
    { key: options.requestStateKey, ttlSeconds: options.requestStateTtlSeconds },
    logger,
  );
  const sdkOptions = {
    serverInfo,
    streaming,
    maxBodyBytes: settings.maxBodyBytes,
    requestStates,
    roleResolver,
    tools,
    listAllTools: options.listAllTools,
  };
  const tasks = tasksOf({
    settings,
    tools,
    requestStateKey: options.requestStateKey,
    stateTableClientConfig: options.stateTableClientConfig,
    checks: createMessageChecks(settings, policies, roleResolver, requestStates),
    streamingSdk: () => createSdkBridge(factory, { ...sdkOptions, streaming: true }, logger),
    logger,
  });
  const sdk = createSdkBridge(tasks?.withCapability(factory) ?? factory, sdkOptions, logger);
  const leases = callerLeasesOf(settings, { clientConfig: options.stateTableClientConfig, logger });
  const answer = createPipeline({
    settings,
    policies,
    roleResolver,
    requestStates,
    sdk,
    ...(leases === undefined ? {} : { leases }),
    ...(options.leaseAfterMs === undefined ? {} : { leaseAfterMs: options.leaseAfterMs }),
    ...(tasks === undefined ? {} : { tasks: tasks.step }),
  });
  const write = createRequestLogWriter(logger);
  const anyOrigin = settings.origins.any;
  const buffered = bufferedHandler(answer, write, anyOrigin);
  const streamed = streamedHandler(answer, write, {
    anyOrigin,
    from,
    marginMs: options.timeoutMarginMs ?? DEFAULT_TIMEOUT_MARGIN_MS,
  });
  const entry = ((event: ProxyEvent, second?: LambdaResponseStream | LambdaContextLike, third?: LambdaContextLike) => {
    // An asynchronous invocation with a task event runs a task's worker (tasks/worker.ts).
    if (tasks !== undefined && isTaskEvent(event)) return tasks.handleEvent(event, second, third);
    return isResponseStream(second)
      ? streamed(event, second, third)
      : buffered(event, second as LambdaContextLike | undefined);
  }) as McpLambdaHandler;
  if (streaming && lambdaGlobal !== undefined)
    lambdaGlobal.streamifyResponse(entry as StreamingMcpLambdaHandler, { highWaterMark: STREAM_HIGH_WATER_MARK });
  return entry;
}

function recordOf(event: ProxyEvent, context: LambdaContextLike | undefined) {
  return newRecord(
    context?.awsRequestId ?? event.requestContext?.requestId ?? crypto.randomUUID(),
    event.httpMethod ?? '',
  );
}

function bufferedHandler(answer: Answerer, write: RequestLogWriter, anyOrigin: boolean): BufferedMcpLambdaHandler {
  return async (event, context) => {
    const started = performance.now();
    const record = recordOf(event, context);
    // No stream and no time limit of its own (Lambda's timeout ends a buffered request); the
    // limits carry the abort signal a refusal mid-way uses.
    const limits = requestLimits({ remaining: remainingOf(context) });
    let result: ProxyResult;
    try {
      result = await bufferedResult(await answered(answer, event, record, limits, anyOrigin), record, anyOrigin);
    } finally {
      limits.dispose();
      await finish(record);
    }
    logRequest(write, record, result.statusCode, performance.now() - started);
    return result;
  };
}

interface StreamedOptions {
  readonly anyOrigin: boolean;
  /** Undefined outside a Lambda runtime without `httpResponseStreamFrom`: streaming then fails with the reason. */
  readonly from: HttpResponseStreamFrom | undefined;
  readonly marginMs: number;
}

function streamedHandler(
  answer: Answerer,
  write: RequestLogWriter,
  options: StreamedOptions,
): StreamingMcpLambdaHandler {
  return async (event, responseStream, context) => {
    const started = performance.now();
    const limits = requestLimits({ responseStream, remaining: remainingOf(context), marginMs: options.marginMs });
    const record = recordOf(event, context);
    let status = 0;
    try {
      const response = await answered(answer, event, record, limits, options.anyOrigin);
      status = response.status;
      await writeStreamed(response, responseStream, options.from ?? noResponseStream(), limits, record.rpcId ?? null);
      if (limits.reason() === 'timeout') record.reasons.push(timeoutMessage(limits));
    } catch (error) {
      limits.disconnected();
      if (!(error instanceof StreamClosedError)) throw error;
      // The stream could no longer be written. On AWS a client that leaves does not cause this:
      // API Gateway does not report it (request-limits.ts).
      record.reasons.push('the client disconnected before the answer was complete');
    } finally {
      limits.dispose();
      await finish(record);
      logRequest(write, record, status, performance.now() - started);
    }
  };
}

/** Lambda's clock for this invocation, when there is a Lambda context. */
function remainingOf(context: LambdaContextLike | undefined): (() => number) | undefined {
  const remaining = context?.getRemainingTimeInMillis;
  return remaining === undefined ? undefined : () => remaining.call(context);
}

/** The pipeline's answer, or the answer of the limit that gave the request up before it had one. */
async function answered(
  answer: Answerer,
  event: ProxyEvent,
  record: RequestRecord,
  limits: RequestLimits,
  anyOrigin: boolean,
): Promise<Response> {
  const response = await limits.race(answer(event, record, limits));
  return response ?? withCors(giveUpResponse(limits, record.rpcId), record, anyOrigin);
}

/** `toolScopes` became the tool policy; a deployment still passing it must not run without its checks. */
function movedToolScopes(): never {
  throw new RuntimeConfigError(
    'toolScopes',
    'The toolScopes option is replaced by the tool policy: define each tool with defineTool(name, { policy: { scopes: [...] }, ...config }, callback), pass the definitions as the tools option, and drop toolScopes.',
  );
}

/** Streaming needs the Lambda runtime's `awslambda.HttpResponseStream` (or `httpResponseStreamFrom`). */
function noResponseStream(): never {
  throw new RuntimeConfigError(
    'RESPONSE_TRANSFER_MODE',
    'RESPONSE_TRANSFER_MODE is STREAM, but this process has no awslambda.HttpResponseStream: run the function on the Lambda Node.js runtime, or pass responseTransferMode: "buffered".',
  );
}
