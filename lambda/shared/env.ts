/**
 * Reading the Lambdas' environment. The rules live in the settings contracts (settings/); this
 * module keeps the names other modules import.
 */
import { type Env, parseWholeNumber, SettingValueError, type WholeNumberRange } from './settings/setting';

export { type Env, nonEmpty, type WholeNumberRange } from './settings/setting';
export { LOG_LEVELS, type LogLevel, parseLogLevel } from './settings/common';

/** Builds the caller's configuration error for `variable` with a sentence saying what is wrong. */
export type ConfigErrorFactory = (variable: string, problem: string) => Error;

/**
 * A whole-number setting: unset or blank gives `fallback`; anything but plain digits within
 * `[min, max]` is refused (no signs, decimals, exponents or units).
 */
export function readWholeNumber(env: Env, variable: string, range: WholeNumberRange, fail: ConfigErrorFactory): number {
  const raw = env[variable]?.trim();
  if (!raw) return range.fallback;
  try {
    return parseWholeNumber(raw, range);
  } catch (error) {
    if (error instanceof SettingValueError) throw fail(variable, error.message);
    throw error;
  }
}
