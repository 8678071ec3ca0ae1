/**
 * `npm run dev`: the synthesized stack on localhost with an embedded AuthKit stand-in.
 *
 *   PORT=8787 (the API)   AUTHKIT_PORT=8788 (the stand-in)
 *   AUTHKIT_DOMAIN=https://acme.authkit.app   use that issuer instead of the stand-in
 *   AUTHKIT_AUTO_APPROVE=1                    sign in without the stand-in's page (loopback redirect URIs)
 *   AUTHKIT_TEST_CONTROLS=1                   serve the stand-in's /__test/* controls
 *   AUTHKIT_ACCESS_TOKEN_TTL_SECONDS=300      lifetime of the stand-in's access tokens
 *   DEV_VERBOSE=1                             print the functions' own log lines
 *   LOCAL_MEMORY_MB=12288                     memory the local bound divides by each MemorySize
 *                                             (default: three quarters of this machine's)
 *
 * Each run checks its ports before it touches anything, synthesizes into a folder of its own
 * (.local/dev/<pid>), keeps the stand-in's registered clients in .local/authkit/, and stops every
 * process it started on SIGINT, SIGTERM, or when the npm process that started it goes away.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_AUTHKIT_PORT, DEFAULT_PORT, startLocalStack, type LocalStack } from './stack';
import { assertPortsFree, createRunFolder, type DevPort, PortInUseError, watchAncestors } from './dev-process';
import { LocalError } from './errors';

const LOCAL_DIR = resolve(__dirname, '..', '.local');
/** How long the stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 10_000;

class DevConfigError extends LocalError {}

function intFromEnv(name: string, fallback: number, min: number, max: number, what: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new DevConfigError(`${name} must be ${what} from ${min} to ${max}, got "${raw}".`);
  return value;
}

interface DevSettings {
  readonly port: number;
  readonly authkitPort: number;
  readonly authkitDomain: string | undefined;
  readonly autoApprove: boolean;
  readonly testControls: boolean;
  readonly accessTokenTtlSeconds: number | undefined;
  readonly verbose: boolean;
  readonly localMemoryMb: number | undefined;
}

function settingsFromEnv(): DevSettings {
  const env = process.env;
  return {
    port: intFromEnv('PORT', DEFAULT_PORT, 0, 65535, 'a port number'),
    authkitPort: intFromEnv('AUTHKIT_PORT', DEFAULT_AUTHKIT_PORT, 0, 65535, 'a port number'),
    authkitDomain: env.AUTHKIT_DOMAIN || undefined,
    autoApprove: env.AUTHKIT_AUTO_APPROVE === '1',
    testControls: env.AUTHKIT_TEST_CONTROLS === '1',
    accessTokenTtlSeconds: env.AUTHKIT_ACCESS_TOKEN_TTL_SECONDS
      ? intFromEnv('AUTHKIT_ACCESS_TOKEN_TTL_SECONDS', 300, 1, 86400, 'a number of seconds')
      : undefined,
    verbose: env.DEV_VERBOSE === '1',
    localMemoryMb: env.LOCAL_MEMORY_MB
      ? intFromEnv('LOCAL_MEMORY_MB', 0, 128, 16 * 1024 * 1024, 'a number of MB')
      : undefined,
  };
}

function banner(stack: LocalStack, settings: DevSettings): string {
  const tokenHint = stack.standIn
    ? `\n  A token (curl, --header, CI)   npx tsx local/dev-token.ts${settings.port === DEFAULT_PORT ? '' : ` --port ${settings.port}`}`
    : '';
  return `
MCP server      ${stack.mcpUrl}
Metadata        ${stack.urls.protectedResourceMetadata}
Authorization   ${stack.issuer}${stack.standIn ? '  (local AuthKit stand-in: sign in as the dev user)' : ''}

Connect:
  Claude Code     claude mcp add --transport http authkit-local ${stack.mcpUrl}
  MCP Inspector   npx @modelcontextprotocol/inspector   (Transport: Streamable HTTP, URL: ${stack.mcpUrl})${tokenHint}

Ctrl-C stops everything.`;
}

/** The ports this run listens on: the API's, and the stand-in's unless AUTHKIT_DOMAIN replaces it. */
function devPorts(settings: DevSettings): DevPort[] {
  return [
    { variable: 'PORT', port: settings.port, host: '127.0.0.1' },
    ...(settings.authkitDomain ? [] : [{ variable: 'AUTHKIT_PORT', port: settings.authkitPort, host: 'localhost' }]),
  ];
}

async function main(): Promise<void> {
  const settings = settingsFromEnv();
  const starting = new AbortController();
  let startup: Promise<LocalStack | undefined> = Promise.resolve(undefined);
  let runFolder: string | undefined;

  // On every way out (a stop, the stop deadline, a failed start), synchronously and last, so that
  // no path can exit with the folder still there.
  process.on('exit', () => {
    if (runFolder) rmSync(runFolder, { recursive: true, force: true });
  });
  let stopping = false;
  const stop = async (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping...`);
    setTimeout(() => process.exit(exitCode), STOP_DEADLINE_MS).unref();
    starting.abort(new Error(why));
    // A start in progress stops what it had started when aborted (the synth's whole process group
    // included, so nothing writes into the run folder afterwards); a finished one is stopped here.
    const stack = await startup.catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    process.exit(exitCode);
  };
  // Installed before anything starts, so that a signal during the synth stops it too.
  process.on('SIGINT', () => void stop('SIGINT', 130));
  process.on('SIGTERM', () => void stop('SIGTERM', 143));
  watchAncestors((reason) => void stop(`npm run dev was stopped (${reason})`, 143));

  await assertPortsFree(devPorts(settings));
  if (stopping) return;
  runFolder = createRunFolder(join(LOCAL_DIR, 'dev'));

  startup = startLocalStack({
    port: settings.port,
    authkitPort: settings.authkitPort,
    publicHost: 'localhost',
    authkitDomain: settings.authkitDomain,
    autoApprove: settings.autoApprove,
    testControls: settings.testControls,
    accessTokenTtlSeconds: settings.accessTokenTtlSeconds,
    localMemoryMb: settings.localMemoryMb,
    // Per stand-in port: a client registered with one issuer means nothing to another.
    clientsFile: join(LOCAL_DIR, 'authkit', `clients-${settings.authkitPort}.json`),
    outdir: join(runFolder, 'cdk.out'),
    signal: starting.signal,
    log: (line) => console.log(line),
    onFunctionOutput: settings.verbose ? (id, line) => console.log(`[${id}] ${line}`) : undefined,
  });
  let stack: LocalStack | undefined;
  try {
    stack = await startup;
  } catch (error) {
    if (stopping) return;
    throw error;
  }
  if (!stopping && stack) console.log(banner(stack, settings));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(error instanceof PortInUseError || error instanceof DevConfigError ? 2 : 1);
});
