/**
 * Per-stage configuration: the `stages` map in cdk.json's context, one entry per deployment
 * (`local`, `dev`, `prod`, ...), selected with `-c stage=NAME`. Validated when the app starts, so a
 * typo fails the synth with the stage and the field named, instead of a surprise at deploy time.
 */
import * as logs from 'aws-cdk-lib/aws-logs';
import { authkitIssuer, InvalidAuthKitDomainError } from './authkit-domain';
import { LOG_LEVELS, parseLogLevel, type LogLevel } from '../lambda/shared/env';
import { isTokenAlgorithm, TOKEN_ALGORITHMS, type TokenAlgorithm } from '../lambda/shared/token-policy';
import { InvalidBaseUrlError, normaliseBaseUrl } from '../lambda/shared/urls';
import { RESPONSE_TRANSFER_MODES, type ResponseTransferMode } from './server-settings';

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

/** One stage's settings, as written in cdk.json under `context.stages.<name>`. */
export interface StageConfig {
  /** The stage's key in the `stages` map; the stack is named `McpServer-<name>`. */
  readonly name: string;
  /** AWS account to deploy to. Without it the stack is environment-agnostic. */
  readonly account?: string;
  /** AWS region to deploy to. Without it the stack is environment-agnostic. */
  readonly region?: string;
  /** AuthKit domain (`acme.authkit.app`); `-c authkitDomain=...` overrides it. */
  readonly authkitDomain: string;
  /** Public base URL when it is neither the custom domain nor execute-api; `-c publicBaseUrl=...` overrides it. */
  readonly publicBaseUrl?: string;
  readonly customDomain?: StageCustomDomain;
  readonly disableExecuteApiEndpoint?: boolean;
  /** API Gateway stage name; defaults to the stage's name. */
  readonly apiStageName?: string;
  readonly requiredScopes?: readonly string[];
  readonly scopesSupported?: readonly string[];
  readonly acceptedAudiences?: readonly string[];
  readonly allowMultipleAudiences?: boolean;
  readonly tokenAlgorithms?: readonly TokenAlgorithm[];
  readonly authorizerCacheTtlSeconds?: number;
  readonly resourceName?: string;
  readonly resourceDocumentation?: string;
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  /** One of CloudWatch Logs' retention values in days (1, 3, 5, 7, 14, 30, 60, 90, ..., 3653). */
  readonly logRetentionDays?: number;
  readonly allowedOrigins?: readonly string[];
  readonly maxRequestBodyBytes?: number;
  readonly authorizerMemorySize?: number;
  readonly metadataMemorySize?: number;
  readonly mcpMemorySize?: number;
  /** `stream` (default) or `buffered`: how API Gateway carries the MCP function's answers. */
  readonly responseTransferMode?: ResponseTransferMode;
  /** The `/mcp` integration timeout in seconds (streaming: up to 900, buffered: up to 29). */
  readonly mcpTimeoutSeconds?: number;
  /** Reserved concurrency of the MCP function, or `false` to reserve none. */
  readonly mcpReservedConcurrency?: number | false;
  /** Longest hold of one `subscriptions/listen` stream, in seconds (streaming only). */
  readonly subscriptionMaxDurationSeconds?: number;
  /** Requests per client IP and window before AWS WAF answers 429; creates and associates a web ACL. */
  readonly rateLimitPerIp?: number;
  /** The window of `rateLimitPerIp` in seconds: 60, 120, 300 or 600. */
  readonly rateLimitWindowSeconds?: number;
  readonly tracing?: boolean;
  readonly logLevel?: LogLevel;
  readonly apiGatewayCloudWatchRole?: boolean;
  readonly webAclArn?: string;
}

/** What the loader reads context from: an App's or Stack's `node`, or any object with the same method. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

export class StageConfigError extends Error {
  readonly code = 'INVALID_STAGE_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

type FieldKind = 'string' | 'boolean' | 'positiveNumber' | 'positiveInteger' | 'stringList';
const FIELDS: Record<Exclude<keyof StageConfig, 'name'>, FieldKind | 'custom'> = {
  account: 'custom',
  region: 'custom',
  authkitDomain: 'custom',
  publicBaseUrl: 'custom',
  customDomain: 'custom',
  disableExecuteApiEndpoint: 'boolean',
  apiStageName: 'custom',
  requiredScopes: 'stringList',
  scopesSupported: 'stringList',
  acceptedAudiences: 'stringList',
  allowMultipleAudiences: 'boolean',
  tokenAlgorithms: 'custom',
  authorizerCacheTtlSeconds: 'custom',
  resourceName: 'string',
  resourceDocumentation: 'string',
  throttlingRateLimit: 'positiveNumber',
  throttlingBurstLimit: 'positiveInteger',
  logRetentionDays: 'custom',
  allowedOrigins: 'stringList',
  maxRequestBodyBytes: 'positiveInteger',
  authorizerMemorySize: 'positiveInteger',
  metadataMemorySize: 'positiveInteger',
  mcpMemorySize: 'positiveInteger',
  responseTransferMode: 'custom',
  mcpTimeoutSeconds: 'positiveInteger',
  mcpReservedConcurrency: 'custom',
  subscriptionMaxDurationSeconds: 'positiveInteger',
  rateLimitPerIp: 'positiveInteger',
  rateLimitWindowSeconds: 'positiveInteger',
  tracing: 'boolean',
  logLevel: 'custom',
  apiGatewayCloudWatchRole: 'boolean',
  webAclArn: 'string',
};
const CUSTOM_DOMAIN_FIELDS = ['domainName', 'certificateArn', 'hostedZoneId', 'hostedZoneName'];
const STAGE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/**
 * Reads the selected stage from the CDK context and validates it.
 *
 * - `stages`: the map of stage configurations (cdk.json).
 * - `stage`: the stage to synthesize (`-c stage=dev`); falls back to `defaultStage` from cdk.json.
 * - any stage field (`authkitDomain`, `publicBaseUrl`, `requiredScopes`, ...): an override that wins
 *   over the stage's value, e.g. `-c authkitDomain=http://localhost:9000 -c requiredScopes=mcp:tools`
 *   (the local runner points the `local` stage at its own AuthKit stand-in and port this way).
 *   Lists are separated by commas or spaces; numbers and `true`/`false` are parsed.
 *
 * @throws StageConfigError naming the stage and the field, and what to write instead.
 */
export function loadStageConfig(context: ContextSource): StageConfig {
  const stages = context.tryGetContext('stages');
  if (!isRecord(stages) || Object.keys(stages).length === 0) {
    throw new StageConfigError(
      'No stages are configured. Add a "stages" map to the "context" of cdk.json, e.g. "stages": { "dev": { "authkitDomain": "acme.authkit.app" } }.',
    );
  }
  const known = Object.keys(stages);
  const requested = context.tryGetContext('stage') ?? context.tryGetContext('defaultStage');
  if (requested === undefined || requested === null || requested === '') {
    throw new StageConfigError(
      `No stage selected. Pass -c stage=NAME (known stages: ${known.join(', ')}), or set "defaultStage" in the context of cdk.json.`,
    );
  }
  if (typeof requested !== 'string' || !(requested in stages)) {
    throw new StageConfigError(
      `Unknown stage ${show(requested)}. Known stages: ${known.join(', ')}. Pass one of them with -c stage=NAME, or add it to "stages" in cdk.json.`,
    );
  }
  const name = requested;
  if (!STAGE_NAME.test(name)) {
    throw new StageConfigError(
      `Stage name ${show(name)} cannot name a stack. Use a letter followed by letters, digits or hyphens (at most 64), e.g. "dev".`,
    );
  }
  const raw = stages[name];
  if (!isRecord(raw))
    throw new StageConfigError(`Stage "${name}" in cdk.json must be an object of settings, got ${show(raw)}.`);

  const overrides: Record<string, unknown> = {};
  for (const field of Object.keys(FIELDS)) {
    const value = context.tryGetContext(field);
    if (value !== undefined && value !== null && value !== '') overrides[field] = fromCommandLine(field, value);
  }
  return validateStage(name, { ...raw, ...overrides });
}

const LIST_FIELDS = new Set([
  'requiredScopes',
  'scopesSupported',
  'acceptedAudiences',
  'allowedOrigins',
  'tokenAlgorithms',
]);
const NUMBER_FIELDS = new Set(['authorizerCacheTtlSeconds', 'logRetentionDays']);

/**
 * `-c key=value` gives strings; turn them into the type the field has in cdk.json
 * (lists separated by commas or spaces, numbers, `true`/`false`). Values from cdk.json pass unchanged.
 */
function fromCommandLine(field: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const kind = FIELDS[field as keyof typeof FIELDS];
  if (LIST_FIELDS.has(field)) return value.split(/[\s,]+/).filter((item) => item !== '');
  if (kind === 'positiveNumber' || kind === 'positiveInteger' || NUMBER_FIELDS.has(field))
    return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (kind === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (field === 'mcpReservedConcurrency')
    return value === 'false' ? false : /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (field === 'customDomain') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function validateStage(name: string, raw: Record<string, unknown>): StageConfig {
  const fail = (field: string, problem: string): never => {
    throw new StageConfigError(`Stage "${name}": field "${field}" ${problem}`);
  };
  for (const field of Object.keys(raw)) {
    if (!(field in FIELDS)) fail(field, `is not a known setting. Known settings: ${Object.keys(FIELDS).join(', ')}.`);
  }

  const out: Record<string, unknown> = { name };
  for (const [field, kind] of Object.entries(FIELDS)) {
    const value = raw[field];
    if (value === undefined) continue;
    switch (kind) {
      case 'string':
        if (typeof value !== 'string' || value.trim() === '')
          fail(field, `must be a non-empty string, got ${show(value)}.`);
        break;
      case 'boolean':
        if (typeof value !== 'boolean') fail(field, `must be true or false, got ${show(value)}.`);
        break;
      case 'positiveNumber':
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
          fail(field, `must be a positive number, got ${show(value)}.`);
        break;
      case 'positiveInteger':
        if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
          fail(field, `must be a positive whole number, got ${show(value)}.`);
        break;
      case 'stringList':
        if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.trim() === '')) {
          fail(field, `must be a list of non-empty strings, e.g. ["a", "b"], got ${show(value)}.`);
        }
        break;
      case 'custom':
        break;
    }
    out[field] = value;
  }

  if (raw.authkitDomain === undefined) {
    fail(
      'authkitDomain',
      'is missing. Set it to your AuthKit domain from the WorkOS dashboard, e.g. "acme.authkit.app", or pass -c authkitDomain=....',
    );
  }
  if (typeof raw.authkitDomain !== 'string')
    fail('authkitDomain', `must be a string such as "acme.authkit.app", got ${show(raw.authkitDomain)}.`);
  try {
    authkitIssuer(raw.authkitDomain as string);
  } catch (error) {
    if (error instanceof InvalidAuthKitDomainError) fail('authkitDomain', `is invalid: ${error.message}`);
    throw error;
  }

  if (raw.publicBaseUrl !== undefined) {
    if (typeof raw.publicBaseUrl !== 'string')
      fail('publicBaseUrl', `must be a URL string, got ${show(raw.publicBaseUrl)}.`);
    try {
      normaliseBaseUrl(raw.publicBaseUrl as string);
    } catch (error) {
      if (error instanceof InvalidBaseUrlError) fail('publicBaseUrl', `is invalid: ${error.message}`);
      throw error;
    }
  }
  if (raw.account !== undefined && (typeof raw.account !== 'string' || !/^\d{12}$/.test(raw.account))) {
    fail('account', `must be a 12-digit AWS account id as a string, got ${show(raw.account)}.`);
  }
  if (raw.region !== undefined && (typeof raw.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(raw.region))) {
    fail('region', `must be an AWS region such as "us-east-1", got ${show(raw.region)}.`);
  }
  if (
    raw.apiStageName !== undefined &&
    (typeof raw.apiStageName !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(raw.apiStageName))
  ) {
    fail('apiStageName', `must be 1 to 128 letters, digits, hyphens or underscores, got ${show(raw.apiStageName)}.`);
  }
  if (raw.tokenAlgorithms !== undefined) {
    const algs = raw.tokenAlgorithms;
    if (
      !Array.isArray(algs) ||
      algs.length === 0 ||
      algs.some((alg) => typeof alg !== 'string' || !isTokenAlgorithm(alg))
    ) {
      fail('tokenAlgorithms', `must be a non-empty list from ${TOKEN_ALGORITHMS.join(', ')}, got ${show(algs)}.`);
    }
  }
  if (raw.authorizerCacheTtlSeconds !== undefined) {
    const ttl = raw.authorizerCacheTtlSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 3600) {
      fail(
        'authorizerCacheTtlSeconds',
        `must be a whole number of seconds from 0 (no cache) to 3600, got ${show(ttl)}.`,
      );
    }
  }
  if (raw.logRetentionDays !== undefined) {
    const days = raw.logRetentionDays;
    const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number');
    if (typeof days !== 'number' || !allowed.includes(days)) {
      fail(
        'logRetentionDays',
        `must be one of CloudWatch Logs' retention periods in days (${allowed.join(', ')}), got ${show(days)}.`,
      );
    }
  }
  if (raw.logLevel !== undefined && (typeof raw.logLevel !== 'string' || parseLogLevel(raw.logLevel) === undefined)) {
    fail('logLevel', `must be one of ${LOG_LEVELS.join(', ')}, got ${show(raw.logLevel)}.`);
  }
  if (raw.customDomain !== undefined) {
    const domain = raw.customDomain;
    if (!isRecord(domain))
      fail('customDomain', `must be an object with "domainName" and "certificateArn", got ${show(domain)}.`);
    const d = domain as Record<string, unknown>;
    for (const key of Object.keys(d)) {
      if (!CUSTOM_DOMAIN_FIELDS.includes(key))
        fail(`customDomain.${key}`, `is not a known setting. Known settings: ${CUSTOM_DOMAIN_FIELDS.join(', ')}.`);
    }
    if (typeof d.domainName !== 'string' || d.domainName.trim() === '')
      fail('customDomain.domainName', `must be a DNS name such as "mcp.example.com", got ${show(d.domainName)}.`);
    if (
      typeof d.certificateArn !== 'string' ||
      !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(d.certificateArn)
    ) {
      fail(
        'customDomain.certificateArn',
        `must be the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>), got ${show(d.certificateArn)}.`,
      );
    }
    if ((d.hostedZoneId === undefined) !== (d.hostedZoneName === undefined)) {
      fail(
        'customDomain.hostedZoneId',
        'and "customDomain.hostedZoneName" must be set together (both, to create the alias record, or neither).',
      );
    }
    for (const key of ['hostedZoneId', 'hostedZoneName']) {
      if (d[key] !== undefined && (typeof d[key] !== 'string' || (d[key] as string).trim() === ''))
        fail(`customDomain.${key}`, `must be a non-empty string, got ${show(d[key])}.`);
    }
  }
  if (
    raw.responseTransferMode !== undefined &&
    !RESPONSE_TRANSFER_MODES.includes(raw.responseTransferMode as ResponseTransferMode)
  ) {
    fail('responseTransferMode', `must be "stream" or "buffered", got ${show(raw.responseTransferMode)}.`);
  }
  if (raw.mcpReservedConcurrency !== undefined && raw.mcpReservedConcurrency !== false) {
    const n = raw.mcpReservedConcurrency;
    if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0)
      fail('mcpReservedConcurrency', `must be a positive whole number, or false to reserve none, got ${show(n)}.`);
  }
  if (raw.disableExecuteApiEndpoint === true && raw.customDomain === undefined) {
    fail(
      'disableExecuteApiEndpoint',
      'is true without "customDomain", which would leave the API unreachable. Add customDomain or remove disableExecuteApiEndpoint.',
    );
  }
  return out as unknown as StageConfig;
}
