/**
 * `createMcpLambdaHandler`: serves an MCP server factory as a Lambda behind an API Gateway REST API
 * and its token authorizer. Stateless, JSON responses (the REST API integration is buffered).
 *
 * Per request, in this order: Origin check (403), CORS preflight (204), identity from the
 * authorizer context (401, also for a token whose `exp` passed while its authorizer decision was
 * cached), method (405), body size (413), Accept (406), Content-Type (415), JSON (400 parse error),
 * batch (400 invalid request), `subscriptions/listen` (404 method not found: it needs a stream),
 * per-tool scopes (403 insufficient_scope), then the MCP SDK: the 2026-07-28 path through
 * `createMcpHandler`, 2025-era requests through a stateless streamable HTTP transport in JSON mode.
 * Whatever happens, the answer is JSON and one log line.
 */
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  createMcpHandler,
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
import { bodyTextOf, headerValuesOf, proxyResultFromResponse, publicBaseOf, requestFromProxyEvent, type ProxyEvent, type ProxyResult } from './adapter';
import { authInfoFromAuthorizer, callerOf, missingScopes, type Caller } from './auth-info';
import { isOriginAllowed, readRuntimeSettings } from './config';
import { createRequestLogWriter, type RequestLogWriter } from './request-log';
import { ExpiredTokenError, InvalidProxyEventError, MissingIdentityError, RuntimeConfigError, StreamingResponseError } from './errors';
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
}

/** The parts of the Lambda context the handler reads. */
export interface LambdaContextLike {
  readonly awsRequestId?: string;
}

/** A Lambda handler for REST API proxy events. */
export type McpLambdaHandler = (event: ProxyEvent, context?: LambdaContextLike) => Promise<ProxyResult>;

// The per-request log line, filled in as the request travels through the layers.
interface RequestRecord {
  requestId: string;
  httpMethod: string;
  /** The request's Origin once it passed the Origin check, for the CORS answer. */
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
}

/** The 2026-07-28 method that opens a server-to-client notification stream. */
const LISTEN_METHOD = 'subscriptions/listen';
const EXPIRED_TOKEN_DESCRIPTION = 'The access token has expired';


function validateToolScopes(toolScopes: Readonly<Record<string, readonly string[]>>): void {
  for (const [tool, scopes] of Object.entries(toolScopes)) {
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string' || !isScopeToken(s))) {
      throw new RuntimeConfigError('toolScopes', `toolScopes["${tool}"] must be a list of OAuth scope tokens (no spaces or quotes), got ${JSON.stringify(scopes)}.`);
    }
  }
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
export function createMcpLambdaHandler(factory: McpLambdaServerFactory, options: McpLambdaHandlerOptions = {}): McpLambdaHandler {
  const settings = readRuntimeSettings(options);
  const toolScopes = options.toolScopes ?? {};
  validateToolScopes(toolScopes);
  const base = publicBaseOf(settings.urls.base);
  const resource = new URL(settings.urls.resource);
  const serverInfo: ServerInfo = options.serverInfo ?? { name: process.env.POWERTOOLS_SERVICE_NAME || 'mcp-server', version: '1.0.0' };
  const logger = options.logger ?? new Logger();
  const writeRequestLog = createRequestLogWriter(logger);
  // The SDK reports errors through one `onerror` callback without saying which request they
  // belong to. A Lambda instance serves one request at a time, so the reason goes on that request's
  // line; with several in flight (a local runner) it gets a line of its own. (AsyncLocalStorage
  // would attribute it exactly, but costs every promise of every request.)
  const inFlight = new Set<RequestRecord>();
  const reportError = (error: Error): void => {
    if (inFlight.size === 1) for (const record of inFlight) record.reasons.push(error.message);
    else logger.warn('MCP SDK reported an error', { reason: error.message, requestsInFlight: inFlight.size });
  };
  // The SDK hands the factory the very AuthInfo object given to fetch: it identifies the request.
  const recordOf = new WeakMap<AuthInfo, RequestRecord>();

  const userFactory = (ctx: McpRequestContext): ReturnType<McpLambdaServerFactory> => {
    if (ctx.authInfo === undefined) throw new MissingIdentityError('the MCP SDK called the factory without authInfo');
    const record = recordOf.get(ctx.authInfo);
    if (record) record.era = ctx.era;
    return factory({ ...ctx, authInfo: ctx.authInfo, caller: callerOf(ctx.authInfo), serverInfo });
  };

  // 2026-07-28 traffic: the SDK's entry, strict (2025-era requests are routed below, never here).
  const modern = createMcpHandler(userFactory, {
    legacy: 'reject',
    responseMode: 'json',
    maxRequestBodySize: settings.maxBodyBytes,
    onerror: reportError,
  });

  // 2025-era traffic: a fresh stateless transport per request, in JSON mode. The SDK's own
  // stateless fallback always answers requests over SSE, which a buffered integration can carry
  // but which no client here needs; JSON is the simpler, smaller answer.
  const serveLegacy = async (request: Request, authInfo: AuthInfo, parsedBody: unknown, record: RequestRecord): Promise<Response> => {
    const product = await userFactory({ era: 'legacy', authInfo, requestInfo: request });
    const server = product instanceof McpServer ? product.server : product;
    server.onerror = (error) => record.reasons.push(error.message);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: settings.maxBodyBytes,
    });
    await product.connect(transport);
    try {
      return await transport.handleRequest(request, { authInfo, parsedBody });
    } finally {
      void transport.close().catch(reportError);
      void product.close().catch(reportError);
    }
  };

  const serve = async (event: ProxyEvent, record: RequestRecord): Promise<Response> => {
    const method = record.httpMethod;
    const headers = headerValuesOf(event);
    const header = (name: string): string | undefined => headers.get(name)?.join(', ');
    const origin = header('origin');
    if (origin !== undefined) {
      if (!isOriginAllowed(settings.origins, origin)) {
        record.reasons.push(`Origin ${JSON.stringify(origin)} is not allowed`);
        return jsonRpcErrorResponse(403, TRANSPORT_ERROR, 'Forbidden: Origin not allowed');
      }
      record.allowedOrigin = origin;
    }
    if (method === 'OPTIONS') return preflightResponse();

    let authInfo: AuthInfo;
    try {
      authInfo = authInfoFromAuthorizer({
        authorizer: event.requestContext?.authorizer,
        authorizationHeader: header('authorization'),
        resource,
        resourceMetadataUrl: settings.urls.protectedResourceMetadata,
        clockToleranceSeconds: settings.clockToleranceSeconds,
      });
    } catch (error) {
      if (error instanceof ExpiredTokenError) {
        record.sub = error.sub;
        record.reasons.push(`refused: ${error.message}`);
        return jsonRpcErrorResponse(401, TRANSPORT_ERROR, `Unauthorized: ${EXPIRED_TOKEN_DESCRIPTION}`, {
          data: { error: 'invalid_token', error_description: EXPIRED_TOKEN_DESCRIPTION },
          headers: { 'WWW-Authenticate': invalidTokenChallenge(settings.urls, EXPIRED_TOKEN_DESCRIPTION) },
        });
      }
      if (!(error instanceof MissingIdentityError)) throw error;
      record.reasons.push(`refused without identity: ${error.message}`);
      return jsonRpcErrorResponse(401, TRANSPORT_ERROR, 'Unauthorized: a valid bearer token is required', {
        headers: { 'WWW-Authenticate': unauthorizedChallenge(settings.urls) },
      });
    }
    record.sub = (authInfo.extra as { sub: string }).sub;
    recordOf.set(authInfo, record);

    if (method !== 'POST') {
      record.reasons.push(`method ${method} is not served (stateless endpoint)`);
      return jsonRpcErrorResponse(405, TRANSPORT_ERROR, 'Method not allowed.', { headers: { Allow: ALLOWED_METHODS } });
    }

    const body = bodyTextOf(event);
    if (body.byteLength > settings.maxBodyBytes) {
      record.reasons.push(`body of ${body.byteLength} bytes exceeds ${settings.maxBodyBytes}`);
      return jsonRpcErrorResponse(413, TRANSPORT_ERROR, `Payload Too Large: Request body must not exceed ${settings.maxBodyBytes} bytes`);
    }
    const accept = header('accept');
    if (!accept?.includes('application/json') || !accept.includes('text/event-stream')) {
      record.reasons.push(`Accept ${JSON.stringify(accept ?? null)} lacks application/json and text/event-stream`);
      return jsonRpcErrorResponse(406, TRANSPORT_ERROR, 'Not Acceptable: Client must accept both application/json and text/event-stream');
    }
    const contentType = header('content-type');
    if (!isJsonContentType(contentType)) {
      record.reasons.push(`Content-Type ${JSON.stringify(contentType ?? null)} is not application/json`);
      return jsonRpcErrorResponse(415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json');
    }

    let message: unknown;
    try {
      message = JSON.parse(body.text);
    } catch (error) {
      record.reasons.push(`body is not JSON: ${(error as Error).message}`);
      return jsonRpcErrorResponse(400, PARSE_ERROR, 'Parse error: Invalid JSON');
    }
    if (Array.isArray(message)) {
      record.reasons.push(`JSON-RPC batch of ${message.length} messages`);
      return jsonRpcErrorResponse(400, INVALID_REQUEST, 'Invalid Request: JSON-RPC batches are not supported (removed in protocol revision 2025-06-18); send one message per request');
    }
    const id = echoableId(message);
    record.rpcId = id;
    const { method: rpcMethod, params } = (message ?? {}) as { method?: unknown; params?: { name?: unknown } };
    if (typeof rpcMethod === 'string') record.rpcMethod = rpcMethod;
    if (rpcMethod === LISTEN_METHOD) {
      // The SDK would open an endless event stream, which a buffered integration can never deliver.
      record.reasons.push(`${LISTEN_METHOD} needs a long-lived event stream, which this endpoint cannot hold`);
      return jsonRpcErrorResponse(404, METHOD_NOT_FOUND, `Method not found: ${LISTEN_METHOD} is not supported by this server (stateless, buffered responses)`, { id });
    }
    if (rpcMethod === 'tools/call' && typeof params?.name === 'string') {
      record.tool = params.name;
      const refusal = scopeRefusal(params.name, authInfo, id);
      if (refusal) {
        record.reasons.push(`tool ${params.name} needs scopes the caller lacks`);
        return refusal;
      }
    }

    // The SDK gets the parsed message as `parsedBody` on both paths and then never reads the body
    // (JSON.parse never yields undefined, the one value that would make it read), so the request
    // carries none.
    const request = requestFromProxyEvent(event, base, { headers, withoutBody: true });
    const response = (await isLegacyRequest(request, message))
      ? await serveLegacy(request, authInfo, message, record)
      : await modern.fetch(request, { authInfo, parsedBody: message });
    if (response.status >= 500) {
      // The SDK already answered JSON-RPC; add the request id so the caller can quote it.
      return internalError(record, id);
    }
    return response;
  };

  const scopeRefusal = (tool: string, authInfo: AuthInfo, id: RequestId | null): Response | undefined => {
    const required = toolScopes[tool];
    if (!required || required.length === 0) return undefined;
    const missing = missingScopes(authInfo, required);
    if (missing.length === 0) return undefined;
    return jsonRpcErrorResponse(403, TRANSPORT_ERROR, `insufficient_scope: the tool "${tool}" requires the scope(s) ${missing.join(', ')} that the access token lacks`, {
      id,
      data: { error: 'insufficient_scope', tool, requiredScopes: [...required], missingScopes: missing },
      headers: { 'WWW-Authenticate': insufficientScopeChallenge(settings.urls, required) },
    });
  };

  const internalError = (record: RequestRecord, id: RequestId | null): Response =>
    jsonRpcErrorResponse(500, INTERNAL_ERROR, `Internal error (request id ${record.requestId})`, { id, data: { requestId: record.requestId } });

  return async (event, context) => {
    const started = performance.now();
    const record: RequestRecord = {
      requestId: context?.awsRequestId ?? event.requestContext?.requestId ?? crypto.randomUUID(),
      httpMethod: (event.httpMethod ?? '').toUpperCase(),
      reasons: [],
    };
    inFlight.add(record);
    try {
      let result: ProxyResult;
      try {
        result = await proxyResultFromResponse(await serve(event, record));
      } catch (error) {
        if (error instanceof StreamingResponseError) {
          // Backstop: in JSON mode only listen-class requests stream, and those are refused above.
          record.reasons.push(error.message);
          result = await proxyResultFromResponse(internalError(record, record.rpcId ?? null));
        } else if (error instanceof InvalidProxyEventError) {
          record.reasons.push(error.message);
          result = await proxyResultFromResponse(jsonRpcErrorResponse(400, INVALID_REQUEST, `Bad Request: ${error.message}`));
        } else {
          record.error = error instanceof Error ? error : new Error(String(error));
          record.reasons.push(`unexpected ${record.error.name}: ${record.error.message}`);
          result = await proxyResultFromResponse(internalError(record, record.rpcId ?? null));
        }
      }
      Object.assign(result.multiValueHeaders, corsHeaders(record.allowedOrigin, settings.origins.any));
      logRequest(writeRequestLog, record, result.statusCode, performance.now() - started);
      return result;
    } finally {
      inFlight.delete(record);
    }
  };
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
