/**
 * What the Lambda adapter costs per warm request: `tools/call` through `createMcpLambdaHandler`
 * (proxy event in, proxy result out, identity from the authorizer context, the request checks, one
 * log line) against the MCP SDK serving the same request at an endpoint that, like ours, serves
 * both protocol eras (bench/mcp-warm.ts). Same server factory, identity and message
 * (bench/fixtures.ts); the body is parsed once on both sides.
 *
 * Measured in a fresh process running a bundle built as the construct builds the MCP function, so
 * the SDK validates with the deployed JSON Schema validator, and in CPU time: the work is
 * CPU-bound, CPU time is what Lambda bills, and it barely moves when other processes load this
 * machine. Bundle sizes and cold starts are in coldstart.bench.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAsDeployed } from './bundles';
import type { McpEra } from '../fixtures/mcp-requests';
import type { BenchRow, TimingOptions } from './harness';
import type { WarmTimings } from './mcp-warm';
import { mcpBundling } from '../lambda/runtime/bundling';

const GROUP = 'mcp handler';
/** The adapter may cost at most this much more CPU than the SDK alone, in either era. */
const ADAPTER_TARGET = 1.15;
/**
 * 100 calls per sample (20-30 ms, long enough that each sample carries its share of garbage
 * collection), 61 samples per subject, after 500 unmeasured calls each.
 */
const TIMING: TimingOptions = { batch: 100, samples: 61, warmup: 500 };

const ROUTE: Record<McpEra, { version: string; sdk: string }> = {
  modern: { version: '2026-07-28', sdk: 'createMcpHandler().fetch' },
  legacy: { version: '2025-11-25', sdk: 'stateless JSON transport.handleRequest' },
};

export default async function mcpBench(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-warm-'));
  try {
    const bundle = join(dir, 'mcp-warm.js');
    await bundleAsDeployed({ entry: join(__dirname, 'mcp-warm.ts') }, bundle, mcpBundling().alias);
    const output = execFileSync(process.execPath, ['--enable-source-maps', bundle, JSON.stringify(TIMING)], {
      env: { PATH: process.env.PATH, POWERTOOLS_SERVICE_NAME: 'bench', POWERTOOLS_LOG_LEVEL: 'INFO' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The last line is the result; any lines before it are the function's logs.
    const lines = output.trim().split('\n');
    const timings = JSON.parse(lines[lines.length - 1]) as WarmTimings;
    return (['modern', 'legacy'] as const).map((era) => {
      const { adapterNs, sdkNs } = timings[era];
      return {
        group: GROUP,
        name: `warm tools/call ${ROUTE[era].version} via adapter`,
        value: adapterNs / sdkNs,
        unit: 'x',
        baseline: `SDK alone: isLegacyRequest → ${ROUTE[era].sdk}`,
        target: { max: ADAPTER_TARGET },
        note: `CPU ${Math.round(adapterNs / 1000)} µs vs ${Math.round(sdkNs / 1000)} µs per call, as bundled for Lambda; median of ${TIMING.samples} samples of ${TIMING.batch}`,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
