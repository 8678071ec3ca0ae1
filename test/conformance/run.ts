/**
 * `npm run test:conformance`: the official MCP conformance suite (every server scenario, pending
 * ones included) against the local stack, as deployed: the synthesized template behind the local
 * API Gateway, with the token authorizer in front of the MCP Lambda. The Lambda is the conformance
 * fixture server (fixture-server.ts, deployed by app.ts through `McpHandler.fromEntry`), which
 * defines the tools, resources and prompts the scenarios call.
 *
 * The suite's CLI cannot send headers, so a loopback proxy adds a valid token (minted by the AuthKit
 * stand-in for this server's resource) to every request. Scenarios the stack cannot pass by design
 * are listed, each with its reason, in expected-failures.yml; the CLI exits non-zero on any other
 * failure and on a listed scenario that passes (a stale entry).
 *
 *   npm run test:conformance                      every server scenario
 *   npm run test:conformance -- tools-list        one scenario (the expected failures still apply)
 *   KEEP_CONFORMANCE_RESULTS=1 npm run test:conformance   keep the suite's checks.json files (path printed)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { readExpectedFailures } from './expected-failures';
import { startTokenProxy, type RunningTokenProxy } from './token-proxy';

const REPO_ROOT = resolve(__dirname, '..', '..');
const EXPECTED_FAILURES = join(__dirname, 'expected-failures.yml');
const CONFORMANCE_CLI = join(REPO_ROOT, 'node_modules', '.bin', 'conformance');
// The CDK app that deploys the fixture server; JSON quoting keeps a path with spaces one argument.
const FIXTURE_APP = `npx tsx ${JSON.stringify(join(__dirname, 'app.ts'))}`;
// Long enough for the whole suite: the token must not expire halfway through.
const TOKEN_LIFETIME_SECONDS = 3600;

function runConformance(args: readonly string[]): Promise<number> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(CONFORMANCE_CLI, args, { cwd: REPO_ROOT, stdio: 'inherit' });
    child.once('error', (error) => reject(new Error(`Could not run ${CONFORMANCE_CLI}: ${error.message}. Run npm ci first.`)));
    child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const scenario = process.argv[2];
  // Fails before any start-up when an entry has no stated reason.
  const expected = readExpectedFailures(EXPECTED_FAILURES);
  console.log(`Expected failures (${expected.length}): ${expected.map((entry) => entry.scenario).join(', ')}`);

  let stack: LocalStack | undefined;
  let proxy: RunningTokenProxy | undefined;
  const outputDir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    // The proxy's origin is the browser-like Origin the suite sends; the stack allows exactly that one,
    // so the suite's DNS-rebinding scenario sees a foreign Origin refused (403) and its own accepted.
    proxy = await startTokenProxy();
    console.log('Starting the local stack (cdk synth of the fixture app for stage local, gateway, AuthKit stand-in)...');
    stack = await startLocalStack({ app: FIXTURE_APP, port: 0, authkitPort: 0, testControls: true, context: { allowedOrigins: proxy.url } });
    const { accessToken } = await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl, expiresInSeconds: TOKEN_LIFETIME_SECONDS });
    proxy.route({ target: stack.gateway.url, token: accessToken });
    const url = `${proxy.url}${new URL(stack.mcpUrl).pathname}`;
    console.log(`MCP endpoint ${stack.mcpUrl}, tested through the token proxy at ${url}`);

    const args = ['server', '--url', url, '--expected-failures', EXPECTED_FAILURES, '--output-dir', outputDir];
    // "all" adds the suite's pending scenarios (json-schema-2020-12, server-sse-polling) to the active ones.
    if (scenario) args.push('--scenario', scenario);
    else args.push('--suite', 'all');
    const code = await runConformance(args);
    console.log(`Conformance suite exit code ${code}; ${proxy.forwardedRequests()} requests went through the token proxy.`);
    return code;
  } finally {
    await proxy?.stop();
    await stack?.stop();
    if (!process.env.KEEP_CONFORMANCE_RESULTS) rmSync(outputDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
