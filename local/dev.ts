/**
 * `npm run dev`: the synthesized stack on localhost with an embedded AuthKit stand-in.
 *
 *   PORT=8787 (the API)   AUTHKIT_PORT=8788 (the stand-in)
 *   AUTHKIT_DOMAIN=https://acme.authkit.app   use that issuer instead of the stand-in
 *   AUTHKIT_AUTO_APPROVE=1                    sign in without the stand-in's page
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_AUTHKIT_PORT, DEFAULT_PORT, startLocalStack } from './stack';

const CDK_OUT = resolve(__dirname, '..', '.local', 'cdk.out');

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a port number between 0 and 65535, got "${raw}".`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const verbose = process.env.DEV_VERBOSE === '1';
  // Each synth writes new asset folders; without this, every past run's bundles pile up here.
  rmSync(CDK_OUT, { recursive: true, force: true });
  const stack = await startLocalStack({
    port: intFromEnv('PORT', DEFAULT_PORT),
    authkitPort: intFromEnv('AUTHKIT_PORT', DEFAULT_AUTHKIT_PORT),
    publicHost: 'localhost',
    authkitDomain: process.env.AUTHKIT_DOMAIN || undefined,
    autoApprove: process.env.AUTHKIT_AUTO_APPROVE === '1',
    outdir: CDK_OUT,
    log: (line) => console.log(line),
    onFunctionOutput: verbose ? (id, line) => console.log(`[${id}] ${line}`) : undefined,
  });

  console.log(`
MCP server      ${stack.mcpUrl}
Metadata        ${stack.urls.protectedResourceMetadata}
Authorization   ${stack.issuer}${stack.standIn ? '  (local AuthKit stand-in: sign in as the dev user)' : ''}

Connect:
  Claude Code     claude mcp add --transport http authkit-local ${stack.mcpUrl}
  MCP Inspector   npx @modelcontextprotocol/inspector   (Transport: Streamable HTTP, URL: ${stack.mcpUrl})

Ctrl-C stops everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
