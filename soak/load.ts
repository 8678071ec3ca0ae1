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
    if (examples.filter((e) => e.outcome === verdict.outcome).length < 5)
      examples.push({ kind: probe.kind, outcome: verdict.outcome, detail: verdict.detail });
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
  /** Summed heap when the measured span starts (the heaps have settled through the warm-up). */
  readonly startBytes: number;
  /** Heap growth over the first of the two equal phases. */
  readonly firstPhaseBytes: number;
  /** Heap growth over the second phase: what the gate judges. */
  readonly secondPhaseBytes: number;
  /** The most the second phase may grow: a share of the first phase's growth plus a small allowance per process. */
  readonly limitBytes: number;
  /** The second phase's growth per 10,000 requests (all processes together). */
  readonly secondPhaseSlopeBytesPer10k: number;
}

/**
 * A heap that has settled grows less and less: the second phase adds a fraction of what the first
 * added. A leak grows by the same amount per request in both phases, so its second phase is about
 * as large as its first.
 */
export const SECOND_PHASE_SHARE_OF_FIRST = 0.25;
/** Noise in what a full collection leaves: caches and pools that fill up once, per process. */
export const GROWTH_ALLOWANCE_BYTES_PER_PROCESS = 1024 * 1024;

/** Each function process's V8 heap right after a full collection, when `completed` requests had been answered. */
export interface HeapSample {
  readonly completed: number;
  /** Function logical id → process id → heap bytes. */
  readonly heaps: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

/**
 * The growth of what each function keeps (its heap right after a full collection, so garbage V8
 * has not collected yet does not count, as it does in RSS) over two equal, consecutive phases of
 * the load: `start` to `middle` and `middle` to `end`. Only processes measured at all three points
 * count, so a replaced process can neither hide nor fake growth. A function none of whose
 * processes was measured at all three is reported with NaN figures, which miss any target.
 */
export function heapGrowth(start: HeapSample, middle: HeapSample, end: HeapSample): MemoryGrowth[] {
  const growth: MemoryGrowth[] = [];
  const phaseRequests = Math.max(1, end.completed - middle.completed);
  for (const functionId of new Set([...start.heaps.keys(), ...end.heaps.keys()])) {
    const at = (sample: HeapSample) => sample.heaps.get(functionId) ?? new Map<number, number>();
    const pids = [...at(start).keys()].filter((pid) => at(middle).has(pid) && at(end).has(pid));
    const total = (sample: HeapSample) =>
      pids.length === 0 ? NaN : pids.reduce((sum, pid) => sum + (at(sample).get(pid) ?? NaN), 0);
    const [a, b, c] = [total(start), total(middle), total(end)];
    growth.push({
      functionId,
      processes: pids.length,
      startBytes: a,
      firstPhaseBytes: b - a,
      secondPhaseBytes: c - b,
      limitBytes: SECOND_PHASE_SHARE_OF_FIRST * Math.max(0, b - a) + GROWTH_ALLOWANCE_BYTES_PER_PROCESS * pids.length,
      secondPhaseSlopeBytesPer10k: ((c - b) / phaseRequests) * 10_000,
    });
  }
  return growth;
}
