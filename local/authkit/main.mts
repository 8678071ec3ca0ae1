/**
 * Command line entry of the local AuthKit stand-in:
 *   node --import tsx local/authkit/main.mts [--host 127.0.0.1] [--port 8788] [--auto-approve]
 *     [--test-controls] [--extra-scopes "mcp:tools"] [--access-token-ttl 300]
 *     [--clients-file .local/authkit/clients.json] [--cimd-loopback]
 * Each flag has an environment twin (AUTHKIT_HOST, AUTHKIT_PORT, AUTHKIT_AUTO_APPROVE=1,
 * AUTHKIT_TEST_CONTROLS=1, AUTHKIT_EXTRA_SCOPES, AUTHKIT_ACCESS_TOKEN_TTL_SECONDS,
 * AUTHKIT_CLIENTS_FILE, AUTHKIT_CIMD_LOOPBACK=1); a fixed signing key comes from AUTHKIT_SIGNING_KEY
 * (a private RSA JWK as JSON); the key its WorkOS API routes accept from AUTHKIT_WORKOS_API_KEY
 * (generated when unset).
 * Once listening it prints `AUTHKIT_READY <issuer>` and, when started with an IPC channel, sends
 * `{ type: 'authkit-ready', issuer }`.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_AUTHKIT_PORT, READY_LINE_PREFIX } from './contract.js';
import { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, startAuthKitServer } from './server.mjs';
import { parseSigningKey } from './signing-keys.mjs';

function flagOrEnv(flag: boolean | undefined, env: string | undefined): boolean {
  return flag === true || env === '1' || env === 'true';
}

function integer(value: string, name: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new Error(`${name} is "${value}": set it to a whole number from ${min} to ${max}.`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'auto-approve': { type: 'boolean' },
      'test-controls': { type: 'boolean' },
      'extra-scopes': { type: 'string' },
      'access-token-ttl': { type: 'string' },
      'clients-file': { type: 'string' },
      'cimd-loopback': { type: 'boolean' },
    },
    strict: true,
  });
  const env = process.env;
  const port = integer(
    values.port ?? env.AUTHKIT_PORT ?? String(DEFAULT_AUTHKIT_PORT),
    'AUTHKIT_PORT (--port)',
    0,
    65535,
  );
  const ttl = integer(
    values['access-token-ttl'] ?? env.AUTHKIT_ACCESS_TOKEN_TTL_SECONDS ?? String(DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
    'AUTHKIT_ACCESS_TOKEN_TTL_SECONDS (--access-token-ttl)',
    1,
    86400,
  );
  const extraScopes = (values['extra-scopes'] ?? env.AUTHKIT_EXTRA_SCOPES ?? '').split(/[\s,]+/).filter(Boolean);
  const signingKey = env.AUTHKIT_SIGNING_KEY
    ? parseSigningKey(env.AUTHKIT_SIGNING_KEY, 'AUTHKIT_SIGNING_KEY')
    : undefined;

  const server = await startAuthKitServer({
    host: values.host ?? env.AUTHKIT_HOST ?? '127.0.0.1',
    port,
    autoApprove: flagOrEnv(values['auto-approve'], env.AUTHKIT_AUTO_APPROVE),
    testControls: flagOrEnv(values['test-controls'], env.AUTHKIT_TEST_CONTROLS),
    extraScopes,
    accessTokenTtlSeconds: ttl,
    signingKey,
    clientsFile: values['clients-file'] ?? (env.AUTHKIT_CLIENTS_FILE || undefined),
    cimdLoopback: flagOrEnv(values['cimd-loopback'], env.AUTHKIT_CIMD_LOOPBACK),
    workosApiKey: env.AUTHKIT_WORKOS_API_KEY || undefined,
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`The AuthKit stand-in did not close cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Started by a launcher with an IPC channel: die with it rather than linger as an orphan.
  process.on('disconnect', stop);

  process.stdout.write(`${READY_LINE_PREFIX}${server.issuer}\n`);
  process.send?.({ type: 'authkit-ready', issuer: server.issuer });
}

main().catch((error: unknown) => {
  process.stderr.write(`AuthKit stand-in failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
