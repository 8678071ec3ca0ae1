/**
 * The stage settings of cdk.json as the JSON view of the construct's props: one row per field,
 * saying how the field is checked, how `-c field=value` text is read, and which prop it sets
 * (durations in seconds instead of `Duration`). The loader (stage-config.ts) checks the fields
 * with these rows, and the stack turns a stage into props with them. The field of a prop that sets
 * a function's settings row is derived from that row (its name, unit and bounds); the rest are
 * written here.
 */
import { Duration } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AUTHORIZER_SETTINGS, tokenAlgorithmRefusal } from '../lambda/shared/settings/authorizer';
import {
  authkitIssuerSetting,
  deploymentServiceName,
  LOG_LEVELS,
  logLevel,
  publicBaseUrl,
} from '../lambda/shared/settings/common';
import { RESPONSE_TRANSFER_MODES, type ResponseTransferMode } from '../lambda/shared/settings/mcp';
import {
  type DurationUnit,
  isWithin,
  type ListSetting,
  type Setting,
  tryRead,
  type WholeNumberRange,
} from '../lambda/shared/settings/setting';
import { TOKEN_ALGORITHMS } from '../lambda/shared/token-policy';
import type { AuthKitMcpServerProps } from '../lib/authkit-mcp-server-props';
import { API_STAGE_NAME, AUTHORIZER_CACHE_TTL_SECONDS } from '../lib/server-settings';
import {
  type BoundRow,
  type GenericBinding,
  genericRows,
  isFlagRow,
  isListRow,
  rangeOf,
  type StageFieldName,
  stageFieldOf,
} from '../lib/setting-rows';

/** A custom domain, as written in cdk.json (the certificate and zone by reference). */
export interface StageCustomDomain {
  /** e.g. `mcp.example.com`. */
  readonly domainName: string;
  /** ARN of an ACM certificate for `domainName` in the stage's region. */
  readonly certificateArn: string;
  /** Route 53 hosted zone id in which to create the alias record; requires `hostedZoneName`. */
  readonly hostedZoneId?: string;
  /** The hosted zone's domain name, e.g. `example.com`; requires `hostedZoneId`. */
  readonly hostedZoneName?: string;
}

/** The props a stage sets as they are (the JSON value is the prop's value), with their docs on the props. */
type VerbatimProps = Pick<
  AuthKitMcpServerProps,
  | 'publicBaseUrl'
  | 'disableExecuteApiEndpoint'
  | 'requiredScopes'
  | 'scopesSupported'
  | 'acceptedAudiences'
  | 'allowMultipleAudiences'
  | 'allowedOrganizations'
  | 'requireOrganization'
  | 'tokenAlgorithms'
  | 'resourceName'
  | 'resourceDocumentation'
  | 'throttlingRateLimit'
  | 'throttlingBurstLimit'
  | 'allowedOrigins'
  | 'maxRequestBodyBytes'
  | 'authorizerMemorySize'
  | 'metadataMemorySize'
  | 'mcpMemorySize'
  | 'maxConcurrentRequestsPerCaller'
  | 'workosApiBaseUrl'
  | 'responseTransferMode'
  | 'rateLimitPerIp'
  | 'tracing'
  | 'monitoring'
  | 'logLevel'
  | 'apiGatewayCloudWatchRole'
  | 'webAclArn'
  | 'serviceName'
  | 'metricsNamespace'
>;

/**
 * One stage of cdk.json (`context.stages.<name>`): the JSON view of the construct's props. Props taken as they are keep their
 * names and types; durations are whole seconds (`<prop>Seconds`), and the stack reads the rest itself.
 */
export interface StageConfig extends VerbatimProps {
  /** The stage's key in the `stages` map; the stack is named `McpServer-<name>`. */
  readonly name: string;
  /** AWS account to deploy to. Without it the stack is environment-agnostic. */
  readonly account?: string;
  /** AWS region to deploy to. Without it the stack is environment-agnostic. */
  readonly region?: string;
  /** AuthKit domain (`acme.authkit.app`); `-c authkitDomain=...` overrides it. Required. */
  readonly authkitDomain: string;
  readonly customDomain?: StageCustomDomain;
  /** API Gateway stage name; defaults to the stage's name. */
  readonly apiStageName?: string;
  readonly authorizerCacheTtlSeconds?: number;
  /** Allowed clock skew for a token's `exp` and `nbf`, in seconds (0 to 300). */
  readonly clockToleranceSeconds?: number;
  /** Upper bound of one JWKS fetch, in milliseconds (1 to 3000): the prop takes sub-second values. */
  readonly jwksTimeoutMs?: number;
  /** Minimum time between JWKS fetches for an unknown key id, in milliseconds (0 to 3600000). */
  readonly jwksCooldownMs?: number;
  /** How long the copy of AuthKit's metadata is served before it is refetched, in seconds (1 to 86400). */
  readonly authorizationServerMetadataCacheTtlSeconds?: number;
  /** One of CloudWatch Logs' retention values in days (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653). */
  readonly logRetentionDays?: number;
  /** The `/mcp` integration timeout in seconds (streaming: up to 900, buffered: up to 29). */
  readonly mcpTimeoutSeconds?: number;
  /** Reserved concurrency of the MCP function, or `false` (or absent) to reserve none; the shipped `prod` stage asks for 100. */
  readonly mcpReservedConcurrency?: number | false;
  /** Longest hold of one `subscriptions/listen` stream, in seconds (streaming only). */
  readonly subscriptionMaxDurationSeconds?: number;
  /** The window of `rateLimitPerIp` in seconds: 60, 120, 300 or 600. */
  readonly rateLimitWindowSeconds?: number;
  /** The secret holding the WorkOS API key, by ARN; the stack imports it as `workosApiKeySecret`. */
  readonly workosApiKeySecretArn?: string;
  /** The secret holding the WorkOS API key, by name (instead of the ARN). */
  readonly workosApiKeySecretName?: string;
  /** How long a person's role and permissions are cached, in seconds (0 to 3600). */
  readonly permissionsCacheTtlSeconds?: number;
  /** Turn the step-up challenge on (prop `stepUpChallenge`, with the tool scopes the app passes the stack). */
  readonly stepUpChallenge?: boolean;
}

/**
 * The props no stage field sets, each for its reason: `customDomain` takes a certificate and a zone
 * the stack looks up from the stage's `customDomain` field; `mcpHandler` is code, and
 * `requestStateSecret` a secret object and `alarmActions` action objects (an SNS topic, a Lambda
 * function), none of which JSON can hold; `workosApiKeySecret` is a secret object too, which the
 * stack imports from the stage's `workosApiKeySecretArn` or `workosApiKeySecretName`;
 * `stepUpChallenge` takes the MCP handler's tool scopes, derived from its tool definitions by the
 * app, which the stack passes when the stage's `stepUpChallenge` field is true.
 */
export const PROPS_WITHOUT_STAGE_FIELD = [
  'customDomain',
  'mcpHandler',
  'requestStateSecret',
  'workosApiKeySecret',
  'alarmActions',
  'stepUpChallenge',
] as const;

/** The props a stage field may set. */
export type StageProps = Partial<Omit<AuthKitMcpServerProps, (typeof PROPS_WITHOUT_STAGE_FIELD)[number]>>;
type PropName = keyof StageProps;

/** One field of a stage. */
export interface StageField {
  /** The problem with a JSON value (e.g. `must be true or false, got "yes".`), or `undefined` when it is fine. */
  check(value: unknown): string | undefined;
  /** The JSON value `-c field=TEXT` stands for; text that does not parse is kept, for `check` to refuse. */
  fromCommandLine(text: string): unknown;
  /** The prop the field sets; none for fields the stack reads itself (account, region, customDomain). */
  readonly prop?: PropName;
  /** Checked even when absent: `check(undefined)` says what to set. */
  readonly required?: true;
  /** The prop value of a checked JSON value. */
  toProp(value: unknown): unknown;
  /** The JSON value of a prop value: the inverse of `toProp`. */
  fromProp(value: unknown): unknown;
}

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);
const asNumber = (text: string): unknown => (/^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text);
const asBoolean = (text: string): unknown => (text === 'true' ? true : text === 'false' ? false : text);
const asList = (text: string): unknown => text.split(/[\s,]+/).filter((item) => item !== '');
const same = (value: unknown): unknown => value;
const isPositiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

function field(
  prop: PropName | undefined,
  check: (value: unknown) => string | undefined,
  fromCommandLine: (text: string) => unknown = same,
): StageField {
  return { ...(prop === undefined ? {} : { prop }), check, fromCommandLine, toProp: same, fromProp: same };
}

const text = (prop?: PropName) =>
  field(prop, (value) =>
    typeof value === 'string' && value.trim() !== '' ? undefined : `must be a non-empty string, got ${show(value)}.`,
  );
const bool = (prop: PropName) =>
  field(
    prop,
    (value) => (typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}.`),
    asBoolean,
  );
const positiveNumber = (prop: PropName) =>
  field(
    prop,
    (value) =>
      typeof value === 'number' && Number.isFinite(value) && value > 0
        ? undefined
        : `must be a positive number, got ${show(value)}.`,
    asNumber,
  );
const positiveInteger = (prop: PropName) =>
  field(
    prop,
    (value) => (isPositiveInteger(value) ? undefined : `must be a positive whole number, got ${show(value)}.`),
    asNumber,
  );
const stringList = (prop: PropName) =>
  field(
    prop,
    (value) =>
      Array.isArray(value) && value.every((item) => typeof item === 'string' && item.trim() !== '')
        ? undefined
        : `must be a list of non-empty strings, e.g. ["a", "b"], got ${show(value)}.`,
    asList,
  );

/** How a `Duration` prop is written in a stage: whole seconds, or whole milliseconds where it takes less. */
const DURATION_UNITS = {
  seconds: { name: 'seconds', make: Duration.seconds, of: (d: Duration) => d.toSeconds() },
  ms: { name: 'milliseconds', make: Duration.millis, of: (d: Duration) => d.toMilliseconds() },
} as const;

/** A `Duration` prop written as a whole number of `unit`: positive, or within `range` when given. */
function duration(
  prop: PropName,
  range?: WholeNumberRange,
  minMeaning = '',
  unit: DurationUnit = 'seconds',
): StageField {
  const { name, make, of } = DURATION_UNITS[unit];
  const check = (value: unknown): string | undefined => {
    if (range === undefined)
      return isPositiveInteger(value) ? undefined : `must be a positive whole number, got ${show(value)}.`;
    return typeof value === 'number' && isWithin(value, range)
      ? undefined
      : `must be a whole number of ${name} from ${range.min}${minMeaning} to ${range.max}, got ${show(value)}.`;
  };
  return {
    prop,
    check,
    fromCommandLine: asNumber,
    toProp: (value) => make(value as number),
    fromProp: (value) => of(value as Duration),
  };
}
const seconds = (prop: PropName, range?: WholeNumberRange, minMeaning = '') => duration(prop, range, minMeaning);

/** A whole-number prop within `range`, or `false` for none when `falseForNone`; `note` follows the bounds. */
const wholeNumber = (prop: PropName, range: WholeNumberRange, note = '', falseForNone = false) =>
  field(
    prop,
    (value) =>
      (falseForNone && value === false) || (typeof value === 'number' && isWithin(value, range))
        ? undefined
        : `must be a whole number from ${range.min} to ${range.max}${note}, got ${show(value)}.`,
    (text) => (falseForNone && text === 'false' ? false : asNumber(text)),
  );

/** A text field checked by the settings row the function reads it with. */
const settingText = (prop: PropName, setting: Pick<Setting<unknown>, 'read'>) =>
  field(prop, (value) =>
    typeof value === 'string' ? problemOf(setting, value) : `must be a string, got ${show(value)}.`,
  );

/** A list field whose items are checked by the list setting the function reads them with. */
const settingList = (prop: PropName, setting: Pick<ListSetting, 'checkItem'>) =>
  field(
    prop,
    (value) => {
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
        return `must be a list of strings, e.g. ["a", "b"], got ${show(value)}.`;
      const refused = value.find((item) => setting.checkItem(item.trim()) !== undefined);
      return refused === undefined
        ? undefined
        : `contains ${show(refused)}, which is refused: ${setting.checkItem(refused.trim())}`;
    },
    asList,
  );

/** A range counted in `from` as counted in `to` (a row in milliseconds, its stage field in seconds). */
function inUnit(range: WholeNumberRange, from: DurationUnit, to: DurationUnit): WholeNumberRange {
  const factor = from === to ? 1 : from === 'ms' ? 1 / 1000 : 1000;
  const counted = { fallback: range.fallback * factor, min: range.min * factor, max: range.max * factor };
  if (!Object.values(counted).every(Number.isSafeInteger))
    throw new Error(`A stage field in ${to} cannot count the bounds ${range.min} to ${range.max} ${from}.`);
  return counted;
}

/** The stage field of a row a prop sets, by the row's kind: its name, unit and bounds are the row's. */
function rowField(row: BoundRow): StageField {
  const prop = row.prop.name as PropName;
  const range = rangeOf(row);
  const { unit } = stageFieldOf(row.prop);
  if (row.prop.unit !== undefined && range !== undefined && unit !== undefined)
    return duration(prop, inUnit(range, row.prop.unit, unit), '', unit);
  if (range !== undefined) return wholeNumber(prop, range, row.prop.boundsNote, row.prop.falseForNone === true);
  if (isListRow(row)) return settingList(prop, row);
  if (isFlagRow(row)) return bool(prop);
  return settingText(prop, row);
}

/** The field of every row a prop sets without a rule across fields, named by the row's binding. */
type RowFieldName = StageFieldName<GenericBinding>;
const ROW_FIELDS = Object.fromEntries(
  genericRows().map(([, row]) => [stageFieldOf(row.prop).field, rowField(row)]),
) as Record<RowFieldName, StageField>;

/** Fails to compile when a row's stage field is not a field of `StageConfig`. */
const STAGE_CONFIG_DECLARES_EVERY_ROW: [RowFieldName] extends [keyof StageConfig]
  ? true
  : 'a row names a stage field that StageConfig does not declare' = true;
void STAGE_CONFIG_DECLARES_EVERY_ROW;

const RETENTION_DAYS = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');

/** Every field of a stage, in the order the loader checks them. */
export const STAGE_FIELDS: Readonly<Record<Exclude<keyof StageConfig, 'name'>, StageField>> = {
  account: field(undefined, (value) =>
    typeof value === 'string' && /^\d{12}$/.test(value)
      ? undefined
      : `must be a 12-digit AWS account id as a string, got ${show(value)}.`,
  ),
  region: field(undefined, (value) =>
    typeof value === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(value)
      ? undefined
      : `must be an AWS region such as "us-east-1", got ${show(value)}.`,
  ),
  authkitDomain: { ...field('authkitDomain', checkAuthkitDomain), required: true },
  publicBaseUrl: field('publicBaseUrl', checkPublicBaseUrl),
  // Checked field by field by the loader: its problems name the nested field.
  customDomain: field(undefined, () => undefined, parseJson),
  disableExecuteApiEndpoint: bool('disableExecuteApiEndpoint'),
  apiStageName: field('stageName', (value) =>
    typeof value === 'string' && API_STAGE_NAME.test(value)
      ? undefined
      : `must be 1 to 128 letters, digits, hyphens or underscores, got ${show(value)}.`,
  ),
  requiredScopes: stringList('requiredScopes'),
  scopesSupported: stringList('scopesSupported'),
  allowedOrganizations: settingList('allowedOrganizations', AUTHORIZER_SETTINGS.allowedOrganizations),
  requireOrganization: bool('requireOrganization'),
  tokenAlgorithms: field(
    'tokenAlgorithms',
    (value) =>
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((alg) => typeof alg === 'string' && tokenAlgorithmRefusal(alg) === undefined)
        ? undefined
        : `must be a non-empty list from ${TOKEN_ALGORITHMS.join(', ')}, got ${show(value)}.`,
    asList,
  ),
  authorizerCacheTtlSeconds: seconds('authorizerCacheTtl', AUTHORIZER_CACHE_TTL_SECONDS, ' (no cache)'),
  resourceName: text('resourceName'),
  resourceDocumentation: text('resourceDocumentation'),
  throttlingRateLimit: positiveNumber('throttlingRateLimit'),
  throttlingBurstLimit: positiveInteger('throttlingBurstLimit'),
  logRetentionDays: field(
    'logRetention',
    (value) =>
      typeof value === 'number' && RETENTION_DAYS.includes(value)
        ? undefined
        : `must be one of CloudWatch Logs' retention periods in days (${RETENTION_DAYS.join(', ')}), got ${show(value)}.`,
    asNumber,
  ),
  allowedOrigins: stringList('allowedOrigins'),
  authorizerMemorySize: positiveInteger('authorizerMemorySize'),
  metadataMemorySize: positiveInteger('metadataMemorySize'),
  mcpMemorySize: positiveInteger('mcpMemorySize'),
  responseTransferMode: field('responseTransferMode', (value) =>
    RESPONSE_TRANSFER_MODES.includes(value as ResponseTransferMode)
      ? undefined
      : `must be "stream" or "buffered", got ${show(value)}.`,
  ),
  mcpTimeoutSeconds: seconds('mcpTimeout'),
  mcpReservedConcurrency: field(
    'mcpReservedConcurrency',
    (value) =>
      value === false || isPositiveInteger(value)
        ? undefined
        : `must be a positive whole number, or false to reserve none, got ${show(value)}.`,
    (text) => (text === 'false' ? false : /^\d+$/.test(text.trim()) ? Number(text) : text),
  ),
  subscriptionMaxDurationSeconds: seconds('subscriptionMaxDuration'),
  workosApiKeySecretArn: field(undefined, (value) =>
    typeof value === 'string' && /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(value)
      ? undefined
      : `must be the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), got ${show(value)}.`,
  ),
  workosApiKeySecretName: text(),
  stepUpChallenge: field(
    undefined,
    (value) => (typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}.`),
    asBoolean,
  ),
  rateLimitPerIp: positiveInteger('rateLimitPerIp'),
  rateLimitWindowSeconds: seconds('rateLimitWindow'),
  tracing: bool('tracing'),
  monitoring: bool('monitoring'),
  ...ROW_FIELDS,
  // The row's field, worded as the list of levels.
  logLevel: {
    ...ROW_FIELDS.logLevel,
    check: (value) =>
      readsAs(logLevel, value) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}, got ${show(value)}.`,
  },
  apiGatewayCloudWatchRole: bool('apiGatewayCloudWatchRole'),
  webAclArn: text('webAclArn'),
  serviceName: settingText('serviceName', deploymentServiceName),
};

function checkAuthkitDomain(value: unknown): string | undefined {
  if (value === undefined)
    return 'is missing. Set it to your AuthKit domain from the WorkOS dashboard, e.g. "acme.authkit.app", or pass -c authkitDomain=....';
  if (typeof value !== 'string') return `must be a string such as "acme.authkit.app", got ${show(value)}.`;
  return problemOf(authkitIssuerSetting, value);
}

function checkPublicBaseUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a URL string, got ${show(value)}.`;
  return problemOf(publicBaseUrl, value);
}

/** Whether `value` is text the function's settings row accepts. */
function readsAs(setting: Pick<Setting<unknown>, 'read'>, value: unknown): boolean {
  return typeof value === 'string' && !('refusal' in tryRead(setting, value));
}

/** A text field checked by the function's own settings row, so the rule is the one the function applies. */
function problemOf(setting: Pick<Setting<unknown>, 'read'>, value: string): string | undefined {
  const read = tryRead(setting, value);
  return 'refusal' in read ? `is invalid: ${read.refusal.message}` : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const fieldEntries = () => Object.entries(STAGE_FIELDS) as [Exclude<keyof StageConfig, 'name'>, StageField][];

/** The props a checked stage sets through its fields (the stack adds the custom domain, the stage name default and a service name the stage may override). */
export function stageProps(stage: StageConfig): StageProps {
  const props: Record<string, unknown> = {};
  for (const [name, row] of fieldEntries()) {
    const value = stage[name];
    if (row.prop !== undefined && value !== undefined) props[row.prop] = row.toProp(value);
  }
  return props as StageProps;
}

/** The stage fields that stand for `props`: the inverse of {@link stageProps}. */
export function stageFieldsOf(props: StageProps): Partial<StageConfig> {
  const fields: Record<string, unknown> = {};
  for (const [name, row] of fieldEntries()) {
    const value = row.prop === undefined ? undefined : props[row.prop];
    if (value !== undefined) fields[name] = row.fromProp(value);
  }
  return fields as Partial<StageConfig>;
}
