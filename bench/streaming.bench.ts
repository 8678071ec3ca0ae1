/**
 * Response streaming through the local stack (the real synth, the local API Gateway serving the
 * `/mcp` integration with ResponseTransferMode STREAM, the function's streaming handler):
 *
 * - how long a progress notification takes from the tool sending it to the MCP client receiving
 *   it (the v2 SDK client's `onprogress`), with a tool that stamps each event with the wall-clock
 *   time it sent it (bench/streaming-server.ts);
 * - what streaming costs a plain `tools/call` that sends nothing mid-way: one client, one request
 *   in flight, the sample server behind a streaming stage against the same stage synthesized with
 *   `responseTransferMode: buffered`, in interleaved rounds.
 */
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { BenchRow } from './harness';
import { median, percentile } from './harness';
import { benchClaims, benchSigningJwk, signBenchToken, toolsCallRequest, LOAD_THROTTLING } from './fixtures';
import { createLoadClient, expectFormattedJson, summarise, type LoadResult } from './load';
import { wallClockMs } from './wall-clock';
import { startAuthKitStandIn, type AuthKitStandIn } from '../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../local/stack';

const GROUP = 'response streaming (local stack)';
const TICKS = 40;
const TICK_INTERVAL_MS = 50;
const ROUNDS = 4;
const SERIAL_REQUESTS = 100;
const WARMUP_REQUESTS = 50;
const STREAMING_APP = `npx tsx ${JSON.stringify(join(__dirname, 'streaming-app.ts'))}`;

/** Milliseconds from each progress event's send stamp to its arrival at the SDK client. */
async function progressDelays(stack: LocalStack, token: string): Promise<number[]> {
  const client = new Client({ name: 'bench-streaming', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  const delays: number[] = [];
  try {
    // One short call first, so the timed one runs in a warm function.
    await client.callTool({ name: 'ticks', arguments: { count: 2, intervalMs: 1 } }, { onprogress: () => undefined });
    const result = await client.callTool(
      { name: 'ticks', arguments: { count: TICKS, intervalMs: TICK_INTERVAL_MS } },
      { onprogress: (progress) => void delays.push(wallClockMs() - Number(progress.message)) },
    );
    if (result.isError || delays.length !== TICKS)
      throw new Error(
        `ticks answered ${JSON.stringify(result).slice(0, 200)} with ${delays.length} of ${TICKS} progress events`,
      );
  } finally {
    await client.close();
  }
  return delays;
}

export default async function streamingBench(): Promise<BenchRow[]> {
  const silent = () => undefined;
  let standIn: AuthKitStandIn | undefined;
  const stacks: LocalStack[] = [];
  const load = createLoadClient();
  try {
    standIn = await startAuthKitStandIn({ port: 0, signingKey: benchSigningJwk() });
    const issuer = standIn.issuer;
    const start = async (options: { app?: string; context?: Record<string, string> }) => {
      const stack = await startLocalStack({
        port: 0,
        authkitDomain: issuer,
        throttlingLimits: LOAD_THROTTLING,
        log: silent,
        onFunctionOutput: silent,
        ...options,
      });
      stacks.push(stack);
      return stack;
    };
    const tokenFor = (stack: LocalStack) => signBenchToken(benchClaims({ iss: issuer, aud: stack.mcpUrl }));

    const ticking = await start({ app: STREAMING_APP });
    const delays = await progressDelays(ticking, tokenFor(ticking));

    const streamed = await start({});
    const buffered = await start({ context: { responseTransferMode: 'buffered' } });
    const serial = (stack: LocalStack, requests: number): Promise<LoadResult> => {
      const { headers, body } = toolsCallRequest(tokenFor(stack), 'modern');
      return load.run({
        concurrency: 1,
        requests,
        request: () => ({ url: stack.mcpUrl, headers, body }),
        check: expectFormattedJson,
      });
    };
    await serial(streamed, WARMUP_REQUESTS);
    await serial(buffered, WARMUP_REQUESTS);
    const results: { streamed: LoadResult[]; buffered: LoadResult[] } = { streamed: [], buffered: [] };
    for (let round = 0; round < ROUNDS; round++) {
      results.streamed.push(await serial(streamed, SERIAL_REQUESTS));
      results.buffered.push(await serial(buffered, SERIAL_REQUESTS));
    }
    const s = summarise(results.streamed);
    const b = summarise(results.buffered);

    return [
      {
        group: GROUP,
        name: 'progress event: tool sends it → client receives it (median)',
        value: median(delays),
        unit: 'ms',
        target: { max: 50 },
        note: `p90 ${percentile(delays, 90).toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms over ${TICKS} events ${TICK_INTERVAL_MS} ms apart, SDK v2 client, 2026-07-28`,
      },
      {
        group: GROUP,
        name: 'plain tools/call, streaming vs buffered integration (median latency)',
        value: s.p50Ms / b.p50Ms,
        unit: 'x',
        baseline: 'the same stage synthesized with responseTransferMode buffered',
        target: { max: 1.1 },
        note: `p50 ${s.p50Ms.toFixed(2)} ms vs ${b.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms vs ${b.p99Ms.toFixed(2)} ms; one client, ${ROUNDS}×${SERIAL_REQUESTS} format_json calls (2026-07-28) each, interleaved`,
      },
    ];
  } finally {
    load.close();
    for (const stack of stacks) await stack.stop();
    await standIn?.stop();
  }
}
