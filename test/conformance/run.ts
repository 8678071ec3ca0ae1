/**
 * `npm run test:conformance`: the official MCP conformance suites against the local stack, as
 * deployed: the synthesized template behind the local API Gateway (response streaming included),
 * with the token authorizer in front of the MCP Lambda. The Lambda is the conformance fixture server
 * (fixture-server.ts, deployed by app.ts through `McpHandler.fromEntry`), which defines the tools,
 * resources and prompts the scenarios call.
 *
 * Three suites run against one stack (suites.ts):
 *   - 2026-07-28: @modelcontextprotocol/conformance 0.2.x, `--requirements 2026-07-28`;
 *   - 2026-07-28 tasks: the same package's ten `tasks-*` extension scenarios, each run with
 *     `--scenario <name> --spec-version 2026-07-28 --force`, every one scored;
 *   - 2025-11-25: the latest 0.1.x (npm alias conformance-2025), every server scenario, with the
 *     scenarios a stateless server cannot pass listed, each with its reason, in expected-failures.yml.
 * Each CLI exits non-zero on an unexpected failure and on a listed scenario that passes (a stale
 * entry); this runner fails when either does, and prints both pass counts at the end.
 *
 * The suites' CLIs cannot send headers, so a loopback proxy adds a valid token (minted by the AuthKit
 * stand-in for this server's resource) to every request.
 *
 *   npm run test:conformance                          every suite
 *   npm run test:conformance -- tools-list            one scenario, in each suite that has it
 *   npm run test:conformance -- --revision 2025-11-25 one revision's suites (also with a scenario)
 *   npm run test:conformance -- --serve               start the stack, print the URL, wait (Ctrl-C stops)
 *   KEEP_CONFORMANCE_RESULTS=1 npm run test:conformance   keep the suites' checks.json files (path printed)
 *   CONFORMANCE_FUNCTION_LOG=/tmp/fn.log npm run test:conformance   append the functions' log lines to a file
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { readExpectedFailures } from './expected-failures';
import {
  cliOf,
  notScoredIn,
  readVerdicts,
  requirementsOf,
  summarise,
  SUITES,
  summaryLine,
  nameOf,
  TASK_SCENARIOS,
  versionOf,
  type ConformanceSuite,
} from './suites';
import { startTokenProxy, type RunningTokenProxy } from './token-proxy';

const REPO_ROOT = resolve(__dirname, '..', '..');
// The CDK app that deploys the fixture server; JSON quoting keeps a path with spaces one argument.
const FIXTURE_APP = `npx tsx ${JSON.stringify(join(__dirname, 'app.ts'))}`;
// Long enough for both suites: the token must not expire halfway through.
const TOKEN_LIFETIME_SECONDS = 3600;
const MIN_NODE_MAJOR = 22;

interface SuiteRun {
  readonly suite: ConformanceSuite;
  readonly scenario?: string;
}

/** Runs one suite's CLI with this process's node, echoing its output and keeping it for the summary. */
function runCli(suite: ConformanceSuite, args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [cliOf(suite), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.once('error', (error) =>
      reject(new Error(`Could not run ${cliOf(suite)}: ${error.message}. Run npm ci first.`)),
    );
    child.once('close', (code, signal) => resolveRun({ code: code ?? (signal ? 1 : 0), stdout }));
  });
}

/** Server scenarios the suite knows (its `list` command), to run a named scenario only where it exists. */
function serverScenariosOf(suite: ConformanceSuite): string[] {
  const listed = spawnSync(process.execPath, [cliOf(suite), 'list', '--server'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return [...listed.stdout.matchAll(/^\s+-\s+(\S+)/gm)].map((match) => match[1]);
}

function plannedRuns(revision: string | undefined, scenario: string | undefined): SuiteRun[] {
  const suites = SUITES.filter((suite) => revision === undefined || suite.revision === revision);
  if (suites.length === 0)
    throw new Error(`Unknown --revision ${revision}: use ${SUITES.map((suite) => suite.revision).join(' or ')}.`);
  if (scenario === undefined) return suites.map((suite) => ({ suite }));
  // A named scenario runs in the suites that have it; an extension suite has only its own list.
  const runs = suites
    .filter((suite) => (suite.scenarios ?? serverScenariosOf(suite)).includes(scenario))
    .filter((suite) => suite.scenarios !== undefined || !TASK_SCENARIOS.includes(scenario as never))
    .map((suite) => ({ suite, scenario }));
  if (runs.length === 0)
    throw new Error(`No suite has a server scenario named ${scenario}; \`npx conformance list --server\` lists them.`);
  return runs;
}

function functionLogTo(path: string): (functionLogicalId: string, line: string) => void {
  return (functionLogicalId, line) => appendFileSync(path, `${functionLogicalId} ${line}\n`);
}

async function startStack(): Promise<{ stack: LocalStack; proxy: RunningTokenProxy; url: string }> {
  // The proxy's origin is the browser-like Origin the suites send; the stack allows exactly that one,
  // so the DNS-rebinding scenario sees a foreign Origin refused (403) and its own accepted.
  const proxy = await startTokenProxy();
  console.log('Starting the local stack (cdk synth of the fixture app for stage local, gateway, AuthKit stand-in)...');
  const stack = await startLocalStack({
    app: FIXTURE_APP,
    port: 0,
    authkitPort: 0,
    testControls: true,
    context: { allowedOrigins: proxy.url },
    // The functions' own log lines, for finding out why a scenario failed.
    ...(process.env.CONFORMANCE_FUNCTION_LOG
      ? { onFunctionOutput: functionLogTo(process.env.CONFORMANCE_FUNCTION_LOG) }
      : {}),
  }).catch(async (error: unknown) => {
    await proxy.stop();
    throw error;
  });
  const { accessToken } = await authKitTestControls(stack.issuer).mintToken({
    aud: stack.mcpUrl,
    expiresInSeconds: TOKEN_LIFETIME_SECONDS,
  });
  proxy.route({ target: stack.gateway.url, token: accessToken });
  const url = `${proxy.url}${new URL(stack.mcpUrl).pathname}`;
  console.log(`MCP endpoint ${stack.mcpUrl}, tested through the token proxy at ${url}`);
  return { stack, proxy, url };
}

/** The suite's CLI once (a requirement set, a whole suite, one scenario), or once per scenario of its own list. */
async function runScenarios(
  suite: ConformanceSuite,
  url: string,
  outputDir: string,
  scenario: string | undefined,
): Promise<{ code: number; stdout: string }> {
  const withBaseline = (args: string[]) =>
    suite.expectedFailures ? [...args, '--expected-failures', suite.expectedFailures] : args;
  if (suite.scenarios === undefined || scenario !== undefined)
    return runCli(suite, withBaseline(suite.args(url, outputDir, scenario)));
  let code = 0;
  let stdout = '';
  for (const each of suite.scenarios) {
    const run = await runCli(suite, withBaseline(suite.args(url, outputDir, each)));
    code ||= run.code;
    stdout += run.stdout;
  }
  return { code, stdout };
}

async function runSuite(
  { suite, scenario }: SuiteRun,
  url: string,
  outputRoot: string,
): Promise<{ code: number; line: string }> {
  const version = versionOf(suite);
  // Fails before the suite runs when an entry has no stated reason.
  const expected = suite.expectedFailures
    ? readExpectedFailures(suite.expectedFailures).map((entry) => entry.scenario)
    : [];
  console.log(
    `\n=== Conformance ${nameOf(suite)}: @modelcontextprotocol/conformance ${version}${scenario ? `, scenario ${scenario}` : ''} ===`,
  );
  console.log(`Expected failures (${expected.length}): ${expected.join(', ') || 'none'}`);
  const outputDir = join(outputRoot, nameOf(suite).replace(' ', '-'));
  mkdirSync(outputDir, { recursive: true });
  const { code, stdout } = await runScenarios(suite, url, outputDir, scenario);
  // A full run must leave a result for every scenario it names (a requirement set's, or the suite's own list).
  const required = scenario ? [] : (suite.scenarios ?? requirementsOf(suite));
  return {
    code,
    line: summaryLine(
      suite,
      version,
      summarise(readVerdicts(outputDir), notScoredIn(stdout), required),
      expected,
      code,
    ),
  };
}

async function serve(): Promise<number> {
  const { stack, proxy, url } = await startStack();
  console.log(
    `Serving. Run a suite by hand, e.g.\n  node ${cliOf(SUITES[0])} server --url ${url} --scenario tools-list --spec-version 2026-07-28\nCtrl-C stops.`,
  );
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await proxy.stop();
  await stack.stop();
  return 0;
}

async function main(): Promise<number> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR)
    throw new Error(
      `The conformance suites need Node.js ${MIN_NODE_MAJOR} or later, this is ${process.version}: PATH="$(bash scripts/ensure-node.sh 24):$PATH".`,
    );
  const { values, positionals } = parseArgs({
    options: { revision: { type: 'string' }, serve: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (values.serve) return serve();
  const runs = plannedRuns(values.revision, positionals[0]);

  let started: Awaited<ReturnType<typeof startStack>> | undefined;
  const outputRoot = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  const results: { code: number; line: string }[] = [];
  try {
    started = await startStack();
    for (const run of runs) results.push(await runSuite(run, started.url, outputRoot));
    console.log(`\n${started.proxy.forwardedRequests()} requests went through the token proxy.`);
  } finally {
    await started?.proxy.stop();
    await started?.stack.stop();
    if (process.env.KEEP_CONFORMANCE_RESULTS) console.log(`Results kept in ${outputRoot}`);
    else rmSync(outputRoot, { recursive: true, force: true });
  }
  console.log('\n=== Conformance summary ===');
  for (const { line } of results) console.log(line);
  return results.some(({ code }) => code !== 0) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
