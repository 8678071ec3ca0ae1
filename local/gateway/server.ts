/**
 * `startGateway`: serves the REST API of a synthesized stack on localhost, as API Gateway would
 * serve it behind a custom domain mapped at the root.
 */
import { startLocalAwsServices } from './aws-services';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GatewayStartError } from './errors';
import {
  GATEWAY_MESSAGES,
  type GatewayError,
  lambdaFailureResponse,
  missingAuthenticationToken,
  renderGatewayResponse,
  rendersErrorMessage,
  resolveHeader,
} from './gateway-responses';
import { AccountConcurrency, DEFAULT_ACCOUNT_CONCURRENCY } from './concurrency';
import { type FunctionStats, LocalFunction } from './lambda-runtime';
import { NodeBinaries, type NodeBinary } from './node-runtime';
import { serveStreamedInvocation, STREAM_IDLE_TIMEOUT_MS } from './stream-response';
import {
  type ApiModel,
  buildApiModel,
  type IgnoredResource,
  type MethodModel,
  type ResourceNode,
  type TokenAuthorizerModel,
} from './model';
import { evaluatePolicy, MalformedPolicyError, parsePolicyDocument, type PolicyStatement } from './policy';
import {
  buildProxyEvent,
  type IncomingRequest,
  MalformedProxyResponseError,
  mapProxyResult,
  parseQuery,
} from './proxy-event';
import { loadStack } from './template';
import { describeLimits, TokenBucket } from './throttle';
import type { TemplateInputs } from './vtl';
import { describeWebAcl, WebAclEvaluator } from './waf';

export interface GatewayOptions {
  /** The cloud assembly folder (`cdk.out`). */
  readonly cdkOut: string;
  /** The stack to serve (stack name, artifact id or display path). @default - the only stack in the assembly */
  readonly stackName?: string;
  /** @default 8787 (0 picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** `AWS::Region` as the stack sees it. @default 'us-east-1' */
  readonly region?: string;
  /** `AWS::AccountId` as the stack sees it. @default '000000000000' */
  readonly accountId?: string;
  /** The RestApi to serve when the stack has several (logical id). @default - the only one */
  readonly restApiLogicalId?: string;
  /** The stage to serve when the API has several. @default - the only one */
  readonly stageName?: string;
  /**
   * Environment values replacing the template's, e.g. a `PUBLIC_BASE_URL` that points at this
   * local server. Keyed by `*` (every function), the logical id without CDK's hash suffix
   * (`McpFunction` for `McpFunction1A2B3C4D`), the function name or the logical id; the more
   * specific key wins.
   * @default - the template's values
   */
  readonly environmentOverrides?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Also serve the API under `/<stage>/...`, as the execute-api endpoint does. @default false */
  readonly serveUnderStagePath?: boolean;
  /**
   * Serve the API as its execute-api endpoint, with this local origin (e.g. `http://127.0.0.1:8787`)
   * standing for `https://<api-id>.execute-api.<region>.<url-suffix>`: every URL the template builds
   * from the API id, `AWS::Region` and `AWS::URLSuffix` (Fn::Join, Fn::Sub) resolves to it, and the
   * API is served only under `/<stage>`, other paths getting execute-api's 403 Forbidden. For a
   * template synthesized without a fixed public URL, as it deploys. @default - served at the root
   */
  readonly executeApiOrigin?: string;
  /**
   * Processes per function that may serve requests at once, a local resource cap: requests within
   * the Lambda concurrency limits but beyond it wait for a process. @default 4
   */
  readonly maxProcessesPerFunction?: number;
  /**
   * Start function processes with `--expose-gc`, for `measureHeaps` (the soak's leak check).
   * @default false
   */
  readonly exposeGcToFunctions?: boolean;
  /**
   * The account's Lambda concurrency quota. Functions with ReservedConcurrentExecutions get that
   * many; the rest share what is left. An invocation beyond its limit is throttled (API Gateway
   * answers 500), as on AWS. @default 1000 (AWS's default quota)
   */
  readonly accountConcurrencyLimit?: number;
  /** Receives the gateway's log lines (one per request, plus start-up lines). @default - written to stdout */
  readonly log?: (line: string) => void;
  /** Receives what functions print. @default - written to stderr, prefixed with the function's logical id */
  readonly onFunctionOutput?: (functionLogicalId: string, line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Stage throttling. `'template'` enforces the stage's MethodSettings limits (ThrottlingRateLimit,
   * ThrottlingBurstLimit) with one token bucket per method, answering 429 with the THROTTLED
   * gateway response as API Gateway does; `'off'` serves every request, unlike AWS, and says so
   * at start. To serve higher limits truthfully, synthesize the stack with them instead.
   * @default 'template'
   */
  readonly throttling?: 'template' | 'off';
  /**
   * How long a streamed response (ResponseTransferMode STREAM) may go without data before the
   * gateway cuts it. @default 300000 (5 minutes, API Gateway's idle timeout on Regional endpoints)
   */
  readonly streamIdleTimeoutMs?: number;
  /**
   * What a streaming function notices when the client of its streamed response disconnects.
   * `'nothing'`: as on AWS, the function runs on and its later writes are discarded (the Node.js
   * runtime emits no event on the stream; aws-lambda-nodejs-runtime-interface-client issue #145).
   * `'destroy-stream'`: its response stream is destroyed, so the handler sees 'close' and
   * `destroyed`, which lets tests exercise an abort path that AWS would not trigger.
   * @default 'nothing'
   */
  readonly clientDisconnect?: 'nothing' | 'destroy-stream';
}

export interface GatewayStats {
  readonly requests: number;
  /** Requests answered 429 by stage throttling. */
  readonly throttled: number;
  /** Requests the stage's AWS WAF web ACL blocked (they reach neither throttling nor authorizers). */
  readonly wafBlocked: number;
  readonly authorizerCache: { readonly hits: number; readonly misses: number; readonly entries: number };
  /** Per function, by logical id. */
  readonly functions: Readonly<Record<string, FunctionStats>>;
}

export interface RunningGateway {
  /** Base URL, e.g. `http://127.0.0.1:8787`; the API's `/mcp` is at `${url}/mcp`. */
  readonly url: string;
  readonly port: number;
  readonly apiId: string;
  readonly stageName: string;
  /** `METHOD /path` of every served method, with its authorization. */
  readonly routes: readonly string[];
  /** Template resources that have no request-time effect locally, and why. */
  readonly ignored: readonly IgnoredResource[];
  stats(): GatewayStats;
  /** Each function's processes' heaps after a full collection (function id → process id → bytes); needs `exposeGcToFunctions`. */
  measureHeaps(): Promise<Map<string, Map<number, number>>>;
  stop(): Promise<void>;
}

// API Gateway's payload limits: 10 MB requests; Lambda's synchronous responses may be 6 MB plus
// 100 bytes ("Exceeded maximum allowed payload size (6291556 bytes)", answered 502:
// https://jun711.github.io/aws/handling-aws-api-gateway-and-lambda-413-error/).
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

interface RouteMatch {
  readonly node: ResourceNode;
  readonly pathParameters: Record<string, string>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Static path parts beat `{param}`, which beats `{proxy+}`, as in API Gateway. */
export function matchRoute(
  node: ResourceNode,
  segments: readonly string[],
  params: Record<string, string> = {},
): RouteMatch | undefined {
  if (segments.length === 0) return { node, pathParameters: params };
  const [head, ...rest] = segments;
  const ordered = [
    ...node.children.filter((c) => !c.pathPart.startsWith('{')),
    ...node.children.filter((c) => c.pathPart.startsWith('{') && !c.pathPart.endsWith('+}')),
    ...node.children.filter((c) => c.pathPart.endsWith('+}')),
  ];
  for (const child of ordered) {
    if (child.pathPart.endsWith('+}')) {
      return {
        node: child,
        pathParameters: { ...params, [child.pathPart.slice(1, -2)]: segments.map(decodeSegment).join('/') },
      };
    }
    if (child.pathPart.startsWith('{')) {
      const found = matchRoute(child, rest, { ...params, [child.pathPart.slice(1, -1)]: decodeSegment(head) });
      if (found) return found;
    } else if (child.pathPart === decodeSegment(head)) {
      const found = matchRoute(child, rest, params);
      if (found) return found;
    }
  }
  return undefined;
}

function listRoutes(node: ResourceNode): string[] {
  const own = [...node.methods.values()].map(
    (m) =>
      `${m.httpMethod} ${node.resourcePath}${m.authorizer ? ` (TOKEN authorizer ${m.authorizer.logicalId})` : ''}${m.integration.kind === 'mock' ? ' (MOCK)' : ''}`,
  );
  return [...own, ...node.children.flatMap(listRoutes)];
}

function compileBootstrap(scratchDir: string): string {
  // Bundled to plain CommonJS so the child runs without a TypeScript loader, as Lambda runs plain JS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const outfile = path.join(scratchDir, 'lambda-bootstrap.cjs');
  const sourceTs = path.join(__dirname, 'lambda-bootstrap.ts');
  const entry = fs.existsSync(sourceTs) ? sourceTs : path.join(__dirname, 'lambda-bootstrap.js');
  esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/**
 * What a TOKEN authorizer's failure gets, other than an `Unauthorized` error (401) or a policy that
 * does not allow the method (403): any other error it throws, a result that is not a valid policy
 * or has a nested or null context value, and its invocation failing (its own Timeout, a crash, a
 * throttle, which Lambda reports to API Gateway as a failed invocation like a thrown error) all get
 * 500 AUTHORIZER_CONFIGURATION_ERROR with `$context.error.message` null.
 * - "return badly formatted output or raise any other exception, which gets us 500
 *   AuthorizerConfigurationException": https://stackoverflow.com/questions/53101144
 * - "If CA throws an exception with any other message then user gets HTTP-500 ... (Authorizer
 *   Configuration Error)": https://newbedev.com/api-gateway-custom-authorizer-control-error-message-and-code
 * - the body `{"message": null}` for authorizer failures, a timeout included:
 *   https://dev.to/marcogrcr/api-gateway-lambda-authorizer-lambda-proxy-integration-failure-modes-52bc
 * - AUTHORIZER_CONFIGURATION_ERROR, 500, "failing to connect to a custom ... authorizer":
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 * AUTHORIZER_FAILURE is not produced: no source shows a Lambda TOKEN authorizer leading to it.
 */
const AUTHORIZER_BROKEN: GatewayError = { type: 'AUTHORIZER_CONFIGURATION_ERROR', message: null };

interface CachedAuthorization {
  readonly principalId: string;
  readonly statements: readonly PolicyStatement[];
  readonly context: Record<string, string>;
  readonly expiresAt: number;
}

type AuthorizationResult =
  | { readonly ok: true; readonly authorizer: Record<string, string>; readonly cache: 'hit' | 'miss' }
  | {
      readonly ok: false;
      readonly error: GatewayError;
      readonly reason: string;
      readonly cache: 'hit' | 'miss' | 'skipped';
    };

/** Starts the local gateway. Functions start lazily: each process cold-starts on its first invocation. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const onFunctionOutput =
    options.onFunctionOutput ?? ((id: string, line: string) => process.stderr.write(`[${id}] ${line}\n`));
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const throttling = options.throttling ?? 'template';
  if (throttling !== 'template' && throttling !== 'off')
    throw new TypeError(`throttling must be 'template' or 'off', got ${JSON.stringify(throttling)}.`);
  const clientDisconnect = options.clientDisconnect ?? 'nothing';
  if (clientDisconnect !== 'nothing' && clientDisconnect !== 'destroy-stream') {
    throw new TypeError(
      `clientDisconnect must be 'nothing' or 'destroy-stream', got ${JSON.stringify(clientDisconnect)}.`,
    );
  }
  const streamIdleTimeoutMs = options.streamIdleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS;
  if (options.executeApiOrigin !== undefined && !/^https?:\/\/[^/?#]+$/.test(options.executeApiOrigin)) {
    throw new TypeError(
      `executeApiOrigin must be an origin such as http://127.0.0.1:8787 (scheme, host and port, no path), got ${JSON.stringify(options.executeApiOrigin)}.`,
    );
  }
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-gateway-'));
  let model: ApiModel;
  let bootstrapFile: string;
  const nodeBinaries = new Map<string, NodeBinary>();
  let concurrency: AccountConcurrency;
  try {
    const stack = loadStack(options.cdkOut, options.stackName);
    model = buildApiModel(stack, {
      region,
      accountId,
      restApiLogicalId: options.restApiLogicalId,
      stageName: options.stageName,
      environmentOverrides: options.environmentOverrides,
      scratchDir,
      executeApiOrigin: options.executeApiOrigin,
    });
    bootstrapFile = compileBootstrap(scratchDir);
    const reserved = new Map(
      [...model.functions]
        .filter(([, spec]) => spec.reservedConcurrency !== undefined)
        .map(([id, spec]) => [id, spec.reservedConcurrency!]),
    );
    concurrency = new AccountConcurrency(options.accountConcurrencyLimit ?? DEFAULT_ACCOUNT_CONCURRENCY, reserved);
    const binaries = new NodeBinaries();
    for (const [logicalId, spec] of model.functions)
      nodeBinaries.set(logicalId, binaries.forRuntime(spec.runtime, logicalId));
  } catch (error) {
    fs.rmSync(scratchDir, { recursive: true, force: true });
    throw error;
  }

  const aws = await startLocalAwsServices(model, scratchDir);
  const functions = new Map<string, LocalFunction>();
  for (const [logicalId, spec] of model.functions) {
    functions.set(
      logicalId,
      new LocalFunction(spec, {
        bootstrapFile,
        awsEnvironment: aws.environmentOf(logicalId),
        nodeBinary: nodeBinaries.get(logicalId)!.path,
        concurrency,
        maxProcesses: options.maxProcessesPerFunction ?? 4,
        exposeGc: options.exposeGcToFunctions ?? false,
        onOutput: (line, stream) => onFunctionOutput(logicalId, line, stream),
      }),
    );
  }
  const deploymentId = createHash('sha256').update(`${model.apiId}/deployment`).digest('hex').slice(0, 6);
  const authorizerCache = new Map<string, CachedAuthorization>();
  let cacheHits = 0;
  let cacheMisses = 0;
  let requestCount = 0;
  let throttledCount = 0;
  let wafBlockedCount = 0;
  const webAcl = model.webAcl && new WebAclEvaluator(model.webAcl);
  // One bucket per method, as API Gateway applies stage limits at the method level.
  const buckets = new Map<MethodModel, TokenBucket>();
  const bucketFor = (method: MethodModel): TokenBucket | undefined => {
    if (throttling === 'off' || !method.throttle) return undefined;
    let bucket = buckets.get(method);
    if (!bucket) buckets.set(method, (bucket = new TokenBucket(method.throttle)));
    return bucket;
  };

  function methodArn(method: string, fullResourcePath: string): string {
    return `arn:aws:execute-api:${region}:${accountId}:${model.apiId}/${model.stageName}/${method}/${fullResourcePath.replace(/^\//, '')}`;
  }

  async function authorize(
    authorizer: TokenAuthorizerModel,
    request: IncomingRequest,
    arn: string,
  ): Promise<AuthorizationResult> {
    const unauthorized = (reason: string, cache: 'hit' | 'miss' | 'skipped'): AuthorizationResult => ({
      ok: false,
      error: { type: 'UNAUTHORIZED', message: GATEWAY_MESSAGES.unauthorized },
      reason,
      cache,
    });
    let token: string | undefined;
    for (const [name, value] of request.rawHeaders)
      if (name.toLowerCase() === authorizer.headerName.toLowerCase()) token = value;
    if (token === undefined || token === '') return unauthorized(`no ${authorizer.headerName} header`, 'skipped');
    if (authorizer.validation && !authorizer.validation.test(token)) {
      return unauthorized(
        `the ${authorizer.headerName} header does not match the authorizer's validation expression`,
        'skipped',
      );
    }
    // Tokens are kept only as hashes, so the cache never holds a credential.
    const cacheKey = `${authorizer.logicalId}\0${createHash('sha256').update(token).digest('hex')}`;
    const now = Date.now();
    let entry = authorizerCache.get(cacheKey);
    if (entry && entry.expiresAt <= now) {
      authorizerCache.delete(cacheKey);
      entry = undefined;
    }
    const cache: 'hit' | 'miss' = entry ? 'hit' : 'miss';
    let integrationLatency = 0;
    if (entry) {
      cacheHits++;
    } else {
      cacheMisses++;
      const fn = functions.get(authorizer.functionLogicalId)!;
      const started = performance.now();
      const outcome = await fn.invoke({ type: 'TOKEN', authorizationToken: token, methodArn: arn });
      integrationLatency = Math.round(performance.now() - started);
      if (!outcome.ok) {
        if (outcome.failure === 'function' && outcome.error.errorMessage === 'Unauthorized')
          return unauthorized('the authorizer rejected the token (Unauthorized)', cache);
        // An authorizer's message could quote the token; the log gets it without.
        const message = outcome.error.errorMessage.split(token).join('[token]');
        return {
          ok: false,
          error: AUTHORIZER_BROKEN,
          reason: `the authorizer failed (${outcome.failure}): ${outcome.error.errorType}: ${message}`,
          cache,
        };
      }
      try {
        entry = parseAuthorizerResult(outcome.payload, now + authorizer.ttlSeconds * 1000);
      } catch (error) {
        return { ok: false, error: AUTHORIZER_BROKEN, reason: (error as Error).message, cache };
      }
      if (authorizer.ttlSeconds > 0) authorizerCache.set(cacheKey, entry);
    }
    const decision = evaluatePolicy(entry.statements, arn);
    if (decision !== 'ALLOW') {
      const explicit = decision === 'EXPLICIT_DENY';
      return {
        ok: false,
        error: {
          type: 'ACCESS_DENIED',
          message: explicit ? GATEWAY_MESSAGES.explicitDeny : GATEWAY_MESSAGES.implicitDeny,
        },
        reason: explicit
          ? 'the authorizer policy denies this method explicitly'
          : 'the authorizer policy does not allow this method',
        cache,
      };
    }
    return {
      ok: true,
      authorizer: { principalId: entry.principalId, ...entry.context, integrationLatency: String(integrationLatency) },
      cache,
    };
  }

  function templateInputs(
    request: IncomingRequest,
    requestId: string,
    match: RouteMatch | undefined,
    authorizer?: Record<string, string>,
  ): TemplateInputs {
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
        accountId,
        identity: { sourceIp: request.sourceIp, userAgent: header['User-Agent'] ?? header['user-agent'] ?? '' },
        authorizer: authorizer ?? {},
      },
      stageVariables: { ...model.stageVariables },
      params: { header, querystring, path: match?.pathParameters ?? {} },
    };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    requestCount++;
    const requestId = randomUUID();
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const fullPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? '' : url.slice(queryAt + 1);
    const rawHeaders: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    let cacheNote = 'none';
    let reason = '';

    const logRequest = (status: number) => {
      const ms = (performance.now() - started).toFixed(1);
      // The path is logged without its query string, which could carry secrets.
      log(`${req.method} ${fullPath} ${status} ${ms}ms authorizer=${cacheNote}${reason ? ` reason="${reason}"` : ''}`);
    };
    const send = (status: number, headers: Map<string, string[]> | Record<string, string>, body: Buffer | string) => {
      const entries =
        headers instanceof Map ? [...headers] : Object.entries(headers).map(([k, v]) => [k, [v]] as [string, string[]]);
      for (const [name, values] of entries) res.setHeader(name, values.length === 1 ? values[0] : values);
      res.setHeader('x-amzn-RequestId', requestId);
      res.setHeader('x-amz-apigw-id', requestId.slice(0, 16));
      const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      res.setHeader('Content-Length', String(buffer.length));
      res.writeHead(status);
      res.end(req.method === 'HEAD' ? undefined : buffer);
      logRequest(status);
    };

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
      rawQuery,
      body: Buffer.concat(chunks),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      localPort: req.socket.localPort ?? 0,
    };
    const gatewayError = (error: GatewayError, match?: RouteMatch, authorizer?: Record<string, string>) => {
      const rendered = renderGatewayResponse(
        error,
        model.gatewayResponses,
        templateInputs(request, requestId, match, authorizer),
      );
      send(rendered.status, rendered.headers, rendered.body);
    };
    // AWS WAF sees the request before API Gateway does: a blocked request spends no throttling
    // token, reaches no authorizer, and gets WAF's answer whatever the route.
    // The web ACL is associated with the stage, so it sees the requests made to the stage.
    const toStage =
      options.executeApiOrigin === undefined || fullPath.split('/').filter((s) => s !== '')[0] === model.stageName;
    const verdict = toStage ? webAcl?.evaluate(request.sourceIp) : undefined;
    if (verdict?.blocked) {
      wafBlockedCount++;
      reason = verdict.reason;
      const custom = verdict.customResponse;
      if (!custom) return gatewayError({ type: 'WAF_FILTERED', message: GATEWAY_MESSAGES.forbidden });
      const headers: Record<string, string> = {};
      for (const [name, value] of custom.headers) headers[name] = value;
      if (custom.body) headers['Content-Type'] = custom.body.contentType;
      return send(custom.status, headers, custom.body?.content ?? '');
    }
    if (verdict && verdict.counted.length > 0) reason = `counted by AWS WAF rule ${verdict.counted.join(', ')}`;

    if (tooLarge) {
      reason = `the request body is larger than ${MAX_REQUEST_BYTES} bytes`;
      return gatewayError({ type: 'REQUEST_TOO_LARGE', message: GATEWAY_MESSAGES.requestTooLong });
    }

    let segments = fullPath.split('/').filter((s) => s !== '');
    let routedPath = fullPath;
    if (options.executeApiOrigin !== undefined && segments[0] !== model.stageName) {
      // execute-api answers a path outside every deployed stage itself, before any API setting applies.
      reason = `the path is not under the stage /${model.stageName}`;
      return send(
        403,
        { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'ForbiddenException' },
        '{"message":"Forbidden"}',
      );
    }
    if ((options.serveUnderStagePath || options.executeApiOrigin !== undefined) && segments[0] === model.stageName) {
      segments = segments.slice(1);
      routedPath = `/${segments.join('/')}`;
    }
    const routed: IncomingRequest = { ...request, path: routedPath };
    const match = matchRoute(model.root, segments);
    const method: MethodModel | undefined =
      match && (match.node.methods.get(request.method) ?? match.node.methods.get('ANY'));
    if (!match || !method) {
      reason = match ? `no ${request.method} method on ${match.node.resourcePath}` : 'no resource matches the path';
      // The header's value goes into the response's message only; the log line never carries it.
      const authorization = rawHeaders.find(([name]) => name.toLowerCase() === 'authorization')?.[1];
      if (authorization !== undefined) reason += ' (the Authorization header makes it an IncompleteSignatureException)';
      return gatewayError(missingAuthenticationToken(authorization), match);
    }

    // Throttled requests never reach the authorizer or the integration.
    const bucket = bucketFor(method);
    if (bucket && !bucket.tryTake()) {
      throttledCount++;
      reason = `throttled: ${method.httpMethod} ${match.node.resourcePath} is over ${describeLimits(method.throttle!)} (${method.throttle!.source})`;
      return gatewayError({ type: 'THROTTLED', message: GATEWAY_MESSAGES.tooManyRequests }, match);
    }

    let authorizerContext: Record<string, string> | undefined;
    if (method.authorizer) {
      const result = await authorize(method.authorizer, routed, methodArn(request.method, routedPath));
      cacheNote = result.cache;
      if (!result.ok) {
        reason = result.reason;
        return gatewayError(result.error, match);
      }
      authorizerContext = result.authorizer;
    }

    if (method.integration.kind === 'mock') {
      const integration = method.integration;
      const status = String(integration.statusCode);
      const response =
        integration.responses.find((r) => r.selectionPattern?.test(status)) ??
        integration.responses.find((r) => r.selectionPattern === undefined);
      if (!response) {
        reason = `the MOCK integration of ${method.logicalId} has no response for status ${status}`;
        return gatewayError(
          { type: 'API_CONFIGURATION_ERROR', message: GATEWAY_MESSAGES.internalServerError },
          match,
          authorizerContext,
        );
      }
      const inputs = templateInputs(routed, requestId, match, authorizerContext);
      const [contentType, template] = response.templates.find(([type]) => type === 'application/json') ??
        response.templates[0] ?? ['application/json', undefined];
      const rendered = template?.render(inputs);
      const headers: Record<string, string> = { 'Content-Type': contentType };
      for (const [name, source] of response.headers) {
        const value = resolveHeader(source, inputs);
        if (value !== undefined) headers[name] = value;
      }
      Object.assign(headers, rendered?.headerOverrides ?? {});
      return send(rendered?.statusOverride ?? response.statusCode, headers, rendered?.body ?? '');
    }

    const fn = functions.get(method.integration.functionLogicalId)!;
    const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
    const event = buildProxyEvent(routed, {
      resourcePath: match.node.resourcePath,
      resourceId: match.node.id,
      pathParameters: match.pathParameters,
      stageVariables: model.stageVariables,
      stage: model.stageName,
      apiId: model.apiId,
      accountId,
      deploymentId,
      requestId,
      extendedRequestId: requestId,
      traceId,
      requestTimeEpoch: Date.now(),
      binaryMediaTypes: model.binaryMediaTypes,
      authorizer: authorizerContext,
    });
    if (method.integration.kind === 'lambda-proxy' && method.integration.transferMode === 'stream') {
      return serveStreamedInvocation(
        {
          fn,
          event,
          awsRequestId: randomUUID(),
          timeoutMs: method.integration.timeoutMs,
          idleTimeoutMs: streamIdleTimeoutMs,
          tellFunctionWhenClientGone: clientDisconnect === 'destroy-stream',
          headOnly: request.method === 'HEAD',
        },
        {
          res,
          extraHeaders: {
            'x-amzn-RequestId': requestId,
            'x-amz-apigw-id': requestId.slice(0, 16),
            'X-Amzn-Trace-Id': traceId,
          },
          gatewayError: (error, why) => {
            reason = why;
            gatewayError(error, match, authorizerContext);
          },
          done: (status, why) => {
            reason = why;
            logRequest(status);
          },
        },
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      fn.invoke(event, randomUUID()),
      new Promise<'timeout'>(
        (resolve) =>
          (timer = setTimeout(
            () => resolve('timeout'),
            method.integration.kind === 'lambda-proxy' ? method.integration.timeoutMs : 29_000,
          )),
      ),
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      reason = `${fn.spec.logicalId} did not answer within the integration timeout`;
      return gatewayError(
        { type: 'INTEGRATION_TIMEOUT', message: GATEWAY_MESSAGES.endpointTimedOut },
        match,
        authorizerContext,
      );
    }
    if (!outcome.ok) {
      reason = `${fn.spec.logicalId} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`;
      return gatewayError(lambdaFailureResponse(outcome.failure), match, authorizerContext);
    }
    if (Buffer.byteLength(outcome.payload) > MAX_LAMBDA_RESPONSE_BYTES) {
      reason = `${fn.spec.logicalId} returned more than ${MAX_LAMBDA_RESPONSE_BYTES} bytes`;
      return gatewayError(
        { type: 'DEFAULT_5XX', message: GATEWAY_MESSAGES.internalServerError, status: 502 },
        match,
        authorizerContext,
      );
    }
    try {
      const accept = rawHeaders.find(([name]) => name.toLowerCase() === 'accept')?.[1];
      const mapped = mapProxyResult(outcome.payload, model.binaryMediaTypes, accept);
      mapped.headers.set('X-Amzn-Trace-Id', [traceId]);
      return send(mapped.status, mapped.headers, mapped.body);
    } catch (error) {
      if (!(error instanceof MalformedProxyResponseError)) throw error;
      reason = `${fn.spec.logicalId}: ${error.message}`;
      return gatewayError(
        { type: 'DEFAULT_5XX', message: GATEWAY_MESSAGES.internalServerError, status: 502 },
        match,
        authorizerContext,
      );
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`${req.method} ${(req.url ?? '').split('?')[0]} 500 gateway error: ${(error as Error).message}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: GATEWAY_MESSAGES.internalServerError }));
      } else {
        res.destroy();
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      fs.rmSync(scratchDir, { recursive: true, force: true });
      reject(
        new GatewayStartError('LISTEN_FAILED', `Cannot listen on ${host}:${options.port ?? 8787}: ${error.message}`, {
          cause: error,
        }),
      );
    });
    server.listen(options.port ?? 8787, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const displayHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const routes = listRoutes(model.root);
  const servedAt =
    options.executeApiOrigin !== undefined
      ? `${options.executeApiOrigin}/${model.stageName} (standing for its execute-api URL)`
      : `http://${displayHost}:${port}`;
  log(
    `Serving REST API ${model.restApiLogicalId} (stage ${model.stageName}) at ${servedAt}: ${routes.length} methods, ${functions.size} functions (started on first use)`,
  );
  // One line per resource type keeps start-up readable; `ignored` has the full list.
  const ignoredByType = new Map<string, { count: number; reason: string }>();
  for (const item of model.ignored) {
    const entry = ignoredByType.get(item.type) ?? { count: 0, reason: item.reason };
    entry.count++;
    ignoredByType.set(item.type, entry);
  }
  for (const [type, { count, reason }] of ignoredByType) log(`  ignoring ${count} ${type}: ${reason}`);
  if (model.webAcl) log(`  ${describeWebAcl(model.webAcl, model.stageName)}`);
  log(`  ${describeThrottling(model, throttling)}`);
  log(`  ${concurrency.describe()}`);
  const unknownRoute =
    model.gatewayResponses.get('MISSING_AUTHENTICATION_TOKEN') ?? model.gatewayResponses.get('DEFAULT_4XX');
  if (rendersErrorMessage(unknownRoute)) {
    log(
      `  warning: the MISSING_AUTHENTICATION_TOKEN response (${unknownRoute?.logicalId ?? 'AWS default'}) renders $context.error.message, which for a request to no method with an Authorization header holds that header, so the caller's token is echoed (as on AWS); give it a static body`,
    );
  }
  for (const response of model.gatewayResponses.values()) {
    for (const [contentType, template] of response.templates) {
      const construct = template.vtlConstruct();
      if (construct) {
        log(
          `  warning: gateway response ${response.logicalId} (${response.type}, ${contentType}) contains "${construct}", which AWS does not evaluate in gateway responses (no VTL, only $context/$stageVariables/$method.request substitution); it is sent as written`,
        );
      }
    }
  }
  for (const [logicalId, binary] of nodeBinaries) {
    log(
      `  function ${logicalId} (${model.functions.get(logicalId)!.runtime}) runs on Node.js ${binary.version}: ${binary.path}`,
    );
  }
  const streamed = countStreamedMethods(model.root);
  if (streamed > 0) {
    log(
      `  response streaming: ${streamed} method${streamed === 1 ? '' : 's'} (ResponseTransferMode STREAM), idle timeout ${streamIdleTimeoutMs / 1000} s; ` +
        (clientDisconnect === 'nothing'
          ? 'a client disconnect is not signalled to the function, as on AWS'
          : "a client disconnect destroys the function's response stream (unlike AWS)"),
    );
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `http://${displayHost}:${port}`,
    port,
    apiId: model.apiId,
    stageName: model.stageName,
    routes,
    ignored: model.ignored,
    stats: () => ({
      requests: requestCount,
      throttled: throttledCount,
      wafBlocked: wafBlockedCount,
      authorizerCache: { hits: cacheHits, misses: cacheMisses, entries: authorizerCache.size },
      functions: Object.fromEntries([...functions].map(([id, fn]) => [id, fn.stats()])),
    }),
    measureHeaps: async () =>
      new Map(await Promise.all([...functions].map(async ([id, fn]) => [id, await fn.measureHeaps()] as const))),
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.all([closed, aws.stop(), ...[...functions.values()].map((fn) => fn.stop())]);
        fs.rmSync(scratchDir, { recursive: true, force: true });
      })()),
  };
}

function countStreamedMethods(node: ResourceNode): number {
  const own = [...node.methods.values()].filter(
    (m) => m.integration.kind === 'lambda-proxy' && m.integration.transferMode === 'stream',
  ).length;
  return own + node.children.reduce((sum, child) => sum + countStreamedMethods(child), 0);
}

/** The start-up line saying which throttling limits are enforced. */
function describeThrottling(model: ApiModel, throttling: 'template' | 'off'): string {
  const methods: MethodModel[] = [];
  const collect = (node: ResourceNode) => {
    methods.push(...node.methods.values());
    node.children.forEach(collect);
  };
  collect(model.root);
  const limited = methods.filter((m) => m.throttle);
  if (limited.length === 0)
    return 'throttling: none (the stage sets no limits; the account-level limits of AWS are not emulated)';
  const byLimits = new Map<string, number>();
  for (const m of limited)
    byLimits.set(describeLimits(m.throttle!), (byLimits.get(describeLimits(m.throttle!)) ?? 0) + 1);
  const summary = [...byLimits]
    .map(([limits, count]) => `${limits} for ${count} method${count === 1 ? '' : 's'}`)
    .join('; ');
  if (throttling === 'off')
    return `throttling: OFF (throttling: 'off'), although the stage sets ${summary}; AWS would answer 429 beyond those`;
  return `throttling: ${summary} (stage MethodSettings, one token bucket per method; 429 beyond them)`;
}

/** Checks an authorizer's output as API Gateway does: a principal, a valid policy, a flat context. */
export function parseAuthorizerResult(payload: string, expiresAt: number): CachedAuthorization {
  let result: unknown;
  try {
    result = JSON.parse(payload);
  } catch {
    throw new MalformedPolicyError('the result is not JSON');
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw new MalformedPolicyError('the result is not an object');
  const r = result as Record<string, unknown>;
  if (typeof r.principalId !== 'string' && typeof r.principalId !== 'number')
    throw new MalformedPolicyError('principalId is missing');
  const statements = parsePolicyDocument(r.policyDocument);
  const context: Record<string, string> = {};
  if (r.context !== undefined && r.context !== null) {
    if (typeof r.context !== 'object' || Array.isArray(r.context))
      throw new MalformedPolicyError('context must be an object');
    for (const [key, value] of Object.entries(r.context)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new MalformedPolicyError(
          `context.${key} must be a string, number or boolean (API Gateway rejects nested or null values)`,
        );
      }
      context[key] = String(value);
    }
  }
  return { principalId: String(r.principalId), statements, context, expiresAt };
}
