/**
 * What every function's settings contract is built from. A setting is one row: its environment
 * variable, how its value is written and read, its default (or that it is required) and a one-line
 * doc. The construct writes a function's environment from the rows and the function reads it back
 * through the same rows, so the two sides cannot disagree on a name, a format or a default.
 * AWS-free: the Lambdas bundle it.
 */
import { ContractError } from '../errors';

export type Env = Readonly<Record<string, string | undefined>>;

/** The trimmed value, or `undefined` when it is unset or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** What is wrong with one variable; each function words it in its own config error. */
export interface SettingProblem {
  readonly variable: string;
  /** `missing`: a required variable is unset or blank. `invalid`: it is set, to something unusable. */
  readonly reason: 'missing' | 'invalid';
  /** What is wrong and what to set, without the variable's name. */
  readonly message: string;
  /** For `missing`: what the variable should hold, e.g. "your AuthKit issuer, e.g. https://acme.authkit.app". */
  readonly expected?: string;
  readonly cause?: unknown;
}

/** Turns a problem into the reading function's own configuration error. */
export type ProblemReporter = (problem: SettingProblem) => Error;

/** Thrown by a row's `read`; {@link fromEnvironment} hands it to the reporter with the variable named. */
export class SettingValueError extends ContractError {
  override readonly name = 'SettingValueError';
  /** What to write instead, without the value: the construct words its prop errors with it. */
  readonly advice?: string;
  constructor(
    message: string,
    readonly reason: 'missing' | 'invalid' = 'invalid',
    readonly expected?: string,
    options?: { cause?: unknown; advice?: string },
  ) {
    super(message, options);
    if (options?.advice !== undefined) this.advice = options.advice;
  }
}

/** Refuses a value: `problem` names it (`"x" is not a log level`), `advice` says what to write instead. */
export function invalid(problem: string, advice: string): SettingValueError {
  return new SettingValueError(`${problem}; ${advice}`, 'invalid', undefined, { advice });
}

/** The unit a `Duration` prop is counted in, in its variable or its stage field. */
export type DurationUnit = 'seconds' | 'ms';

/**
 * How the construct sets a row: the prop of `AuthKitMcpServerProps` that sets it and, for a
 * `Duration` prop, the unit the variable counts. lib/ derives from it the checked prop, the
 * `ServerSettings` entry (under the row's key), the function's environment and the stage field.
 */
export interface PropBinding {
  /** The prop's name (lib/ checks at compile time that the props declare it). */
  readonly name: string;
  /** Set for a `Duration` prop: the unit the variable counts. */
  readonly unit?: DurationUnit;
  /**
   * The cdk.json stage field: its name and the unit it counts a `Duration` in. By default the prop's
   * name, suffixed `Seconds` or `Ms` for a duration, in the variable's unit.
   */
  readonly stage?: { readonly field: string; readonly unit?: DurationUnit };
  /** Said after the bounds when a whole-number prop is refused, e.g. " (Lambda's synchronous payload limit)". */
  readonly boundsNote?: string;
  /** The prop (and its stage field) takes `false` for none, which the row's value is too. */
  readonly falseForNone?: true;
  /**
   * The construct resolves this prop with its own code (a rule across fields, or a rule stricter
   * than the variable's), in lib/server-settings.ts; it still writes the row's key of `ServerSettings`.
   */
  readonly byConstruct?: true;
}

/** One environment variable of a function. */
export interface Setting<T> {
  readonly variable: string;
  /** One line: what the setting is for. */
  readonly doc: string;
  /** The prop that sets it; absent when the construct sets it from something else (see `source`). */
  readonly prop?: PropBinding;
  /** For a row no prop sets: where the construct takes its value from (a resource, another row). */
  readonly source?: string;
  /** The variable's text, or `undefined` to leave the variable out of the environment. */
  write(value: T): string | undefined;
  /**
   * The value of the variable's trimmed text (`undefined` when unset or blank).
   * @throws SettingValueError saying what is wrong.
   */
  read(text: string | undefined): T;
}

/** A function's contract: its settings by name. */
export type SettingsTable = Readonly<Record<string, Setting<unknown>>>;

/** `setting`, set by the prop `name` (and counted in `binding.unit` when the prop is a `Duration`). */
export function fromProp<
  S extends Pick<Setting<unknown>, 'variable'>,
  const P extends string,
  const B extends Omit<PropBinding, 'name'> = Record<never, never>,
>(setting: S, name: P, binding?: B): S & { readonly prop: B & { readonly name: P } } {
  return { ...setting, prop: { ...(binding ?? ({} as B)), name } };
}

/** `setting`, which the construct sets from `source` (a resource, another prop) rather than from a prop of its own. */
export function fromConstruct<S extends Pick<Setting<unknown>, 'variable'>>(
  setting: S,
  source: string,
): S & { readonly source: string } {
  return { ...setting, source };
}

/** The typed settings a contract carries. */
export type SettingsOf<T extends SettingsTable> = {
  readonly [K in keyof T]: T[K] extends Setting<infer V> ? V : never;
};

/** The environment that carries `settings`: one variable per row, optional ones left out when unset. */
export function toEnvironment<T extends SettingsTable>(table: T, settings: SettingsOf<T>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, setting] of Object.entries(table)) {
    const text = setting.write(settings[key as keyof T]);
    if (text !== undefined) env[setting.variable] = text;
  }
  return env;
}

/**
 * The settings an environment carries, with the defaults applied.
 *
 * @throws the reporter's error for the first variable that is missing or malformed.
 */
export function fromEnvironment<T extends SettingsTable>(table: T, env: Env, report: ProblemReporter): SettingsOf<T> {
  const settings: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(table)) {
    settings[key] = readSetting(setting, env, report);
  }
  return settings as SettingsOf<T>;
}

/** One setting from the environment. */
export function readSetting<T>(setting: Pick<Setting<T>, 'variable' | 'read'>, env: Env, report: ProblemReporter): T {
  try {
    return setting.read(nonEmpty(env[setting.variable]));
  } catch (error) {
    if (!(error instanceof SettingValueError)) throw error;
    throw report({
      variable: setting.variable,
      reason: error.reason,
      message: error.message,
      ...(error.expected === undefined ? {} : { expected: error.expected }),
      ...(error.cause === undefined ? {} : { cause: error.cause }),
    });
  }
}

/**
 * Reads `text` through a setting, handing back its refusal instead of throwing it, so a caller with
 * its own error (a prop, a stage field) words the problem while the setting keeps the rule.
 */
export function tryRead<T>(
  setting: Pick<Setting<T>, 'read'>,
  text: string | undefined,
): { readonly value: T } | { readonly refusal: SettingValueError } {
  try {
    return { value: setting.read(text) };
  } catch (error) {
    if (error instanceof SettingValueError) return { refusal: error };
    throw error;
  }
}

/** Inclusive bounds of a whole-number setting, with its default. */
export interface WholeNumberRange {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

/** Whether `value` is a whole number within the range. */
export function isWithin(value: number, range: Pick<WholeNumberRange, 'min' | 'max'>): boolean {
  return Number.isSafeInteger(value) && value >= range.min && value <= range.max;
}

/**
 * The whole number in `raw`: plain digits only (no signs, decimals, exponents or units).
 * @throws SettingValueError naming the range and the default.
 */
export function parseWholeNumber(raw: string, range: WholeNumberRange): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!isWithin(value, range)) {
    throw new SettingValueError(
      `"${raw}" is not a whole number from ${range.min} to ${range.max}; set one in that range, or leave it unset for ${range.fallback}.`,
    );
  }
  return value;
}

/** How one variable is written and parsed; `required`, `withDefault` and `optional` make a setting of it. */
export interface Row<T> {
  readonly variable: string;
  readonly doc: string;
  write(value: T): string | undefined;
  /** Reads set, non-blank text. */
  parse(text: string): T;
}

/** A variable that must be set. */
export function required<T>(row: Row<T>, expected: string): Setting<T> {
  return {
    variable: row.variable,
    doc: row.doc,
    write: (value) => row.write(value),
    read(text) {
      if (text === undefined) throw new SettingValueError(`not set; set it to ${expected}.`, 'missing', expected);
      return row.parse(text);
    },
  };
}

/** A variable that falls back to `fallback` when unset. */
export function withDefault<T>(row: Row<T>, fallback: T): Setting<T> & { readonly fallback: T } {
  return {
    variable: row.variable,
    doc: row.doc,
    fallback,
    write: (value) => row.write(value),
    read: (text) => (text === undefined ? fallback : row.parse(text)),
  };
}

/** A variable that may be absent, and is left out of the environment when its value is. */
export function optional<T>(row: Row<T>): Setting<T | undefined> {
  return {
    variable: row.variable,
    doc: row.doc,
    write: (value) => (value === undefined ? undefined : row.write(value)),
    read: (text) => (text === undefined ? undefined : row.parse(text)),
  };
}

/** Free text. */
export function text(variable: string, doc: string): Row<string> {
  return { variable, doc, write: (value) => value, parse: (value) => value };
}

/** A whole number within `range` (its `fallback` is named in the error, and is the default with {@link wholeNumber}). */
export function wholeNumberRow(variable: string, range: WholeNumberRange, doc: string): Row<number> {
  return { variable, doc, write: (value) => String(value), parse: (raw) => parseWholeNumber(raw, range) };
}

/** A whole number within `range`, defaulting to its `fallback`. */
export function wholeNumber(variable: string, range: WholeNumberRange, doc: string) {
  return { ...withDefault(wholeNumberRow(variable, range, doc), range.fallback), range };
}

/** A whole number within `range` that may be absent (its `fallback` is named in the error only). */
export function optionalWholeNumber(variable: string, range: WholeNumberRange, doc: string) {
  return { ...optional(wholeNumberRow(variable, range, doc)), range };
}

/** `true` or `false`. */
export function flag(variable: string, fallback: boolean, doc: string) {
  return withDefault<boolean>(
    {
      variable,
      doc,
      write: (value) => String(value),
      parse(raw) {
        if (raw === 'true') return true;
        if (raw === 'false') return false;
        throw new SettingValueError(`"${raw}" is not a boolean; set 'true' or 'false'.`);
      },
    },
    fallback,
  );
}

export interface ListFormat {
  /** Written between items. */
  readonly separator: string;
  /** Read between items (more lenient than what is written). */
  readonly split: RegExp;
  /** Leave the variable out when the list is empty (otherwise it is set to ''). */
  readonly omitWhenEmpty: boolean;
  /** Refuses a bad item with the problem; `undefined` when the item is fine. */
  readonly check?: (item: string) => string | undefined;
  /** What one item must be, without the value (e.g. "an audience is one value without spaces"). */
  readonly item?: string;
}

/** A list setting, with the check of one item that a list given item by item (a prop) goes through. */
export interface ListSetting extends Setting<readonly string[]> {
  /**
   * The problem with one item (empty, holding a separator, or refused by the format), worded as the
   * format's `item` rule when it has one; `undefined` when the item is fine.
   */
  checkItem(item: string): string | undefined;
}

/** A list of distinct items in their first order; unset reads as an empty list. */
export function list(variable: string, format: ListFormat, doc: string): ListSetting {
  return {
    variable,
    doc,
    write: (items) => (items.length === 0 && format.omitWhenEmpty ? undefined : items.join(format.separator)),
    read(raw) {
      const items = [...new Set((raw ?? '').split(format.split).filter((item) => item !== ''))];
      for (const item of items) {
        const problem = format.check?.(item);
        if (problem !== undefined) throw new SettingValueError(problem);
      }
      return items;
    },
    checkItem(item) {
      const problem =
        item === '' || item.split(format.split).length > 1
          ? `"${item}" is not one item: it is empty or holds a separator.`
          : format.check?.(item);
      return problem === undefined ? undefined : (format.item ?? problem);
    },
  };
}
