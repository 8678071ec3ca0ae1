/**
 * The whole system on localhost, as deployed: the AuthKit stand-in (unless an external issuer is
 * given), a real `cdk synth` of the app for stage `local`, and the local API Gateway serving the
 * synthesized template with the bundled Lambda assets.
 *
 * `npm run dev` is a thin command line over {@link startLocalStack}; the end-to-end tests, the soak
 * run and the benchmarks start the same stack through it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startAuthKitStandIn, type AuthKitStandIn } from './authkit/launch';
import { startGateway, type RunningGateway } from './gateway';
import { serverUrls, type ServerUrls } from '../lambda/shared/urls';
import { stackNameForStage } from '../app/mcp-server-stack';
import { LocalError } from './errors';

const REPO_ROOT = resolve(__dirname, '..');
export const LOCAL_STAGE = 'local';
export const DEFAULT_PORT = 8787;
export const DEFAULT_AUTHKIT_PORT = 8788;
/**
 * The secret the local stage's MCP function reads its WorkOS API key from: named by the stage
 * (`-c workosApiKeySecretName`), created in the local account with the stand-in's key, and
 * served by the local Secrets Manager to the roles the template grants it.
 */
export const LOCAL_WORKOS_API_KEY_SECRET_NAME = 'mcp-authkit-local/workos-api-key';
/** Scopes the local stage offers beyond AuthKit's standard ones (its scopesSupported): the stand-in allows them. */
const LOCAL_STAGE_SCOPES = ['mcp:admin'];

export interface LocalStackOptions {
  /** Start function processes with `--expose-gc`, so `gateway.measureHeaps()` works (the soak's leak check). @default false */
  readonly exposeGcToFunctions?: boolean;
  /**
   * The memory, in MB, that the gateway's local bound gives to functions: each may run
   * floor(localMemoryMb / MemorySize) processes at once. @default - three quarters of this machine's memory
   */
  readonly localMemoryMb?: number;
  /** Port of the API. 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Interface both servers listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Host name put in the public URLs (what clients type). @default - the listening host */
  readonly publicHost?: string;
  /** An external issuer (a real AuthKit environment); no stand-in is started. @default - the stand-in */
  readonly authkitDomain?: string;
  /** Port of the stand-in. 0 picks a free one. @default 8788 */
  readonly authkitPort?: number;
  /** The stand-in completes sign-ins without showing its page. @default false */
  readonly autoApprove?: boolean;
  /** The stand-in serves its `/__test/*` controls (mint tokens, rotate keys, break the JWKS). @default false */
  readonly testControls?: boolean;
  /** Lifetime of the stand-in's access tokens in seconds. @default 300 */
  readonly accessTokenTtlSeconds?: number;
  /** The stand-in keeps registered clients in this JSON file across restarts. @default - in memory only */
  readonly clientsFile?: string;
  /** The stand-in fetches `https://<loopback>` Client ID Metadata Documents over http (tests). @default false */
  readonly cimdLoopback?: boolean;
  /** Extra `-c key=value` context for the synth (stage fields that the app accepts as overrides). @default none */
  readonly context?: Readonly<Record<string, string>>;
  /**
   * Serve this stage exactly as `cdk deploy -c stage=<name>` deploys it, only the issuer replaced:
   * synthesized without publicBaseUrl, so its URLs are built from the API id, region and
   * `/<stage>` on the execute-api host, which the local gateway resolves to its own origin, serving
   * the API under `/<stage>` as execute-api does. @default - stage `local`, synthesized with a publicBaseUrl
   */
  readonly deployedStage?: string;
  /**
   * Stage throttling to synthesize (`-c throttlingRateLimit=... -c throttlingBurstLimit=...`). The
   * local gateway enforces the synthesized limits per method as API Gateway does (the construct's
   * default is 100 rps, burst 200), so load runs above that pass higher limits here, e.g.
   * `{ rateLimit: 10_000, burstLimit: 5_000 }` (AWS's account defaults; the construct caps the burst at 5,000).
   * @default - the stage's limits
   */
  readonly throttlingLimits?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * The CDK app command to synthesize (`cdk synth --app ...`), e.g. `npx tsx test/conformance/app.ts`.
   * It must define the stack `McpServer-local` for stage `local`.
   * @default - the `app` of cdk.json
   */
  readonly app?: string;
  /** Where the cloud assembly goes. @default - a new temporary folder, removed on stop */
  readonly outdir?: string;
  /** Receives progress and request log lines. @default - discarded */
  readonly log?: (line: string) => void;
  /** Receives the functions' own output (their structured logs). @default - discarded */
  readonly onFunctionOutput?: (functionLogicalId: string, line: string) => void;
  /**
   * Aborting it while the stack starts kills the synth, stops whatever had started, and makes
   * startLocalStack reject: how `npm run dev` honours a Ctrl-C or SIGTERM during its start.
   * @default - the start cannot be interrupted
   */
  readonly signal?: AbortSignal;
}

export interface LocalStack {
  /** The MCP endpoint, e.g. http://localhost:8787/mcp. */
  readonly mcpUrl: string;
  /** Every public URL of the server. */
  readonly urls: ServerUrls;
  /** The authorization server in use. */
  readonly issuer: string;
  /** True when the embedded stand-in is running (no external issuer). */
  readonly standIn: boolean;
  readonly gateway: RunningGateway;
  /** The cloud assembly that is being served. */
  readonly cdkOut: string;
  /** Stops every process this stack started. Safe to call twice. */
  stop(): Promise<void>;
}

export class LocalStackError extends LocalError {
  readonly code = 'LOCAL_STACK_FAILED';
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Checked before anything starts, so a bad option leaves no process behind.
  throttlingContext(options);
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? host;
  const port = options.port === 0 ? await freePort(host) : (options.port ?? DEFAULT_PORT);
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    started.length = 0;
  };
  try {
    options.signal?.throwIfAborted();
    const standIn = options.authkitDomain ? undefined : await startStandIn(options, host, publicHost);
    if (standIn) started.push(() => standIn.stop());
    const issuer = standIn?.issuer ?? options.authkitDomain ?? '';
    if (standIn) log(`AuthKit stand-in listening at ${issuer}`);

    const origin = `http://${publicHost}:${port}`;
    const stage = options.deployedStage ?? LOCAL_STAGE;
    const placement: Record<string, string> = options.deployedStage === undefined ? { publicBaseUrl: origin } : {};
    const ownOutdir = options.outdir === undefined;
    const cdkOut = options.outdir ?? mkdtempSync(join(tmpdir(), 'mcp-local-cdk-out-'));
    if (ownOutdir) started.push(async () => rmSync(cdkOut, { recursive: true, force: true }));
    log(`Synthesizing stage "${stage}" (cdk synth)...`);
    options.signal?.throwIfAborted();
    const workos = workosContext(standIn, stage);
    await synthesize(
      cdkOut,
      { stage, authkitDomain: issuer, ...placement, ...workos, ...options.context, ...throttlingContext(options) },
      options.app,
      options.signal,
    );
    options.signal?.throwIfAborted();

    const gateway = await startGateway({
      cdkOut,
      stackName: stackNameForStage(stage),
      port,
      host,
      executeApiOrigin: options.deployedStage === undefined ? undefined : origin,
      log,
      // Discarded unless asked for, as documented: tests and `npm run dev` choose whether to show them.
      onFunctionOutput: (id, line) => options.onFunctionOutput?.(id, line),
      exposeGcToFunctions: options.exposeGcToFunctions,
      localMemoryMb: options.localMemoryMb,
      accountSecrets: standIn && workos.workosApiKeySecretName ? [workosKeySecret(standIn)] : [],
    });
    started.push(() => gateway.stop());
    const urls = serverUrls(options.deployedStage === undefined ? origin : `${origin}/${gateway.stageName}`);
    return {
      mcpUrl: urls.resource,
      urls,
      issuer,
      standIn: standIn !== undefined,
      gateway,
      cdkOut,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The AuthKit stand-in the local stack starts when no `authkitDomain` is given. */
function startStandIn(options: LocalStackOptions, host: string, publicHost: string): Promise<AuthKitStandIn> {
  return startAuthKitStandIn({
    port: options.authkitPort ?? DEFAULT_AUTHKIT_PORT,
    host: publicHost === 'localhost' ? 'localhost' : host,
    autoApprove: options.autoApprove,
    testControls: options.testControls,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    clientsFile: options.clientsFile,
    cimdLoopback: options.cimdLoopback,
    extraScopes: [...(scopesOf(options.context) ?? []), ...LOCAL_STAGE_SCOPES],
  });
}

/**
 * Runs the real CDK CLI synth of this app (or of `app`, a CDK `--app` command) into `outdir`, with
 * the given context. The CLI runs in a process group of its own, so that `signal` can stop it and
 * the app and bundlers it started.
 */
export function synthesize(
  outdir: string,
  context: Readonly<Record<string, string>>,
  app?: string,
  signal?: AbortSignal,
): Promise<void> {
  const args = ['synth', '--quiet', '--no-notices', '--output', outdir];
  if (app !== undefined) args.push('--app', app);
  for (const [key, value] of Object.entries(context)) args.push('--context', `${key}=${value}`);
  const cdk = join(REPO_ROOT, 'node_modules', '.bin', 'cdk');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cdk, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      detached: signal !== undefined,
    });
    const abort = () => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.on('exit', () => signal?.removeEventListener('abort', abort));
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', (error) =>
      reject(
        new LocalStackError(`Could not run the CDK CLI (${cdk}): ${error.message}. Run npm ci first.`, {
          cause: error,
        }),
      ),
    );
    child.on('exit', (code) => {
      if (code === 0) resolvePromise();
      else if (signal?.aborted) {
        // The CLI may exit before the app and bundlers it started, which would then still write
        // into `outdir` after the caller removed it: settle once the whole group has gone.
        const gone = child.pid === undefined ? Promise.resolve() : processGroupGone(child.pid);
        void gone.then(() => reject(new LocalStackError('cdk synth was stopped.', { cause: signal.reason })));
      } else
        reject(
          new LocalStackError(
            `cdk synth failed with exit code ${code}:\n${output.trim().split('\n').slice(-30).join('\n')}`,
          ),
        );
    });
  });
}

/** Resolves when no process of the group `pgid` is left, killing what remains after 3 s; gives up after 5 s. */
async function processGroupGone(pgid: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < 5_000) {
    try {
      process.kill(-pgid, Date.now() - started < 3_000 ? 0 : 'SIGKILL');
    } catch {
      return; // ESRCH: the group is empty
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The synth context for `throttlingLimits`; the stage config validates the values themselves (burst ≤ 5,000, ...). */
function throttlingContext(options: LocalStackOptions): Record<string, string> {
  const limits = options.throttlingLimits;
  if (limits === undefined) return {};
  const clashing = ['throttlingRateLimit', 'throttlingBurstLimit'].filter(
    (key) => options.context?.[key] !== undefined,
  );
  if (clashing.length > 0) {
    throw new LocalStackError(
      `Pass the throttling limits either as throttlingLimits or as context ${clashing.join(' and ')}, not both.`,
    );
  }
  return { throttlingRateLimit: String(limits.rateLimit), throttlingBurstLimit: String(limits.burstLimit) };
}

/**
 * The stage fields that point the local stage's MCP function at the stand-in's WorkOS API and its
 * key's secret; none for another stage or an external issuer.
 */
function workosContext(
  standIn: AuthKitStandIn | undefined,
  stage: string,
): { workosApiBaseUrl?: string; workosApiKeySecretName?: string } {
  if (standIn === undefined || stage !== LOCAL_STAGE) return {};
  return { workosApiBaseUrl: standIn.workosApiBaseUrl, workosApiKeySecretName: LOCAL_WORKOS_API_KEY_SECRET_NAME };
}

/** The secret the local account holds with the stand-in's WorkOS API key. */
function workosKeySecret(standIn: AuthKitStandIn): { name: string; value: string } {
  return { name: LOCAL_WORKOS_API_KEY_SECRET_NAME, value: standIn.workosApiKey };
}

function scopesOf(context: LocalStackOptions['context']): string[] | undefined {
  const scopes = context?.requiredScopes;
  return scopes ? scopes.split(/[\s,]+/).filter(Boolean) : undefined;
}

async function freePort(host: string): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePromise(address.port) : reject(new Error('no port')),
      );
    });
  });
}
