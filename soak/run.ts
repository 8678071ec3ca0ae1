/**
 * `npm run soak`: load and faults against the whole system on loopback (the AuthKit stand-in, a
 * real `cdk synth`, the local API Gateway with its TOKEN authorizer and each Lambda in its own warm
 * process). Prints one table of figures and exits non-zero naming every missed target.
 *
 *   npm run soak                       # 20,000 requests at concurrency 32, then the faults
 *   npm run soak -- --quick            # 12,000 at 16 (CI); also SOAK_QUICK=1
 *   npm run soak -- --requests 5000 --concurrency 8 --seed 7 --max-minutes 10
 *
 * The stack is synthesized with the stage's throttling raised to API Gateway's account-level
 * defaults (10,000 req/s, burst 5,000), so the soak measures the system rather than the throttle.
 *
 * Everything listens on 127.0.0.1 with ephemeral ports; the run is bounded in requests and in time
 * (a watchdog stops it), and stops every process it started.
 *
 * Memory: the function processes run with `--expose-gc`, and at the start, the middle and the end
 * of the measured load each reports its heap right after a full collection; the gate judges the
 * growth of that, what a function keeps, since RSS also holds garbage V8 has not collected yet and
 * grows with it under load. A deliberate leak of about 4 KB per MCP request fails the gate.
 * `SOAK_MEMORY_TRACE=<file>` writes the RSS samples taken on an interval as JSON.
 */
import { writeFileSync } from 'node:fs';
import { percentile } from '../bench/harness';
import { authKitTestControls } from '../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../local/stack';
import * as faults from './faults';
import { LOAD_THROTTLING } from '../bench/fixtures';
import { LEAK_MIN_CHARS, TokenLeakScanner } from './leaks';
import {
  GROWTH_ALLOWANCE_BYTES_PER_PROCESS,
  heapGrowth,
  MemorySampler,
  runProbes,
  SECOND_PHASE_SHARE_OF_FIRST,
  type HeapSample,
} from './load';
import { formatJsonProbe, metadataProbe, toolsListProbe, whoamiProbe, type Probe, type ProbeTargets } from './probes';
import { format, MB, missedTargets, printTable, type SoakRow } from './report';
import { readDeployedSettings } from './settings';
import { seededRandom, TokenFactory, type SoakToken } from './tokens';
import { startFaultyUpstream, type FaultyUpstream } from './upstream';

interface SoakOptions {
  readonly requests: number;
  readonly concurrency: number;
  readonly floodTokens: number;
  readonly seed: number;
  readonly maxMinutes: number;
  readonly quick: boolean;
}

/** Share of the load each kind of request takes; the rest are refused tokens. */
const MIX = { whoami: 0.3, toolsList: 0.15, formatJson: 0.15, metadata: 0.1 } as const;
/** Each valid token is sent this many times: the first use reaches the authorizer, the rest may hit its cache. */
const USES_PER_VALID_TOKEN = 2;
/** The first requests warm every process up; latencies are measured from here. */
const WARMUP_SHARE = 0.1;
/**
 * Memory is judged on the rest of the load after this share, split into two equal phases. A
 * function process's heap keeps growing, in steps, for its first few thousand requests (V8 sizes
 * its young generation and old space to the load: the MCP function's 4 processes settle after
 * about 6,000 requests in all), so this warm-up is far longer than the latencies'.
 */
const MEMORY_WARMUP_SHARE = 0.5;
/** How often each function process's RSS is read. */
const MEMORY_SAMPLE_MS = 250;
/**
 * The stage's throttling, raised for the soak to API Gateway's account-level defaults: the local
 * gateway enforces the synthesized limits, and the stage's own (100 req/s) would turn the load
 * into a test of the throttle.
 */
/**
 * Beyond the timeout that bounds a response: one function process start (the MCP bundle loads in
 * up to about 1.7 s on a busy 2-core machine) and some queuing.
 */
const MARGIN_MS = 2500;

function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): SoakOptions {
  const flag = (name: string): string | undefined => {
    const index = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (index < 0) return undefined;
    const arg = argv[index];
    return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
  };
  const quick = argv.includes('--quick') || env.SOAK_QUICK === '1' || env.SOAK_QUICK === 'true';
  const integer = (name: string, variable: string, fallback: number, min: number, max: number): number => {
    const raw = flag(name) ?? env[variable];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max)
      throw new Error(`--${name} (${variable}) must be a whole number from ${min} to ${max}, got "${raw}".`);
    return value;
  };
  const requests = integer('requests', 'SOAK_REQUESTS', quick ? 12_000 : 20_000, 300, 1_000_000);
  return {
    quick,
    requests,
    concurrency: integer('concurrency', 'SOAK_CONCURRENCY', quick ? 16 : 32, 1, 512),
    floodTokens: integer('flood', 'SOAK_FLOOD_TOKENS', quick ? 300 : 2000, 10, 100_000),
    seed: integer('seed', 'SOAK_SEED', 20260707, 0, 2 ** 31 - 1),
    maxMinutes: integer('max-minutes', 'SOAK_MAX_MINUTES', quick ? 3 : 15, 1, 120),
  };
}

const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);

function buildLoad(
  options: SoakOptions,
  targets: ProbeTargets,
  valid: readonly SoakToken[],
  refused: readonly SoakToken[],
  random: () => number,
): Probe[] {
  const probes: Probe[] = [];
  let validUses = 0;
  let refusedUses = 0;
  for (let i = 0; i < options.requests; i++) {
    const draw = random();
    const modern = i % 2 === 1;
    // Uses of one token are a pool's length apart, so the second use finds the first one's cache entry.
    const nextValid = () => valid[validUses++ % valid.length];
    if (draw < MIX.whoami) probes.push(whoamiProbe(targets, nextValid(), i, modern));
    else if (draw < MIX.whoami + MIX.toolsList) probes.push(toolsListProbe(targets, nextValid(), i, modern));
    else if (draw < MIX.whoami + MIX.toolsList + MIX.formatJson)
      probes.push(formatJsonProbe(targets, nextValid(), i, modern, random));
    else if (draw < MIX.whoami + MIX.toolsList + MIX.formatJson + MIX.metadata) probes.push(metadataProbe(targets, i));
    else probes.push(whoamiProbe(targets, refused[refusedUses++ % refused.length], i, modern));
  }
  return probes;
}

async function soak(
  options: SoakOptions,
  scanner: TokenLeakScanner,
  register: (stop: () => Promise<void>) => void,
): Promise<SoakRow[]> {
  const runStarted = performance.now();
  const random = seededRandom(options.seed);
  progress(`starting the local stack (cdk synth, AuthKit stand-in, gateway)...`);
  const stack: LocalStack = await startLocalStack({
    port: 0,
    authkitPort: 0,
    autoApprove: true,
    testControls: true,
    throttlingLimits: LOAD_THROTTLING,
    // The default gate, whose result cache the soak exercises: the local stage's step-up challenge is turned off.
    context: { stepUpChallenge: 'false' },
    exposeGcToFunctions: true,
    log: scanner.onLine,
    onFunctionOutput: (_id, line) => scanner.onLine(line),
  });
  register(() => stack.stop());
  const upstream: FaultyUpstream = await startFaultyUpstream(`${stack.issuer}/oauth2/jwks`);
  register(() => upstream.close());
  const settings = readDeployedSettings(stack.cdkOut);
  const controls = authKitTestControls(stack.issuer);
  const tokens = new TokenFactory({ controls, resource: stack.urls.resource, issuer: stack.issuer });
  const targets: ProbeTargets = { sendTo: stack.gateway.url, publicUrls: stack.urls, issuer: stack.issuer };
  const startupMs = performance.now() - runStarted;

  // Tokens: every valid one for its own user; every refused one distinct.
  const validRequests = Math.ceil(options.requests * (MIX.whoami + MIX.toolsList + MIX.formatJson));
  const refusedRequests = Math.ceil(
    options.requests * (1 - MIX.whoami - MIX.toolsList - MIX.formatJson - MIX.metadata),
  );
  progress(
    `minting ${Math.ceil(validRequests / USES_PER_VALID_TOKEN)} valid and ${Math.ceil(refusedRequests / 3)} refusable tokens at the stand-in...`,
  );
  const mintStarted = performance.now();
  const valid = await tokens.valid(Math.ceil(validRequests / USES_PER_VALID_TOKEN));
  const signedInvalid = await tokens.signedInvalid(Math.ceil(refusedRequests / 3), random);
  const refused = [...signedInvalid, ...tokens.forged(refusedRequests - signedInvalid.length, random, valid)];
  for (let i = refused.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [refused[i], refused[j]] = [refused[j], refused[i]];
  }
  const mintMs = performance.now() - mintStarted;
  const sentTokens: SoakToken[] = [...valid, ...refused];

  // The load.
  const probes = buildLoad(options, targets, valid, refused, random);
  const warmup = Math.floor(options.requests * WARMUP_SHARE);
  const memoryFrom = Math.floor(options.requests * MEMORY_WARMUP_SHARE);
  const memoryMiddle = Math.floor((memoryFrom + options.requests) / 2);
  const sampler = new MemorySampler(stack.gateway);
  sampler.start(MEMORY_SAMPLE_MS);
  const measureHeaps = async (completed: number): Promise<HeapSample> => ({
    completed,
    heaps: await stack.gateway.measureHeaps(),
  });
  const heapSamples: Promise<HeapSample>[] = [];
  const fetchesBefore = await controls.jwksRequestCount();
  progress(`sending ${options.requests} requests at concurrency ${options.concurrency}...`);
  let nextReport = 0.1;
  const load = await runProbes(probes, {
    concurrency: options.concurrency,
    deadlineMs: 35_000,
    onProgress: (completed) => {
      sampler.completed = completed;
      // At the phase boundaries each function process reports its heap after a full collection.
      if (completed === memoryFrom || completed === memoryMiddle) heapSamples.push(measureHeaps(completed));
      if (completed >= options.requests * nextReport) {
        progress(`  ${completed} / ${options.requests}`);
        nextReport += 0.1;
      }
    },
  });
  sampler.stop();
  heapSamples.push(measureHeaps(options.requests));
  const [heapStart, heapMiddle, heapEnd] = await Promise.all(heapSamples);
  if (process.env.SOAK_MEMORY_TRACE) writeMemoryTrace(process.env.SOAK_MEMORY_TRACE, sampler, memoryFrom);
  const loadFetches = (await controls.jwksRequestCount()) - fetchesBefore;
  const stats = stack.gateway.stats();
  const authorizerStats = stats.functions[settings.authorizerFunctionId];
  const fetchBudget = (authorizerStats?.coldStarts ?? 0) * (1 + Math.floor(load.durationMs / settings.jwksCooldownMs));

  const rows: SoakRow[] = [];
  // Latencies after warm-up: the first requests pay for starting every function process.
  const measured = (accept: (kind: string) => boolean) =>
    probes.flatMap((probe, index) => (index >= warmup && accept(probe.kind) ? [load.latencyByIndex[index]] : []));
  const all = measured(() => true);
  const validLatencies = measured((kind) => kind.startsWith('tools/'));
  const refusedLatencies = measured((kind) => kind.startsWith('refused'));
  const metadataLatencies = measured((kind) => kind.startsWith('metadata'));
  const p50p99 = (values: number[]) => `p99 ${format(percentile(values, 99))} ms`;
  rows.push(
    {
      group: 'load',
      name: 'requests',
      value: load.sent,
      unit: 'req',
      note: `concurrency ${options.concurrency}, seed ${options.seed}, ${valid.length} valid + ${refused.length} refusable tokens`,
    },
    {
      group: 'load',
      name: 'throughput',
      value: load.sent / (load.durationMs / 1000),
      unit: 'req/s',
      note: `${format(load.durationMs / 1000)} s`,
    },
    {
      group: 'load',
      name: 'stage throttling, synthesized',
      value: LOAD_THROTTLING.rateLimit,
      unit: 'req/s',
      note: `burst ${format(LOAD_THROTTLING.burstLimit)}: raised from the stage's, so the load measures the system rather than the throttle`,
    },
    { group: 'load', name: 'unexpected statuses or bodies', value: load.unexpected, unit: 'req', target: { max: 0 } },
    {
      group: 'load',
      name: 'wrong decisions',
      value: load.wrongDecisions,
      unit: 'req',
      target: { max: 0 },
      note: 'valid refused, refusable allowed, or another user in whoami',
    },
    { group: 'load', name: 'latency p50 (after warm-up)', value: percentile(all, 50), unit: 'ms', note: p50p99(all) },
    {
      group: 'load',
      name: 'latency p50 valid MCP requests',
      value: percentile(validLatencies, 50),
      unit: 'ms',
      note: p50p99(validLatencies),
    },
    {
      group: 'load',
      name: 'latency p50 refused tokens',
      value: percentile(refusedLatencies, 50),
      unit: 'ms',
      note: p50p99(refusedLatencies),
    },
    {
      group: 'load',
      name: 'latency p50 metadata',
      value: percentile(metadataLatencies, 50),
      unit: 'ms',
      note: p50p99(metadataLatencies),
    },
    { group: 'load', name: 'latency p99 (after warm-up)', value: percentile(all, 99), unit: 'ms' },
    {
      group: 'load',
      name: 'latency max (whole load)',
      value: Math.max(...load.latencies),
      unit: 'ms',
      target: { max: 29_000 + MARGIN_MS },
      note: 'cold starts included; integration timeout 29 s + margin',
    },
    {
      group: 'load',
      name: 'authorizer invocations',
      value: authorizerStats?.invocations ?? 0,
      unit: 'calls',
      note: `gateway cache ${stats.authorizerCache.hits} hits / ${stats.authorizerCache.misses} misses`,
    },
    {
      group: 'load',
      name: 'JWKS fetches during the load',
      value: loadFetches,
      unit: 'fetches',
      target: { max: fetchBudget },
      note: `budget: ${authorizerStats?.coldStarts ?? 0} processes × cooldown windows`,
    },
  );
  const share = `${Math.round(SECOND_PHASE_SHARE_OF_FIRST * 100)}%`;
  const allowanceMb = GROWTH_ALLOWANCE_BYTES_PER_PROCESS / MB;
  const phase = Math.round((options.requests - memoryFrom) / 2);
  const lastRss = sampler.samples[sampler.samples.length - 1]?.rss;
  for (const growth of heapGrowth(heapStart, heapMiddle, heapEnd)) {
    const name = growth.functionId.replace(/[0-9A-F]{8}$/, '');
    const rss = [...(lastRss?.get(growth.functionId)?.values() ?? [])].reduce((sum, bytes) => sum + bytes, 0);
    rows.push(
      {
        group: 'memory',
        name: `${name} heap after a full collection, after ${memoryFrom} requests`,
        value: growth.startBytes / MB,
        unit: 'MB',
        note: `${growth.processes} processes measured at all three points, summed; RSS at the end ${format(rss / MB)} MB (uncollected garbage included)`,
      },
      {
        group: 'memory',
        name: `${name} heap growth after a full collection, 2nd phase`,
        value: growth.secondPhaseBytes / MB,
        unit: 'MB',
        target: { max: Math.round((growth.limitBytes / MB) * 10) / 10 },
        note:
          `two phases of ${phase} requests: 1st ${format(growth.firstPhaseBytes / MB)} MB; limit ${share} of it + ${allowanceMb} MB/process; ` +
          `${format(growth.secondPhaseSlopeBytesPer10k / MB)} MB per 10k requests`,
      },
    );
  }
  for (const example of load.examples) progress(`  ${example.outcome}: ${example.kind}: ${example.detail}`);

  // The faults. Those on the main gateway come before the key rotation, while its authorizer knows the signing key.
  const ctx: faults.SoakContext = {
    stack,
    controls,
    tokens,
    upstream,
    settings,
    random,
    targets,
    onLogLine: scanner.onLine,
    sentTokens,
    marginMs: MARGIN_MS,
  };
  const scenarios: Array<() => Promise<faults.FaultResult | faults.FaultResult[]>> = [
    () => faults.jwksDownWarm(ctx),
    () => faults.randomKidFlood(ctx, options.floodTokens, options.concurrency),
    () => faults.oversizedBody(ctx),
    () => faults.jwksOutageCold(ctx, 'down'),
    () => faults.jwksOutageCold(ctx, 'error'),
    () => faults.jwksOutageCold(ctx, 'slow'),
    () => faults.jwksOutageCold(ctx, 'html'),
    () => faults.keyRotation(ctx),
    () => faults.metadataUpstreamWithoutCopy(ctx, 'down'),
    () => faults.metadataUpstreamWithoutCopy(ctx, 'slow'),
    () => faults.metadataUpstreamWithCopy(ctx),
    () => faults.throwingFunctions(ctx),
  ];
  let wronglyAllowed = load.wrongDecisions;
  for (const scenario of scenarios) {
    const outcome = await scenario();
    for (const result of Array.isArray(outcome) ? outcome : [outcome]) {
      progress(
        `fault: ${result.name}: ${result.mismatches === 0 ? 'as expected' : `${result.mismatches} unexpected answers`}`,
      );
      for (const detail of result.details) progress(`  ${detail}`);
      wronglyAllowed += result.wronglyAllowed;
      rows.push(
        {
          group: 'faults',
          name: `${result.name}: answers not as expected`,
          value: result.mismatches,
          unit: 'req',
          target: { max: 0 },
          note: `${result.requests} requests; ${result.expected}`,
        },
        {
          group: 'faults',
          name: `${result.name}: slowest answer`,
          value: result.slowestMs,
          unit: 'ms',
          target: { max: result.limitMs },
        },
      );
      if (result.budget)
        rows.push({
          group: 'faults',
          name: `${result.name}: ${result.budget.name}`,
          value: result.budget.value,
          unit: result.budget.unit,
          target: { max: result.budget.max },
        });
    }
  }

  rows.push(
    {
      group: 'security',
      name: 'requests allowed that should not be (load + faults)',
      value: wronglyAllowed,
      unit: 'req',
      target: { max: 0 },
    },
    {
      group: 'security',
      name: 'tokens found in log lines',
      value: scanner.leaks(sentTokens),
      unit: 'tokens',
      target: { max: 0 },
      note: `${sentTokens.length} tokens, ${scanner.lines} gateway and function log lines; any ${LEAK_MIN_CHARS}+ characters of a token's header.payload or signature count`,
    },
    {
      group: 'run',
      name: 'duration',
      value: (performance.now() - runStarted) / 1000,
      unit: 's',
      note: `start-up ${format(startupMs / 1000)} s, minting ${format(mintMs / 1000)} s`,
    },
  );
  return rows;
}

function writeMemoryTrace(file: string, sampler: MemorySampler, memoryFrom: number): void {
  const samples = sampler.samples.map((sample) => ({
    completed: sample.completed,
    rss: Object.fromEntries([...sample.rss].map(([id, processes]) => [id, Object.fromEntries(processes)])),
  }));
  writeFileSync(file, JSON.stringify({ memoryFrom, samples }, null, 1));
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2), process.env);
  TokenLeakScanner.selfCheck();
  const scanner = new TokenLeakScanner();
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  const watchdog = setTimeout(() => {
    progress(`stopped: the run took longer than ${options.maxMinutes} minutes (--max-minutes)`);
    void stopAll().finally(() => process.exit(1));
  }, options.maxMinutes * 60_000);
  try {
    const rows = await soak(options, scanner, (stop) => stops.push(stop));
    printTable(rows);
    const missed = missedTargets(rows);
    for (const line of missed) progress(`target missed: ${line}`);
    if (missed.length > 0) process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    await stopAll();
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
