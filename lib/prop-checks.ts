/**
 * How the construct checks one prop: a literal (no deploy-time token), a whole number or a
 * `Duration` within a row's bounds, text or a list through the row the function reads it with. Each
 * refusal names the prop, the value and what to write instead.
 */
import { Duration, Token } from 'aws-cdk-lib';
import {
  type DurationUnit,
  isWithin,
  type ListSetting,
  type Setting,
  type SettingValueError,
  tryRead,
  type WholeNumberRange,
} from '../lambda/shared/settings/setting';
import { ConstructError } from './errors';

export class AuthKitMcpServerPropsError extends ConstructError {
  readonly code = 'INVALID_PROPS';
  constructor(
    readonly prop: string,
    problem: string,
  ) {
    super(`AuthKitMcpServer: "${prop}" ${problem}`);
  }
}

/** `value`, refused when it is a deploy-time token. */
export function literal(prop: string, value: string): string {
  if (Token.isUnresolved(value)) {
    throw new AuthKitMcpServerPropsError(
      prop,
      'must be a literal string known at synth time, not a deploy-time token. Pass the value itself.',
    );
  }
  return value;
}

/** How a duration prop is counted, and how its bounds are worded. */
const UNITS = {
  seconds: {
    of: (duration: Duration) => duration.toSeconds({ integral: false }),
    make: Duration.seconds,
    bounds: ({ min, max }: WholeNumberRange) => `a whole number of seconds from ${min} to ${max}`,
  },
  ms: {
    of: (duration: Duration) => duration.toMilliseconds({ integral: false }),
    make: Duration.millis,
    bounds: ({ min, max }: WholeNumberRange) => `from ${min} ms to ${max} ms`,
  },
} as const;

/** A duration prop as a whole number of `unit` within `range` (its fallback when unset). */
export function wholeDuration(
  prop: string,
  value: Duration | undefined,
  range: WholeNumberRange,
  unit: DurationUnit,
): number {
  const duration = value ?? UNITS[unit].make(range.fallback);
  const n = UNITS[unit].of(duration);
  if (!isWithin(n, range)) {
    throw new AuthKitMcpServerPropsError(
      prop,
      `is ${duration.toHumanString()}; it must be ${UNITS[unit].bounds(range)}.`,
    );
  }
  return n;
}

/** A whole-number prop within `range` (its fallback when unset); `why` follows the bounds in the refusal. */
export function integer(prop: string, value: number | undefined, range: WholeNumberRange, why = ''): number {
  const n = value ?? range.fallback;
  if (!isWithin(n, range)) {
    throw new AuthKitMcpServerPropsError(
      prop,
      `is ${n}; it must be a whole number from ${range.min} to ${range.max}${why}.`,
    );
  }
  return n;
}

/**
 * A text prop read through the settings row that also reads it in the function, so the rule is
 * written once; a refused value names the prop and says what to write instead.
 */
export function throughSetting<T>(prop: string, setting: Pick<Setting<T>, 'read'>, value: string | undefined): T {
  const read = tryRead(setting, value === undefined ? undefined : literal(prop, value));
  if ('refusal' in read)
    throw new AuthKitMcpServerPropsError(prop, `is ${JSON.stringify(value)}; ${adviceOf(read.refusal)}`);
  return read.value;
}

export const adviceOf = (refusal: SettingValueError): string => refusal.advice ?? refusal.message;

/** The distinct trimmed items of a list prop, each checked as one item of the function's list setting. */
export function throughListSetting(prop: string, setting: ListSetting, value: readonly string[] | undefined): string[] {
  const items = [...new Set((value ?? []).map((item) => literal(prop, item).trim()))];
  for (const item of items) {
    const problem = setting.checkItem(item);
    if (problem !== undefined)
      throw new AuthKitMcpServerPropsError(prop, `contains ${JSON.stringify(item)}; ${problem}`);
  }
  return items;
}
