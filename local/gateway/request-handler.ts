/**
 * Answering one request as API Gateway does, in its order: AWS WAF, the payload limit, the route,
 * stage throttling, the TOKEN authorizer, then the MOCK or Lambda proxy integration.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  GATEWAY_MESSAGES,
  type GatewayError,
  lambdaFailureResponse,
  missingAuthenticationToken,
  renderGatewayResponse,
  resolveHeader,
} from './gateway-responses';
import type { LocalFunction } from './lambda-runtime';
import type { ApiModel, IntegrationModel, MethodModel } from './model';
import {
  buildProxyEvent,
  type EventContext,
  type IncomingRequest,
  MalformedProxyResponseError,
  mapProxyResult,
  parseQuery,
} from './proxy-event';
import { matchRoute, type RouteMatch } from './routes';
import { serveStreamedInvocation } from './stream-response';
import { type MethodThrottle, TokenBucket, describeLimits } from './throttle';
import type { TokenAuthorizers } from './token-authorizer';
import type { TemplateInputs } from './vtl';
import type { WebAclEvaluator } from './waf';

// API Gateway's payload limits: 10 MB requests; Lambda's synchronous responses may be 6 MB plus
// 100 bytes ("Exceeded maximum allowed payload size (6291556 bytes)", answered 502:
// https://jun711.github.io/aws/handling-aws-api-gateway-and-lambda-413-error/).
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

/** The gateway options requests are answered by. */
export interface RequestSettings {
  readonly log: (line: string) => void;
  readonly accountId: string;
  readonly region: string;
  readonly serveUnderStagePath: boolean;
  readonly executeApiOrigin?: string;
  readonly streamIdleTimeoutMs: number;
  readonly clientDisconnect: 'nothing' | 'destroy-stream';
}

export interface RequestCounters {
  requests: number;
  throttled: number;
  wafBlocked: number;
}

/** One token bucket per method, as API Gateway applies stage limits at the method level. */
export class MethodBuckets {
  private readonly buckets = new Map<MethodModel, TokenBucket>();

  constructor(private readonly throttling: 'template' | 'off') {}

  /** The method's limits when this request is over them; undefined when it may go on. */
  exceeded(method: MethodModel): MethodThrottle | undefined {
    if (this.throttling === 'off' || !method.throttle) return undefined;
    let bucket = this.buckets.get(method);
    if (!bucket) {
      bucket = new TokenBucket(method.throttle);
      this.buckets.set(method, bucket);
    }
    return bucket.tryTake() ? undefined : method.throttle;
  }
}

/** What the request handler works with, made once at start. */
export interface GatewayState {
  readonly model: ApiModel;
  readonly settings: RequestSettings;
  readonly functionOf: (logicalId: string) => LocalFunction;
  readonly authorizers: TokenAuthorizers;
  readonly buckets: MethodBuckets;
  readonly webAcl?: WebAclEvaluator;
  readonly counters: RequestCounters;
  readonly deploymentId: string;
}

/** The resource and method a request reached, and the request as the integration sees it (stage prefix removed). */
interface Route {
  readonly routed: IncomingRequest;
  readonly match: RouteMatch;
  readonly method: MethodModel;
}

/** One request being answered: how to answer it, and what its log line says. */
class Exchange {
  /** The authorizer cache outcome, for the log line. */
  cacheNote = 'none';
  /** Why the request got its answer, for the log line. */
  reason = '';

  constructor(
    private readonly gateway: GatewayState,
    private readonly req: http.IncomingMessage,
    readonly response: http.ServerResponse,
    readonly request: IncomingRequest,
    readonly requestId: string,
    private readonly started: number,
  ) {}

  logRequest(status: number): void {
    const ms = (performance.now() - this.started).toFixed(1);
    // The path is logged without its query string, which could carry secrets.
    this.gateway.settings.log(
      `${this.req.method} ${this.request.fullPath} ${status} ${ms}ms authorizer=${this.cacheNote}${this.reason ? ` reason="${this.reason}"` : ''}`,
    );
  }

  send(status: number, headers: Map<string, string[]> | Record<string, string>, body: Buffer | string): void {
    const { response: res } = this;
    const entries =
      headers instanceof Map ? [...headers] : Object.entries(headers).map(([k, v]) => [k, [v]] as [string, string[]]);
    for (const [name, values] of entries) res.setHeader(name, values.length === 1 ? values[0] : values);
    for (const [name, value] of Object.entries(this.idHeaders())) res.setHeader(name, value);
    const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.setHeader('Content-Length', String(buffer.length));
    res.writeHead(status);
    res.end(this.req.method === 'HEAD' ? undefined : buffer);
    this.logRequest(status);
  }

  /** The ids API Gateway puts on every answer, streamed or not. */
  idHeaders(): Record<string, string> {
    return { 'x-amzn-RequestId': this.requestId, 'x-amz-apigw-id': this.requestId.slice(0, 16) };
  }

  /** Answers with the gateway response for `error`, customized as the API says. */
  gatewayError(error: GatewayError, match?: RouteMatch, authorizer?: Record<string, string>): void {
    const { model } = this.gateway;
    const inputs = templateInputs(this.gateway, this.request, this.requestId, match, authorizer);
    const rendered = renderGatewayResponse(error, model.gatewayResponses, inputs);
    this.send(rendered.status, rendered.headers, rendered.body);
  }
}

/** What mapping templates and gateway responses see of a request (`$context`, `$input.params()`). */
function templateInputs(
  gateway: GatewayState,
  request: IncomingRequest,
  requestId: string,
  match: RouteMatch | undefined,
  authorizer?: Record<string, string>,
): TemplateInputs {
  const { model, settings } = gateway;
  const header: Record<string, string> = {};
  for (const [name, value] of request.rawHeaders) header[name] = value;
  // `method.request.querystring.<name>` is the last value of a repeated parameter, as in the proxy event.
  const querystring: Record<string, string> = {};
  for (const [key, values] of parseQuery(request.rawQuery)) querystring[key] = values[values.length - 1];
  const host = header.Host ?? header.host ?? 'localhost';
  return {
    context: {
      requestId,
      extendedRequestId: requestId,
      apiId: model.apiId,
      stage: model.stageName,
      resourceId: match?.node.id ?? '',
      resourcePath: match?.node.resourcePath ?? '',
      httpMethod: request.method,
      path: request.fullPath,
      domainName: host,
      domainPrefix: host.split(/[.:]/)[0],
      protocol: 'HTTP/1.1',
      requestTime: new Date().toUTCString(),
      requestTimeEpoch: Date.now(),
      accountId: settings.accountId,
      identity: { sourceIp: request.sourceIp, userAgent: header['User-Agent'] ?? header['user-agent'] ?? '' },
      authorizer: authorizer ?? {},
    },
    stageVariables: { ...model.stageVariables },
    params: { header, querystring, path: match?.pathParameters ?? {} },
  };
}

/** Reads the request line, headers and body (up to API Gateway's limit; `tooLarge` says it went past). */
async function readRequest(req: http.IncomingMessage): Promise<{ request: IncomingRequest; tooLarge: boolean }> {
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const fullPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawHeaders: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) tooLarge = true;
    else chunks.push(chunk);
  }
  const request: IncomingRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    path: fullPath,
    fullPath,
    rawHeaders,
    rawQuery: queryAt < 0 ? '' : url.slice(queryAt + 1),
    body: Buffer.concat(chunks),
    sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
    localPort: req.socket.localPort ?? 0,
  };
  return { request, tooLarge };
}

function pathSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function headerOf(request: IncomingRequest, lowerCaseName: string): string | undefined {
  return request.rawHeaders.find(([name]) => name.toLowerCase() === lowerCaseName)?.[1];
}

/** Answers one request; a failure of the gateway itself is the caller's to answer. */
export async function handleRequest(
  gateway: GatewayState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const started = performance.now();
  gateway.counters.requests++;
  const requestId = randomUUID();
  const { request, tooLarge } = await readRequest(req);
  const exchange = new Exchange(gateway, req, res, request, requestId, started);
  if (answeredByWaf(gateway, exchange)) return;
  if (tooLarge) {
    exchange.reason = `the request body is larger than ${MAX_REQUEST_BYTES} bytes`;
    exchange.gatewayError({ type: 'REQUEST_TOO_LARGE', message: GATEWAY_MESSAGES.requestTooLong });
    return;
  }
  const route = routeRequest(gateway, exchange);
  if (!route || answeredByThrottling(gateway, exchange, route)) return;
  const authorization = await authorizeRoute(gateway, exchange, route);
  if (!authorization.allowed) return;
  const { integration } = route.method;
  if (integration.kind === 'mock') serveMock(gateway, exchange, route, integration, authorization.context);
  else await serveLambdaProxy(gateway, exchange, route, integration, authorization.context);
}

/**
 * AWS WAF sees the request before API Gateway does: a blocked request spends no throttling token,
 * reaches no authorizer, and gets WAF's answer whatever the route. The web ACL is associated with
 * the stage, so it sees the requests made to the stage.
 */
function answeredByWaf(gateway: GatewayState, exchange: Exchange): boolean {
  const { model, settings, webAcl } = gateway;
  const { request } = exchange;
  const toStage = settings.executeApiOrigin === undefined || pathSegments(request.fullPath)[0] === model.stageName;
  const verdict = toStage ? webAcl?.evaluate(request.sourceIp) : undefined;
  if (verdict?.blocked) {
    gateway.counters.wafBlocked++;
    exchange.reason = verdict.reason;
    const custom = verdict.customResponse;
    if (!custom) {
      exchange.gatewayError({ type: 'WAF_FILTERED', message: GATEWAY_MESSAGES.forbidden });
      return true;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of custom.headers) headers[name] = value;
    if (custom.body) headers['Content-Type'] = custom.body.contentType;
    exchange.send(custom.status, headers, custom.body?.content ?? '');
    return true;
  }
  if (verdict && verdict.counted.length > 0) exchange.reason = `counted by AWS WAF rule ${verdict.counted.join(', ')}`;
  return false;
}

/** The method the path and HTTP method reach; undefined once answered (outside the stage, or no such method). */
function routeRequest(gateway: GatewayState, exchange: Exchange): Route | undefined {
  const { model, settings } = gateway;
  const { request } = exchange;
  let segments = pathSegments(request.fullPath);
  let routedPath = request.fullPath;
  if (settings.executeApiOrigin !== undefined && segments[0] !== model.stageName) {
    // execute-api answers a path outside every deployed stage itself, before any API setting applies.
    exchange.reason = `the path is not under the stage /${model.stageName}`;
    exchange.send(
      403,
      { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ForbiddenException' },
      '{"message":"Forbidden"}',
    );
    return undefined;
  }
  if ((settings.serveUnderStagePath || settings.executeApiOrigin !== undefined) && segments[0] === model.stageName) {
    segments = segments.slice(1);
    routedPath = `/${segments.join('/')}`;
  }
  const match = matchRoute(model.root, segments);
  const method = match && (match.node.methods.get(request.method) ?? match.node.methods.get('ANY'));
  if (!match || !method) {
    exchange.reason = match
      ? `no ${request.method} method on ${match.node.resourcePath}`
      : 'no resource matches the path';
    // The header's value goes into the response's message only; the log line never carries it.
    const authorization = headerOf(request, 'authorization');
    if (authorization !== undefined)
      exchange.reason += ' (the Authorization header makes it an IncompleteSignatureException)';
    exchange.gatewayError(missingAuthenticationToken(authorization), match);
    return undefined;
  }
  return { routed: { ...request, path: routedPath }, match, method };
}

/** Throttled requests never reach the authorizer or the integration. */
function answeredByThrottling(gateway: GatewayState, exchange: Exchange, { match, method }: Route): boolean {
  const limits = gateway.buckets.exceeded(method);
  if (!limits) return false;
  gateway.counters.throttled++;
  exchange.reason = `throttled: ${method.httpMethod} ${match.node.resourcePath} is over ${describeLimits(limits)} (${limits.source})`;
  exchange.gatewayError({ type: 'THROTTLED', message: GATEWAY_MESSAGES.tooManyRequests }, match);
  return true;
}

/** Runs the method's Lambda authorizer, if it has one; a refused request is answered here. */
async function authorizeRoute(
  gateway: GatewayState,
  exchange: Exchange,
  { routed, match, method }: Route,
): Promise<{ allowed: false } | { allowed: true; context?: Record<string, string> }> {
  if (!method.authorizer) return { allowed: true };
  const { model, settings } = gateway;
  const arn = `arn:aws:execute-api:${settings.region}:${settings.accountId}:${model.apiId}/${model.stageName}/${routed.method}/${routed.path.replace(/^\//, '')}`;
  const result = await gateway.authorizers.authorize(method.authorizer, {
    request: routed,
    arn,
    requestEvent: () => requestAuthorizerEvent(gateway, exchange, routed, match),
  });
  exchange.cacheNote = result.cache;
  if (!result.ok) {
    exchange.reason = result.reason;
    exchange.gatewayError(result.error, match, result.authorizer);
    return { allowed: false };
  }
  return { allowed: true, context: result.authorizer };
}

/** A REQUEST authorizer's event but `type` and `methodArn`: the proxy event's request part, without the body. */
function requestAuthorizerEvent(
  gateway: GatewayState,
  exchange: Exchange,
  routed: IncomingRequest,
  match: RouteMatch,
): Record<string, unknown> {
  const {
    body: _body,
    isBase64Encoded: _encoded,
    ...rest
  } = buildProxyEvent(routed, eventContext(gateway, exchange, match, ''));
  return rest;
}

/** What a proxy event says of the stage, the route and this request, as both the integration and a REQUEST authorizer get it. */
function eventContext(gateway: GatewayState, exchange: Exchange, match: RouteMatch, traceId: string): EventContext {
  const { model, settings } = gateway;
  return {
    resourcePath: match.node.resourcePath,
    resourceId: match.node.id,
    pathParameters: match.pathParameters,
    stageVariables: model.stageVariables,
    stage: model.stageName,
    apiId: model.apiId,
    accountId: settings.accountId,
    deploymentId: gateway.deploymentId,
    requestId: exchange.requestId,
    extendedRequestId: exchange.requestId,
    traceId,
    requestTimeEpoch: Date.now(),
    binaryMediaTypes: model.binaryMediaTypes,
  };
}

function serveMock(
  gateway: GatewayState,
  exchange: Exchange,
  { routed, match, method }: Route,
  integration: IntegrationModel & { kind: 'mock' },
  authorizerContext: Record<string, string> | undefined,
): void {
  const status = String(integration.statusCode);
  const response =
    integration.responses.find((r) => r.selectionPattern?.test(status)) ??
    integration.responses.find((r) => r.selectionPattern === undefined);
  if (!response) {
    exchange.reason = `the MOCK integration of ${method.logicalId} has no response for status ${status}`;
    exchange.gatewayError(
      { type: 'API_CONFIGURATION_ERROR', message: GATEWAY_MESSAGES.internalServerError },
      match,
      authorizerContext,
    );
    return;
  }
  const inputs = templateInputs(gateway, routed, exchange.requestId, match, authorizerContext);
  const [contentType, template] = response.templates.find(([type]) => type === 'application/json') ??
    response.templates[0] ?? ['application/json', undefined];
  const rendered = template?.render(inputs);
  const headers: Record<string, string> = { 'Content-Type': contentType };
  for (const [name, source] of response.headers) {
    const value = resolveHeader(source, inputs);
    if (value !== undefined) headers[name] = value;
  }
  Object.assign(headers, rendered?.headerOverrides ?? {});
  exchange.send(rendered?.statusOverride ?? response.statusCode, headers, rendered?.body ?? '');
}

type LambdaProxyIntegration = IntegrationModel & { kind: 'lambda-proxy' };

async function serveLambdaProxy(
  gateway: GatewayState,
  exchange: Exchange,
  route: Route,
  integration: LambdaProxyIntegration,
  authorizerContext: Record<string, string> | undefined,
): Promise<void> {
  const { routed, match } = route;
  const fn = gateway.functionOf(integration.functionLogicalId);
  const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const event = buildProxyEvent(routed, {
    ...eventContext(gateway, exchange, match, traceId),
    authorizer: authorizerContext,
  });
  const invocation = { fn, event, traceId, match, authorizerContext };
  if (integration.transferMode === 'stream') await serveStreamed(gateway, exchange, integration, invocation);
  else await serveBuffered(gateway, exchange, integration, invocation);
}

/** A Lambda proxy invocation about to be made, and what its gateway errors are rendered with. */
interface ProxyInvocation {
  readonly fn: LocalFunction;
  readonly event: ReturnType<typeof buildProxyEvent>;
  readonly traceId: string;
  readonly match: RouteMatch;
  readonly authorizerContext: Record<string, string> | undefined;
}

function serveStreamed(
  gateway: GatewayState,
  exchange: Exchange,
  integration: LambdaProxyIntegration,
  { fn, event, traceId, match, authorizerContext }: ProxyInvocation,
): Promise<void> {
  const { settings } = gateway;
  return serveStreamedInvocation(
    {
      fn,
      event,
      awsRequestId: randomUUID(),
      timeoutMs: integration.timeoutMs,
      idleTimeoutMs: settings.streamIdleTimeoutMs,
      tellFunctionWhenClientGone: settings.clientDisconnect === 'destroy-stream',
      headOnly: exchange.request.method === 'HEAD',
    },
    {
      res: exchange.response,
      extraHeaders: { ...exchange.idHeaders(), 'X-Amzn-Trace-Id': traceId },
      gatewayError: (error, why) => {
        exchange.reason = why;
        exchange.gatewayError(error, match, authorizerContext);
      },
      done: (status, why) => {
        exchange.reason = why;
        exchange.logRequest(status);
      },
    },
  );
}

/** Invokes the function and maps its result, or answers 504 once the integration timeout passes. */
async function serveBuffered(
  gateway: GatewayState,
  exchange: Exchange,
  integration: LambdaProxyIntegration,
  { fn, event, traceId, match, authorizerContext }: ProxyInvocation,
): Promise<void> {
  const fail = (reason: string, error: GatewayError) => {
    exchange.reason = reason;
    exchange.gatewayError(error, match, authorizerContext);
  };
  const badGateway: GatewayError = { type: 'DEFAULT_5XX', message: GATEWAY_MESSAGES.internalServerError, status: 502 };
  const outcome = await withTimeout(fn.invoke(event, randomUUID()), integration.timeoutMs);
  if (outcome === 'timeout') {
    fail(`${fn.spec.logicalId} did not answer within the integration timeout`, {
      type: 'INTEGRATION_TIMEOUT',
      message: GATEWAY_MESSAGES.endpointTimedOut,
    });
    return;
  }
  if (!outcome.ok) {
    fail(
      `${fn.spec.logicalId} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      lambdaFailureResponse(outcome.failure),
    );
    return;
  }
  if (Buffer.byteLength(outcome.payload) > MAX_LAMBDA_RESPONSE_BYTES) {
    fail(`${fn.spec.logicalId} returned more than ${MAX_LAMBDA_RESPONSE_BYTES} bytes`, badGateway);
    return;
  }
  let mapped: ReturnType<typeof mapProxyResult>;
  try {
    mapped = mapProxyResult(outcome.payload, gateway.model.binaryMediaTypes, headerOf(exchange.request, 'accept'));
  } catch (error) {
    if (!(error instanceof MalformedProxyResponseError)) throw error;
    fail(`${fn.spec.logicalId}: ${error.message}`, badGateway);
    return;
  }
  mapped.headers.set('X-Amzn-Trace-Id', [traceId]);
  exchange.send(mapped.status, mapped.headers, mapped.body);
}

/** The promise's value, or `'timeout'` when it takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
