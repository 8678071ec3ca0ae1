/**
 * The rows of the function contracts (lambda/shared/settings) as the construct sees them: which
 * prop sets each row, checked against `AuthKitMcpServerProps` at compile time, and the generic
 * reading of a prop through its row. A row whose prop binding is not `byConstruct` needs nothing
 * else here: its prop is checked by the row's kind (a `Duration` in the row's unit, a whole number
 * within the row's bounds, a list item by item, text through the row's parser, a flag), and its
 * value lands in `ServerSettings` under the row's key, from where the function's environment takes it.
 */
import type { Duration } from 'aws-cdk-lib';
import { AUTHORIZER_SETTINGS } from '../lambda/shared/settings/authorizer';
import { MCP_SETTINGS } from '../lambda/shared/settings/mcp';
import { METADATA_SETTINGS } from '../lambda/shared/settings/metadata';
import type {
  DurationUnit,
  ListSetting,
  PropBinding,
  Setting,
  SettingsOf,
  WholeNumberRange,
} from '../lambda/shared/settings/setting';
import type { AuthKitMcpServerProps } from './authkit-mcp-server-props';
import { integer, throughListSetting, throughSetting, wholeDuration } from './prop-checks';

/** Every function's contract, by function. */
export const FUNCTION_TABLES = {
  authorizer: AUTHORIZER_SETTINGS,
  metadata: METADATA_SETTINGS,
  mcp: MCP_SETTINGS,
} as const;

/** Every row by its key; a key two functions share (e.g. `clockToleranceSeconds`) is one row, or rows alike in their binding. */
const ALL_ROWS = { ...AUTHORIZER_SETTINGS, ...METADATA_SETTINGS, ...MCP_SETTINGS };
type Rows = typeof ALL_ROWS;

/** The keys of the rows a prop sets, with the construct reading the prop by the row's kind. */
type GenericKey = {
  [K in keyof Rows]: Rows[K] extends { readonly prop: infer B }
    ? B extends { readonly byConstruct: true }
      ? never
      : K
    : never;
}[keyof Rows];

/** The props that set a row. */
type BoundProp = {
  [K in keyof Rows]: Rows[K] extends { readonly prop: { readonly name: infer P } } ? P : never;
}[keyof Rows];

/** The props of the rows that count a `Duration`. */
type DurationProp = {
  [K in keyof Rows]: Rows[K] extends { readonly prop: { readonly name: infer P; readonly unit: DurationUnit } }
    ? P
    : never;
}[keyof Rows];

/** Fails to compile when a row names a prop the props do not declare, or a `Duration` row a prop of another type. */
const PROPS_DECLARE_EVERY_ROW: [BoundProp] extends [keyof AuthKitMcpServerProps]
  ? [DurationProp] extends [
      {
        [P in keyof AuthKitMcpServerProps]: AuthKitMcpServerProps[P] extends Duration | undefined ? P : never;
      }[keyof AuthKitMcpServerProps],
    ]
    ? true
    : 'a Duration row names a prop that is not a Duration'
  : 'a row names a prop that AuthKitMcpServerProps does not declare' = true;
void PROPS_DECLARE_EVERY_ROW;

/** The prop bindings of the rows read generically from their props. */
export type GenericBinding = { [K in GenericKey]: Rows[K] extends { readonly prop: infer B } ? B : never }[GenericKey];

/**
 * The stage field a binding names: its `stage.field`, else the prop's name, suffixed `Ms` or
 * `Seconds` for a `Duration` (what {@link stageFieldOf} computes at run time).
 */
export type StageFieldName<B> = B extends { readonly stage: { readonly field: infer F extends string } }
  ? F
  : B extends { readonly name: infer N extends string; readonly unit: 'ms' }
    ? `${N}Ms`
    : B extends { readonly name: infer N extends string; readonly unit: 'seconds' }
      ? `${N}Seconds`
      : B extends { readonly name: infer N extends string }
        ? N
        : never;

/** The stage field of a row's prop, and the unit it counts a `Duration` in. */
export function stageFieldOf(binding: PropBinding): { readonly field: string; readonly unit?: DurationUnit } {
  const unit = binding.stage?.unit ?? binding.unit;
  const suffix = binding.unit === undefined ? '' : binding.unit === 'ms' ? 'Ms' : 'Seconds';
  return { field: binding.stage?.field ?? `${binding.name}${suffix}`, ...(unit === undefined ? {} : { unit }) };
}

/** The settings of the rows read generically from their props, under the rows' keys. */
export type PropRowSettings = Pick<SettingsOf<Rows>, GenericKey>;

/** A row with the binding of the prop that sets it. */
export type BoundRow = Setting<unknown> & { readonly prop: PropBinding };

/** Whether a row is set by a prop (its binding says which). */
export const isBound = (row: Setting<unknown>): row is BoundRow => row.prop !== undefined;

/** The rows the construct reads generically from their props, by key. */
export function genericRows(): [keyof PropRowSettings, BoundRow][] {
  return (Object.entries(ALL_ROWS) as [keyof Rows, Setting<unknown>][]).filter(
    (entry): entry is [keyof PropRowSettings, BoundRow] => isBound(entry[1]) && entry[1].prop.byConstruct !== true,
  );
}

/** The bounds of a whole-number row, when it is one. */
export const rangeOf = (row: Setting<unknown>): WholeNumberRange | undefined =>
  'range' in row ? (row.range as WholeNumberRange) : undefined;

/** Whether a row is a list whose items are checked one by one. */
export const isListRow = (row: Setting<unknown>): row is Setting<unknown> & ListSetting => 'checkItem' in row;

/** Whether a row is a flag (`true` or `false`, with a default). */
export const isFlagRow = (row: Setting<unknown>): boolean =>
  'fallback' in row && typeof (row as { fallback: unknown }).fallback === 'boolean';

/** One prop, checked by its row's kind. */
function readProp(row: BoundRow, value: unknown): unknown {
  const { name, unit, boundsNote } = row.prop;
  const range = rangeOf(row);
  if (unit !== undefined && range !== undefined) return wholeDuration(name, value as Duration | undefined, range, unit);
  if (range !== undefined && row.prop.falseForNone === true && value === false) return false;
  if (range !== undefined) return integer(name, value as number | undefined, range, boundsNote);
  if (isListRow(row)) return throughListSetting(name, row, value as readonly string[] | undefined);
  if (isFlagRow(row)) return value ?? (row as unknown as { fallback: boolean }).fallback;
  return throughSetting(name, row, value as string | undefined);
}

/**
 * The settings of every row a prop sets without a rule across fields, checked and defaulted.
 *
 * @throws AuthKitMcpServerPropsError naming the prop, the value and what to change.
 */
export function readPropRows(props: AuthKitMcpServerProps): PropRowSettings {
  const settings: Record<string, unknown> = {};
  for (const [key, row] of genericRows()) {
    settings[key] = readProp(row, (props as unknown as Record<string, unknown>)[row.prop.name]);
  }
  return settings as PropRowSettings;
}
