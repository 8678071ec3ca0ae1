/**
 * Runs probes at a fixed concurrency and keeps what the report needs: every judgement, every
 * latency, and samples of each function process's resident memory as the run goes on.
 */
import type { RunningGateway } from '../local/gateway';
import { send, type Probe, type Reply, type Verdict } from './probes';

export interface Failure {
  readonly kind: string;
  readonly outcome: 'unexpected' | 'wrong-decision';
  readonly detail: string;
}

export interface LoadResult {
  readonly sent: number;
  readonly durationMs: number;
  readonly latencies: readonly number[];
  /** Latency of each probe, by its position in the list given. */
  readonly latencyByIndex: readonly number[];
  readonly latenciesByKind: ReadonlyMap<string, number[]>;
  readonly statusesByKind: ReadonlyMap<string, Map<number, number>>;
  readonly unexpected: number;
  readonly wrongDecisions: number;
  /** The first few failures of each outcome, for the report. */
  readonly examples: readonly Failure[];
  readonly replies: readonly Reply[];
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Client-side deadline of one request. */
  readonly deadlineMs: number;
  /** Called after each completed request with the number completed so far. */
  readonly onProgress?: (completed: number) => void;
  /** Keep every reply (fault scenarios inspect them); the main load keeps only figures. */
  readonly keepReplies?: boolean;
}

export async function runProbes(probes: readonly Probe[], options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const latencyByIndex: number[] = new Array(probes.length);
  const latenciesByKind = new Map<string, number[]>();
  const statusesByKind = new Map<string, Map<number, number>>();
  const examples: Failure[] = [];
  const replies: Reply[] = new Array(options.keepReplies ? probes.length : 0);
  let unexpected = 0;
  let wrongDecisions = 0;
  let next = 0;
  let completed = 0;
  const started = performance.now();

  const record = (probe: Probe, reply: Reply, verdict: Verdict) => {
    latencies.push(reply.ms);
    const byKind = latenciesByKind.get(probe.kind) ?? [];
    byKind.push(reply.ms);
    latenciesByKind.set(probe.kind, byKind);
    const statuses = statusesByKind.get(probe.kind) ?? new Map<number, number>();
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    statusesByKind.set(probe.kind, statuses);
    if (verdict.outcome === 'ok') return;
    if (verdict.outcome === 'unexpected') unexpected++;
    else wrongDecisions++;
    if (examples.filter((e) => e.outcome === verdict.outcome).length < 5) examples.push({ kind: probe.kind, outcome: verdict.outcome, detail: verdict.detail });
  };

  const worker = async () => {
    while (next < probes.length) {
      const index = next++;
      const probe = probes[index];
      const reply = await send(probe, options.deadlineMs);
      if (options.keepReplies) replies[index] = reply;
      latencyByIndex[index] = reply.ms;
      record(probe, reply, probe.judge(reply));
      completed++;
      options.onProgress?.(completed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, probes.length) }, worker));
  return {
    sent: probes.length,
    durationMs: performance.now() - started,
    latencies,
    latencyByIndex,
    latenciesByKind,
    statusesByKind,
    unexpected,
    wrongDecisions,
    examples,
    replies,
  };
}

export interface MemorySample {
  /** Requests completed when the sample was taken. */
  readonly completed: number;
  /** Function logical id → process id → resident set size in bytes. */
  readonly rss: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

/** Samples each function process's RSS (from /proc, via the gateway) on an interval. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  completed = 0;

  constructor(private readonly gateway: RunningGateway) {}

  sample(): MemorySample {
    const rss = new Map<string, Map<number, number>>();
    for (const [id, stats] of Object.entries(this.gateway.stats().functions)) {
      rss.set(id, new Map(stats.processes.map((p) => [p.pid, p.rssBytes])));
    }
    const sample = { completed: this.completed, rss };
    this.samples.push(sample);
    return sample;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): MemorySample {
    clearInterval(this.timer);
    return this.sample();
  }
}

export interface MemoryTrend {
  readonly functionId: string;
  /** Processes alive both after warm-up and at the end. */
  readonly processes: number;
  readonly startBytes: number;
  readonly endBytes: number;
  /** The bound the end may not exceed: start × 1.5 + 16 MB per process. */
  readonly limitBytes: number;
  /** Least-squares slope over the samples after warm-up, in bytes per 10,000 requests (all processes together). */
  readonly slopeBytesPer10k: number;
}

export const RSS_GROWTH_FACTOR = 1.5;
export const RSS_GROWTH_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/**
 * The memory trend of each function after warm-up. Only processes that lived through the whole
 * measured span count, so a replaced process cannot hide or fake growth.
 */
export function memoryTrends(samples: readonly MemorySample[], warmupCompleted: number): MemoryTrend[] {
  const measured = samples.filter((s) => s.completed >= warmupCompleted);
  if (measured.length < 2) return [];
  const first = measured[0];
  const last = measured[measured.length - 1];
  const trends: MemoryTrend[] = [];
  for (const [functionId, startProcesses] of first.rss) {
    const endProcesses = last.rss.get(functionId) ?? new Map<number, number>();
    const pids = [...startProcesses.keys()].filter((pid) => endProcesses.has(pid));
    if (pids.length === 0) continue;
    const total = (sample: MemorySample) => pids.reduce((sum, pid) => sum + (sample.rss.get(functionId)?.get(pid) ?? NaN), 0);
    const startBytes = total(first);
    const endBytes = total(last);
    const points = measured.map((s) => [s.completed, total(s)] as const).filter(([, y]) => Number.isFinite(y));
    trends.push({
      functionId,
      processes: pids.length,
      startBytes,
      endBytes,
      limitBytes: startBytes * RSS_GROWTH_FACTOR + RSS_GROWTH_ALLOWANCE_BYTES * pids.length,
      slopeBytesPer10k: slope(points) * 10_000,
    });
  }
  return trends;
}

function slope(points: ReadonlyArray<readonly [number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
