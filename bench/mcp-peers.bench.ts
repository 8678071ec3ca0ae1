/**
 * Warm MCP serving over loopback HTTP: our Lambda handler behind a minimal HTTP shim against the
 * SDK's reference Node serving of the same sample server, for both protocol eras. Each server runs
 * in its own process (bench/peer-server.ts); this process only generates load. Reported as
 * requests per second of each, from interleaved rounds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { type BenchRow, median } from './harness';
import { LEGACY_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSION, type McpEra } from '../fixtures/mcp-requests';
import { signBenchToken, toolsCallRequest } from './fixtures';
import { createLoadClient, expectFormattedJson, summarise, type LoadClient, type LoadResult } from './load';

const GROUP = 'mcp serving (loopback HTTP)';
const ROOT = join(__dirname, '..');
const CONCURRENCY = 8;
const WARMUP_REQUESTS = 600;
const ROUND_REQUESTS = 500;
const ROUNDS = 5;
/**
 * Our handler behind its HTTP shim must serve at least as many requests per second as the SDK's
 * own Node serving of the same server, in either era.
 */
const PEER_TARGET = 1.0;

type Kind = 'lambda' | 'sdk-modern' | 'sdk-legacy';

interface PeerServer {
  readonly url: string;
  stop(): Promise<void>;
}

function startPeerServer(kind: Kind): Promise<PeerServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'peer-server.ts'), kind], {
    cwd: ROOT,
    env: { ...process.env, POWERTOOLS_SERVICE_NAME: 'bench-mcp', POWERTOOLS_LOG_LEVEL: 'INFO' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let errors = '';
  // stdio makes stderr a pipe; keep its tail for the error message if the server fails to start.
  child.stderr?.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString('utf8')).slice(-2000);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`peer server "${kind}" did not start within 20 s: ${errors}`));
    }, 20_000);
    child.once('message', (message: { port?: number }) => {
      clearTimeout(timer);
      resolve({ url: `http://127.0.0.1:${message.port}/mcp`, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer server "${kind}" exited with code ${code}: ${errors}`));
    });
  });
}

function run(client: LoadClient, url: string, era: McpEra, token: string, requests: number): Promise<LoadResult> {
  const { headers, body } = toolsCallRequest(token, era);
  return client.run({
    concurrency: CONCURRENCY,
    requests,
    request: () => ({ url, headers, body }),
    check: expectFormattedJson,
  });
}

export default async function mcpPeersBench(): Promise<BenchRow[]> {
  const token = signBenchToken();
  const started: PeerServer[] = [];
  const start = async (kind: Kind): Promise<PeerServer> => {
    const server = await startPeerServer(kind);
    started.push(server);
    return server;
  };
  const client = createLoadClient();
  try {
    const lambda = await start('lambda');
    const sdkModern = await start('sdk-modern');
    const sdkLegacy = await start('sdk-legacy');
    const pairs: Array<{ era: McpEra; ours: string; theirs: string; theirsName: string }> = [
      {
        era: 'modern',
        ours: lambda.url,
        theirs: sdkModern.url,
        theirsName: 'SDK toNodeHandler(createMcpHandler)',
      },
      {
        era: 'legacy',
        ours: lambda.url,
        theirs: sdkLegacy.url,
        theirsName: 'SDK stateless NodeStreamableHTTPServerTransport (JSON)',
      },
    ];
    const rows: BenchRow[] = [];
    for (const pair of pairs) {
      await run(client, pair.ours, pair.era, token, WARMUP_REQUESTS);
      await run(client, pair.theirs, pair.era, token, WARMUP_REQUESTS);
      const ours: LoadResult[] = [];
      const theirs: LoadResult[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        ours.push(await run(client, pair.ours, pair.era, token, ROUND_REQUESTS));
        theirs.push(await run(client, pair.theirs, pair.era, token, ROUND_REQUESTS));
      }
      const o = summarise(ours);
      const t = summarise(theirs);
      const version = pair.era === 'modern' ? MODERN_PROTOCOL_VERSION : LEGACY_PROTOCOL_VERSION;
      rows.push({
        group: GROUP,
        name: `SDK reference Node serving, tools/call ${version}`,
        value: t.requestsPerSecond,
        unit: 'req/s',
        note: `${pair.theirsName}; p50 ${t.p50Ms.toFixed(2)} ms, p99 ${t.p99Ms.toFixed(2)} ms`,
      });
      // Each round runs ours then theirs back to back: the median of the rounds' ratios follows the
      // machine's load less than a ratio of totals would.
      const ratios = ours.map((result, round) => result.requestsPerSecond / theirs[round].requestsPerSecond);
      rows.push({
        group: GROUP,
        name: `our Lambda handler + HTTP shim, tools/call ${version}`,
        value: median(ratios),
        unit: 'x',
        baseline: `${pair.theirsName} (req/s)`,
        target: { min: PEER_TARGET },
        note: `median of ${ROUNDS} rounds' ratios; ${Math.round(o.requestsPerSecond)} req/s overall; p50 ${o.p50Ms.toFixed(2)} ms, p99 ${o.p99Ms.toFixed(2)} ms; ${ROUNDS}×${ROUND_REQUESTS} requests each, ${CONCURRENCY} in flight`,
      });
    }
    return rows;
  } finally {
    client.close();
    for (const server of started) await server.stop();
  }
}
