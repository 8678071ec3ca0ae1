/**
 * Runs probes at a fixed concurrency and keeps what the report needs: every judgement, every
 * latency, and samples of each function process's resident memory as the run goes on.
 */
import { median } from '../bench/harness';
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

export interface MemoryGrowth {
  readonly functionId: string;
  /** Processes alive through the whole measured span; only these are summed. */
  readonly processes: number;
  /** Summed RSS when the measured span starts (the heaps have settled through the warm-up). */
  readonly startBytes: number;
  /** RSS growth over the first of the two equal phases. */
  readonly firstPhaseBytes: number;
  /** RSS growth over the second phase: what the gate judges. */
  readonly secondPhaseBytes: number;
  /** The most the second phase may grow: a share of the first phase's growth plus a small allowance per process. */
  readonly limitBytes: number;
  /** Least-squares slope over the second phase, in bytes per 10,000 requests (all processes together). */
  readonly secondPhaseSlopeBytesPer10k: number;
}

/**
 * A heap that has settled grows less and less: the second phase adds a fraction of what the first
 * added. A leak grows by the same amount per request in both phases, so its second phase is about
 * as large as its first.
 */
export const SECOND_PHASE_SHARE_OF_FIRST = 0.25;
/**
 * GC noise: V8 still enlarges a settled process's old space now and then, by a page or a few MB,
 * and a boundary's level can catch one process just before or after such a step.
 */
export const GROWTH_ALLOWANCE_BYTES_PER_PROCESS = 2 * 1024 * 1024;

/**
 * The RSS growth of each function over two equal, consecutive phases of the load, `from` to the
 * middle and the middle to `to` (in requests completed). Only processes that lived through the
 * whole span count, so a replaced process can neither hide nor fake growth. A function none of
 * whose processes lived through the span is reported with NaN figures, which miss any target.
 * Each boundary's level is the median of the samples near it, so one sample taken mid-collection
 * does not decide the outcome.
 */
export function memoryGrowth(samples: readonly MemorySample[], from: number, to: number): MemoryGrowth[] {
  const measured = samples.filter((s) => s.completed >= from && s.completed <= to);
  if (measured.length < 3) throw new Error(`Only ${measured.length} memory samples between request ${from} and ${to}; the growth gate needs at least 3 (sample more often or send more requests).`);
  const first = measured[0];
  const last = measured[measured.length - 1];
  const middle = (from + to) / 2;
  const window = (to - from) / 20;
  const functionIds = new Set([...first.rss.keys(), ...last.rss.keys()]);
  const growth: MemoryGrowth[] = [];
  for (const functionId of functionIds) {
    const endProcesses = last.rss.get(functionId) ?? new Map<number, number>();
    const pids = [...(first.rss.get(functionId)?.keys() ?? [])].filter((pid) => endProcesses.has(pid));
    const total = (sample: MemorySample) => (pids.length === 0 ? NaN : pids.reduce((sum, pid) => sum + (sample.rss.get(functionId)?.get(pid) ?? NaN), 0));
    const points = measured.map((s) => [s.completed, total(s)] as const).filter(([, y]) => Number.isFinite(y));
    const levelAt = (at: number) => {
      const near = points.filter(([x]) => Math.abs(x - at) <= window).map(([, y]) => y);
      return near.length === 0 ? NaN : median(near);
    };
    const [start, mid, end] = [levelAt(from), levelAt(middle), levelAt(to)];
    const firstPhaseBytes = mid - start;
    growth.push({
      functionId,
      processes: pids.length,
      startBytes: start,
      firstPhaseBytes,
      secondPhaseBytes: end - mid,
      limitBytes: SECOND_PHASE_SHARE_OF_FIRST * Math.max(0, firstPhaseBytes) + GROWTH_ALLOWANCE_BYTES_PER_PROCESS * pids.length,
      secondPhaseSlopeBytesPer10k: slope(points.filter(([x]) => x >= middle)) * 10_000,
    });
  }
  return growth;
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
