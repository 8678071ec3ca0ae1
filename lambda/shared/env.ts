/**
 * Reading the Lambdas' environment: one spelling of "unset", one rule for whole numbers and log
 * levels, whichever function reads them. Each caller wraps the problem in its own config error,
 * which names the variable.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** Builds the caller's configuration error for `variable` with a sentence saying what is wrong. */
export type ConfigErrorFactory = (variable: string, problem: string) => Error;

/** The trimmed value, or `undefined` when it is unset or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

export interface WholeNumberRange {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

/**
 * A whole-number setting: unset or blank gives `fallback`; anything but plain digits within
 * `[min, max]` is refused (no signs, decimals, exponents or units).
 */
export function readWholeNumber(env: Env, variable: string, range: WholeNumberRange, fail: ConfigErrorFactory): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return range.fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw fail(
      variable,
      `"${raw}" is not a whole number from ${range.min} to ${range.max}; set one in that range, or leave it unset for ${range.fallback}.`,
    );
  }
  return value;
}

/** Powertools log levels, as `POWERTOOLS_LOG_LEVEL` and the construct's `logLevel` prop accept them. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A log level in any case, upper-cased; `undefined` when it is not one. */
export function parseLogLevel(value: string): LogLevel | undefined {
  const upper = value.trim().toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(upper) ? (upper as LogLevel) : undefined;
}
