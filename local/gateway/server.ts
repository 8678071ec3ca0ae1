/**
 * `startGateway`: serves the REST API of a synthesized stack on localhost, as API Gateway would
 * serve it behind a custom domain mapped at the root.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AsyncEventStats } from '../aws/lambda';
import { type AccountSecret, type LocalAwsServices, startLocalAwsServices } from './aws-services';
import {
  AccountConcurrency,
  DEFAULT_ACCOUNT_CONCURRENCY,
  defaultLocalMemoryMb,
  describeLocalBounds,
  type LocalBound,
  LOCAL_MEMORY_SHARE,
  localBound,
} from './concurrency';
import { GatewayStartError } from './errors';
import { GATEWAY_MESSAGES, rendersErrorMessage } from './gateway-responses';
import { type FunctionStats, LocalFunction, type LocalFunctionSpec } from './lambda-runtime';
import { type ApiModel, buildApiModel, type IgnoredResource } from './model';
import { NodeBinaries, type NodeBinary } from './node-runtime';
import { type GatewayState, handleRequest, MethodBuckets, type RequestSettings } from './request-handler';
import { allMethods, listRoutes } from './routes';
import { STREAM_IDLE_TIMEOUT_MS } from './stream-response';
import { loadStack } from './template';
import { describeLimits } from './throttle';
import { TokenAuthorizers } from './token-authorizer';
import { describeWebAcl, WebAclEvaluator } from './waf';

export { matchRoute } from './routes';
export { parseAuthorizerResult } from './token-authorizer';

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
   * The memory, in MB, that the local bound gives to functions: each function may run at most
   * floor(localMemoryMb / its MemorySize) processes at once (at least 1), as many as fit if each
   * grew to its MemorySize. An invocation within the Lambda concurrency limits but beyond that is
   * refused with the throttling answer and a "local limit" log line, never queued.
   * @default - three quarters of this machine's memory (os.totalmem())
   */
  readonly localMemoryMb?: number;
  /**
   * How long a function process may stay idle before it is stopped, as Lambda stops an idle
   * execution environment; the next invocation cold-starts. @default 300000 (5 minutes)
   */
  readonly functionIdleTimeoutMs?: number;
  /**
   * Start function processes with `--expose-gc`, for `measureHeaps` (the soak's leak check).
   * @default false
   */
  readonly exposeGcToFunctions?: boolean;
  /**
   * Secrets that exist in the account outside the template, as a deployer creates them (the
   * WorkOS API key a stage names): served by the local Secrets Manager under an ARN of this
   * account, and readable only by the functions whose role the template grants them.
   * @default - none
   */
  readonly accountSecrets?: readonly AccountSecret[];
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
  /** What became of the asynchronous events sent to the local Lambda endpoint, by function name. */
  readonly asyncEvents: Readonly<Record<string, Readonly<AsyncEventStats>>>;
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
  /**
   * What a function's processes get in their environment: the template's variables, resolved, and
   * the local AWS ones (its access key, the endpoints); `undefined` for an unknown function.
   */
  functionEnvironment(functionLogicalId: string): Readonly<Record<string, string>> | undefined;
  stats(): GatewayStats;
  /** Each function's processes' heaps after a full collection (function id → process id → bytes); needs `exposeGcToFunctions`. */
  measureHeaps(): Promise<Map<string, Map<number, number>>>;
  stop(): Promise<void>;
}

function compileBootstrap(scratchDir: string): string {
  // Bundled to plain CommonJS so the child runs without a TypeScript loader, as Lambda runs plain JS.
  // Required here rather than imported: only starting the gateway needs esbuild.
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

/** The options with their defaults, checked. */
interface GatewaySettings extends RequestSettings {
  readonly onFunctionOutput: (functionLogicalId: string, line: string, stream: 'stdout' | 'stderr') => void;
  readonly throttling: 'template' | 'off';
  readonly localMemoryMb: number;
  /** Where `localMemoryMb` came from, for the start-up line. */
  readonly localMemorySource: string;
  readonly functionIdleTimeoutMs: number;
}

/** Lambda does not document how long an idle execution environment lives; minutes, so 5 here. */
const FUNCTION_IDLE_TIMEOUT_MS = 300_000;

function positiveOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number, got ${value}.`);
  return value;
}

/** The memory the local bound divides, and how it was chosen. */
function localMemory(options: GatewayOptions): Pick<GatewaySettings, 'localMemoryMb' | 'localMemorySource'> {
  if (options.localMemoryMb !== undefined)
    return {
      localMemoryMb: positiveOption('localMemoryMb', options.localMemoryMb, 0),
      localMemorySource: 'localMemoryMb',
    };
  const total = os.totalmem();
  return {
    localMemoryMb: defaultLocalMemoryMb(total),
    localMemorySource: `${LOCAL_MEMORY_SHARE * 100}% of this machine's ${Math.floor(total / (1024 * 1024))} MB`,
  };
}

function gatewaySettings(options: GatewayOptions): GatewaySettings {
  const throttling = options.throttling ?? 'template';
  if (throttling !== 'template' && throttling !== 'off')
    throw new TypeError(`throttling must be 'template' or 'off', got ${JSON.stringify(throttling)}.`);
  const clientDisconnect = options.clientDisconnect ?? 'nothing';
  if (clientDisconnect !== 'nothing' && clientDisconnect !== 'destroy-stream') {
    throw new TypeError(
      `clientDisconnect must be 'nothing' or 'destroy-stream', got ${JSON.stringify(clientDisconnect)}.`,
    );
  }
  if (options.executeApiOrigin !== undefined && !/^https?:\/\/[^/?#]+$/.test(options.executeApiOrigin)) {
    throw new TypeError(
      `executeApiOrigin must be an origin such as http://127.0.0.1:8787 (scheme, host and port, no path), got ${JSON.stringify(options.executeApiOrigin)}.`,
    );
  }
  return {
    log: options.log ?? ((line: string) => process.stdout.write(`${line}\n`)),
    onFunctionOutput:
      options.onFunctionOutput ?? ((id: string, line: string) => process.stderr.write(`[${id}] ${line}\n`)),
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    throttling,
    clientDisconnect,
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS,
    serveUnderStagePath: options.serveUnderStagePath ?? false,
    executeApiOrigin: options.executeApiOrigin,
    ...localMemory(options),
    functionIdleTimeoutMs: positiveOption(
      'functionIdleTimeoutMs',
      options.functionIdleTimeoutMs,
      FUNCTION_IDLE_TIMEOUT_MS,
    ),
  };
}

/** A function of the model with the Node.js binary its runtime runs on. */
interface FunctionLaunch {
  readonly spec: LocalFunctionSpec;
  readonly binary: NodeBinary;
  readonly localBound: LocalBound;
}

/** What is ready before anything listens or runs: the model, the bootstrap, the binaries, the concurrency pool. */
interface PreparedGateway {
  readonly model: ApiModel;
  readonly bootstrapFile: string;
  readonly launches: readonly FunctionLaunch[];
  readonly concurrency: AccountConcurrency;
}

/** Everything that can fail on the template or the machine, before any process starts; cleans up on failure. */
function prepareGateway(options: GatewayOptions, settings: GatewaySettings, scratchDir: string): PreparedGateway {
  try {
    const stack = loadStack(options.cdkOut, options.stackName);
    const model = buildApiModel(stack, {
      region: settings.region,
      accountId: settings.accountId,
      restApiLogicalId: options.restApiLogicalId,
      stageName: options.stageName,
      environmentOverrides: options.environmentOverrides,
      scratchDir,
      executeApiOrigin: options.executeApiOrigin,
    });
    const bootstrapFile = compileBootstrap(scratchDir);
    const reserved = new Map(
      [...model.functions].flatMap(([id, spec]) =>
        spec.reservedConcurrency === undefined ? [] : [[id, spec.reservedConcurrency] as const],
      ),
    );
    const concurrency = new AccountConcurrency(
      options.accountConcurrencyLimit ?? DEFAULT_ACCOUNT_CONCURRENCY,
      reserved,
    );
    const binaries = new NodeBinaries();
    const launches = [...model.functions].map(([logicalId, spec]) => ({
      spec,
      binary: binaries.forRuntime(spec.runtime, logicalId),
      localBound: localBound(settings.localMemoryMb, spec.memoryMb),
    }));
    return { model, bootstrapFile, launches, concurrency };
  } catch (error) {
    fs.rmSync(scratchDir, { recursive: true, force: true });
    throw error;
  }
}

/** One LocalFunction per function of the model, by logical id; each process cold-starts on first use. */
function createFunctions(
  options: GatewayOptions,
  settings: GatewaySettings,
  prepared: PreparedGateway,
  aws: LocalAwsServices,
): Map<string, LocalFunction> {
  const functions = new Map<string, LocalFunction>();
  for (const { spec, binary, localBound } of prepared.launches) {
    const { logicalId } = spec;
    functions.set(
      logicalId,
      new LocalFunction(spec, {
        bootstrapFile: prepared.bootstrapFile,
        awsEnvironment: aws.environmentOf(logicalId),
        nodeBinary: binary.path,
        concurrency: prepared.concurrency,
        localBound,
        log: settings.log,
        idleTimeoutMs: settings.functionIdleTimeoutMs,
        exposeGc: options.exposeGcToFunctions ?? false,
        onOutput: (line, stream) => settings.onFunctionOutput(logicalId, line, stream),
      }),
    );
  }
  return functions;
}

/** The function the model names; every one was started with the gateway, so a miss is a bug here. */
function runningFunction(functions: ReadonlyMap<string, LocalFunction>, logicalId: string): LocalFunction {
  const fn = functions.get(logicalId);
  if (!fn) throw new Error(`Function ${logicalId} is referenced by the API but was not started with the gateway.`);
  return fn;
}

/** Answers a request; a failure of the gateway itself gets a bare 500 (or a cut connection once headers are out). */
function serveRequest(state: GatewayState, req: http.IncomingMessage, res: http.ServerResponse): void {
  handleRequest(state, req, res).catch((error: unknown) => {
    state.settings.log(`${req.method} ${(req.url ?? '').split('?')[0]} 500 gateway error: ${(error as Error).message}`);
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: GATEWAY_MESSAGES.internalServerError }));
    } else {
      res.destroy();
    }
  });
}

/** Listens, or removes the scratch folder and fails with LISTEN_FAILED; resolves to the port. */
function listen(server: http.Server, host: string, port: number, scratchDir: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', (error) => {
      fs.rmSync(scratchDir, { recursive: true, force: true });
      reject(
        new GatewayStartError('LISTEN_FAILED', `Cannot listen on ${host}:${port}: ${error.message}`, { cause: error }),
      );
    });
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the local gateway. Functions start lazily: each process cold-starts on its first invocation. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const settings = gatewaySettings(options);
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-gateway-'));
  const prepared = prepareGateway(options, settings, scratchDir);
  const { model } = prepared;
  const aws = await startLocalAwsServices(model, scratchDir, settings.log, options.accountSecrets);
  const functions = createFunctions(options, settings, prepared, aws);
  aws.attachFunctions(functions);
  const functionOf = (logicalId: string) => runningFunction(functions, logicalId);
  const state: GatewayState = {
    model,
    settings,
    functionOf,
    authorizers: new TokenAuthorizers(functionOf),
    buckets: new MethodBuckets(settings.throttling),
    webAcl: model.webAcl && new WebAclEvaluator(model.webAcl),
    counters: { requests: 0, throttled: 0, wafBlocked: 0 },
    deploymentId: createHash('sha256').update(`${model.apiId}/deployment`).digest('hex').slice(0, 6),
  };
  const server = http.createServer((req, res) => serveRequest(state, req, res));
  const host = options.host ?? '127.0.0.1';
  // A gateway that cannot listen stops the local AWS endpoints it started, or they keep the process alive.
  const port = await listen(server, host, options.port ?? 8787, scratchDir).catch(async (error: unknown) => {
    await Promise.all([aws.stop(), ...[...functions.values()].map((fn) => fn.stop())]);
    throw error;
  });
  const displayHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const routes = listRoutes(model.root);
  const servedAt =
    options.executeApiOrigin !== undefined
      ? `${options.executeApiOrigin}/${model.stageName} (standing for its execute-api URL)`
      : `http://${displayHost}:${port}`;
  settings.log(
    `Serving REST API ${model.restApiLogicalId} (stage ${model.stageName}) at ${servedAt}: ${routes.length} methods, ${functions.size} functions (started on first use)`,
  );
  for (const line of startupNotes(settings, prepared)) settings.log(`  ${line}`);
  const stop = stopOnce(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await Promise.all([closed, aws.stop(), ...[...functions.values()].map((fn) => fn.stop())]);
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });
  return {
    url: `http://${displayHost}:${port}`,
    port,
    apiId: model.apiId,
    stageName: model.stageName,
    routes,
    ignored: model.ignored,
    functionEnvironment: (logicalId) => {
      const spec = model.functions.get(logicalId);
      return spec && { ...spec.environment, ...aws.environmentOf(logicalId) };
    },
    stats: () => ({
      ...state.counters,
      authorizerCache: state.authorizers.stats(),
      functions: Object.fromEntries([...functions].map(([id, fn]) => [id, fn.stats()])),
      asyncEvents: aws.asyncEvents(),
    }),
    measureHeaps: async () =>
      new Map(await Promise.all([...functions].map(async ([id, fn]) => [id, await fn.measureHeaps()] as const))),
    stop,
  };
}

/** `stop` may be called more than once; every call gets the one stopping. */
function stopOnce(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= stop();
    return stopping;
  };
}

/** The start-up lines after the first: what is ignored, limits, warnings, runtimes, streaming. */
function startupNotes(settings: GatewaySettings, { model, launches, concurrency }: PreparedGateway): string[] {
  // One line per resource type keeps start-up readable; `ignored` has the full list.
  const ignoredByType = new Map<string, { count: number; reason: string }>();
  for (const item of model.ignored) {
    const entry = ignoredByType.get(item.type) ?? { count: 0, reason: item.reason };
    entry.count++;
    ignoredByType.set(item.type, entry);
  }
  const notes = [...ignoredByType].map(([type, { count, reason }]) => `ignoring ${count} ${type}: ${reason}`);
  if (model.webAcl) notes.push(describeWebAcl(model.webAcl, model.stageName));
  for (const table of model.tables)
    notes.push(
      `DynamoDB table ${table.name}: in memory (dynalite), emptied on restart, no TTL; each call checked against the caller's role`,
    );
  notes.push(
    describeThrottling(model, settings.throttling),
    concurrency.describe(),
    `${describeLocalBounds(settings.localMemoryMb, settings.localMemorySource, new Map(launches.map((l) => [l.spec.logicalId, l.localBound])))}; an idle process stops after ${settings.functionIdleTimeoutMs / 1000} s`,
    ...gatewayResponseWarnings(model),
  );
  for (const { spec, binary } of launches)
    notes.push(`function ${spec.logicalId} (${spec.runtime}) runs on Node.js ${binary.version}: ${binary.path}`);
  const streamed = allMethods(model.root).filter(
    (m) => m.integration.kind === 'lambda-proxy' && m.integration.transferMode === 'stream',
  ).length;
  if (streamed > 0) {
    notes.push(
      `response streaming: ${streamed} method${streamed === 1 ? '' : 's'} (ResponseTransferMode STREAM), idle timeout ${settings.streamIdleTimeoutMs / 1000} s; ${
        settings.clientDisconnect === 'nothing'
          ? 'a client disconnect is not signalled to the function, as on AWS'
          : "a client disconnect destroys the function's response stream (unlike AWS)"
      }`,
    );
  }
  return notes;
}

/** Gateway responses that will not answer as their author likely expects. */
function gatewayResponseWarnings(model: ApiModel): string[] {
  const warnings: string[] = [];
  const unknownRoute =
    model.gatewayResponses.get('MISSING_AUTHENTICATION_TOKEN') ?? model.gatewayResponses.get('DEFAULT_4XX');
  if (rendersErrorMessage(unknownRoute)) {
    warnings.push(
      `warning: the MISSING_AUTHENTICATION_TOKEN response (${unknownRoute?.logicalId ?? 'AWS default'}) renders $context.error.message, which for a request to no method with an Authorization header holds that header, so the caller's token is echoed (as on AWS); give it a static body`,
    );
  }
  for (const response of model.gatewayResponses.values()) {
    for (const [contentType, template] of response.templates) {
      const construct = template.vtlConstruct();
      if (construct) {
        warnings.push(
          `warning: gateway response ${response.logicalId} (${response.type}, ${contentType}) contains "${construct}", which AWS does not evaluate in gateway responses (no VTL, only $context/$stageVariables/$method.request substitution); it is sent as written`,
        );
      }
    }
  }
  return warnings;
}

/** The start-up line saying which throttling limits are enforced. */
function describeThrottling(model: ApiModel, throttling: 'template' | 'off'): string {
  const limited = allMethods(model.root).flatMap((m) => (m.throttle ? [describeLimits(m.throttle)] : []));
  if (limited.length === 0)
    return 'throttling: none (the stage sets no limits; the account-level limits of AWS are not emulated)';
  const byLimits = new Map<string, number>();
  for (const limits of limited) byLimits.set(limits, (byLimits.get(limits) ?? 0) + 1);
  const summary = [...byLimits]
    .map(([limits, count]) => `${limits} for ${count} method${count === 1 ? '' : 's'}`)
    .join('; ');
  if (throttling === 'off')
    return `throttling: OFF (throttling: 'off'), although the stage sets ${summary}; AWS would answer 429 beyond those`;
  return `throttling: ${summary} (stage MethodSettings, one token bucket per method; 429 beyond them)`;
}
