/**
 * The shared parts of `npm run bench`: timing that resists a noisy machine, and the row format
 * every benchmark module reports in.
 *
 * A benchmark never asserts a time on its own: every target is a ratio against a baseline
 * measured in the same run, interleaved with the subject so that both see the same load.
 */

export interface BenchRow {
  /** Which benchmark group the row belongs to, e.g. `token verification`. */
  readonly group: string;
  /** What was measured, e.g. `verifyAccessToken (warm JWKS)`. */
  readonly name: string;
  /** The measured figure. */
  readonly value: number;
  /** Its unit: `ns/op`, `bytes`, `req/s`, `ms`, `USD`, `x` (a ratio)... */
  readonly unit: string;
  /** For ratios: what the value is a ratio against. */
  readonly baseline?: string;
  /** The target, if any: the value must be at most `max` / at least `min`. */
  readonly target?: { readonly max?: number; readonly min?: number };
  /** Free text printed beside the row. */
  readonly note?: string;
}

export interface BenchModule {
  /** Runs the benchmark and returns its rows. */
  default: () => Promise<BenchRow[]>;
}

export function meetsTarget(row: BenchRow): boolean {
  if (!row.target) return true;
  if (row.target.max !== undefined && !(row.value <= row.target.max)) return false;
  if (row.target.min !== undefined && !(row.value >= row.target.min)) return false;
  return true;
}

export interface TimingOptions {
  /** Operations per sample. */
  readonly batch: number;
  /** Samples per subject (the median is reported). */
  readonly samples: number;
  /** Unmeasured warm-up operations per subject. */
  readonly warmup: number;
}

/** How one sample of `batch` operations is measured: a start mark, and the nanoseconds since it. */
interface Clock {
  start(): unknown;
  elapsedNs(mark: unknown): number;
}

const WALL_CLOCK: Clock = {
  start: () => process.hrtime.bigint(),
  elapsedNs: (mark) => Number(process.hrtime.bigint() - (mark as bigint)),
};

const CPU_CLOCK: Clock = {
  start: () => process.cpuUsage(),
  elapsedNs: (mark) => {
    const used = process.cpuUsage(mark as NodeJS.CpuUsage);
    return (used.user + used.system) * 1000;
  },
};

/**
 * Times several subjects in interleaved rounds (A B C, A B C, ...) and reports the median
 * nanoseconds per operation of each. Interleaving spreads the machine's noise over all subjects
 * alike, which keeps ratios meaningful even when absolute figures wander.
 */
export function compareNsPerOp(
  subjects: Record<string, () => unknown | Promise<unknown>>,
  options: TimingOptions,
): Promise<Record<string, number>> {
  return compareInterleaved(subjects, options, WALL_CLOCK);
}

/**
 * Like {@link compareNsPerOp}, but counts the CPU time this process spent (user + system) instead
 * of wall time. For CPU-bound work this is what a function is billed for, and it barely moves when
 * other processes compete for the machine, which stretches wall time but not CPU time.
 */
export function compareCpuNsPerOp(
  subjects: Record<string, () => unknown | Promise<unknown>>,
  options: TimingOptions,
): Promise<Record<string, number>> {
  return compareInterleaved(subjects, options, CPU_CLOCK);
}

async function compareInterleaved(
  subjects: Record<string, () => unknown | Promise<unknown>>,
  options: TimingOptions,
  clock: Clock,
): Promise<Record<string, number>> {
  const names = Object.keys(subjects);
  for (const name of names) {
    for (let i = 0; i < options.warmup; i++) await subjects[name]();
  }
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let s = 0; s < options.samples; s++) {
    for (const name of names) {
      const fn = subjects[name];
      const mark = clock.start();
      for (let i = 0; i < options.batch; i++) await fn();
      samples[name].push(clock.elapsedNs(mark) / options.batch);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}
