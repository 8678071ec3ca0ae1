/**
 * The runtime's settings, read once at cold start from options or the environment the construct
 * sets, through the MCP function's settings contract (shared/settings/mcp.ts). A missing or
 * malformed value throws a {@link RuntimeConfigError} naming the variable and what to set: the
 * function then fails every invocation loudly instead of serving unsafely.
 */
import {
  LISTEN_MAX_SECONDS,
  MAX_BODY_BYTES,
  MAX_CONCURRENT_REQUESTS_PER_CALLER,
  MCP_SETTINGS,
  type McpSettings,
  parseAllowedOrigin,
  RESPONSE_TRANSFER_MODES,
  type ResponseTransferMode,
} from '../shared/settings/mcp';
import { type Env, fromEnvironment, isWithin, readSetting, type SettingProblem } from '../shared/settings/setting';
import { InvalidBaseUrlError, serverUrls, type ServerUrls } from '../shared/urls';
import { RuntimeConfigError } from './errors';

export type { ResponseTransferMode };

/** 1 MiB: the default request body limit (API Gateway itself stops at 10 MB). */
export const DEFAULT_MAX_BODY_BYTES = MAX_BODY_BYTES.fallback;

/** Which browser origins may call the endpoint: any, or an explicit list. */
export type OriginPolicy =
  | { readonly any: true }
  | { readonly any: false; readonly origins: ReadonlySet<string>; readonly hostnames: ReadonlySet<string> };

export interface RuntimeSettings {
  readonly urls: ServerUrls;
  readonly origins: OriginPolicy;
  readonly maxBodyBytes: number;
  /** Allowed clock skew when checking a token's `exp` on each request. */
  readonly clockToleranceSeconds: number;
  /** Whether API Gateway streams the answer (STREAM) or waits for all of it (BUFFERED). */
  readonly responseTransferMode: ResponseTransferMode;
  /** Longest hold of one `subscriptions/listen` stream, in seconds. */
  readonly listenMaxSeconds: number;
  /** The DynamoDB table of the per-caller leases; absent, no per-caller limit is counted. */
  readonly stateTableName?: string;
  /** Most requests one caller may hold at once, or `false` for no per-caller limit. */
  readonly maxConcurrentRequestsPerCaller: number | false;
}

/** Four minutes of hold per listen stream unless set: under API Gateway's 5-minute idle timeout, and a held stream is billed Lambda duration. */
export const DEFAULT_LISTEN_MAX_SECONDS = LISTEN_MAX_SECONDS.fallback;

/** Options named as the rows of the MCP function's contract (shared/settings/mcp.ts) they stand for. */
export interface RuntimeSettingsInput {
  readonly publicBaseUrl?: string;
  readonly allowedOrigins?: readonly string[] | '*';
  readonly maxBodyBytes?: number;
  readonly clockToleranceSeconds?: number;
  readonly responseTransferMode?: ResponseTransferMode;
  readonly listenMaxSeconds?: number;
  readonly stateTableName?: string;
  readonly maxConcurrentRequestsPerCaller?: number | false;
}

function configError(problem: SettingProblem): RuntimeConfigError {
  const { variable, message } = problem;
  if (problem.reason === 'missing') {
    return new RuntimeConfigError(variable, `${variable} is not set: set it to ${problem.expected}.`);
  }
  // The base URL's own error already says what was wrong with it and what a valid one looks like.
  const text =
    problem.cause instanceof InvalidBaseUrlError ? `${variable} is invalid: ${message}` : `${variable}: ${message}`;
  return new RuntimeConfigError(variable, text);
}

/** Options win over the environment; each is checked by its row first, as a value of the row's type. */
export function readRuntimeSettings(input: RuntimeSettingsInput, env: Env = process.env): RuntimeSettings {
  const options = readOptions(input);
  // A row an option sets is not read from the environment: the option stands for its variable.
  const unset = Object.fromEntries(Object.entries(MCP_SETTINGS).filter(([key]) => !(key in options)));
  const settings = { ...fromEnvironment(unset, env, configError), ...options } as McpSettings;
  return {
    urls: serverUrls(settings.publicBaseUrl),
    origins: readOrigins(settings.allowedOrigins),
    maxBodyBytes: settings.maxBodyBytes,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    responseTransferMode: settings.responseTransferMode,
    listenMaxSeconds: settings.listenMaxSeconds ?? DEFAULT_LISTEN_MAX_SECONDS,
    ...(settings.stateTableName === undefined ? {} : { stateTableName: settings.stateTableName }),
    maxConcurrentRequestsPerCaller: settings.maxConcurrentRequestsPerCaller,
  };
}

/** The options, each named as the row it sets (the compiler holds the list to the interface). */
const OPTIONS: Readonly<Record<keyof RuntimeSettingsInput, true>> = {
  publicBaseUrl: true,
  allowedOrigins: true,
  maxBodyBytes: true,
  clockToleranceSeconds: true,
  responseTransferMode: true,
  listenMaxSeconds: true,
  stateTableName: true,
  maxConcurrentRequestsPerCaller: true,
};

/**
 * The options given, each a value of its row and checked by the row: a whole number within the
 * row's bounds, text through the row's parser, a mode among the modes. The origins are checked
 * entry by entry when the policy is read.
 */
function readOptions(input: RuntimeSettingsInput): Partial<McpSettings> {
  const options: Record<string, unknown> = {};
  for (const option of Object.keys(OPTIONS) as (keyof RuntimeSettingsInput)[]) {
    const value = input[option];
    if (value !== undefined) options[option] = readOption(option, value);
  }
  return options as Partial<McpSettings>;
}

function readOption(option: keyof RuntimeSettingsInput, value: unknown): unknown {
  const row = MCP_SETTINGS[option];
  if (option === 'allowedOrigins') return value === '*' ? ['*'] : value;
  if (option === 'responseTransferMode') {
    if (!RESPONSE_TRANSFER_MODES.includes(value as ResponseTransferMode))
      throw new RuntimeConfigError(option, `${option}: ${String(value)} is neither 'stream' nor 'buffered'.`);
    return value;
  }
  if (typeof value === 'string') return readSetting<unknown>(row, { [row.variable]: value }, configError);
  if (value === false && option === 'maxConcurrentRequestsPerCaller') return false;
  const range = 'range' in row ? row.range : MAX_CONCURRENT_REQUESTS_PER_CALLER;
  if (typeof value !== 'number' || !isWithin(value, range)) {
    throw new RuntimeConfigError(
      option,
      `${option}: ${String(value)} is not a whole number from ${range.min} to ${range.max}.`,
    );
  }
  return value;
}

/**
 * `ALLOWED_ORIGINS`: comma separated. Unset or empty allows no browser origin (non-browser clients
 * send no Origin and are unaffected); `*` allows any. Each entry follows the contract's one rule
 * ({@link parseAllowedOrigin}): a full origin (matched exactly) or a bare hostname (any scheme and port).
 */
export function readOrigins(value: readonly string[] | string | undefined): OriginPolicy {
  const entries =
    typeof value === 'string' || value === undefined
      ? readSetting(MCP_SETTINGS.allowedOrigins, { [MCP_SETTINGS.allowedOrigins.variable]: value }, configError)
      : value.map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.includes('*')) return { any: true };
  const origins = new Set<string>();
  const hostnames = new Set<string>();
  for (const entry of entries) {
    const allowed = parseAllowedOrigin(entry);
    if (allowed === undefined) {
      throw new RuntimeConfigError(
        'ALLOWED_ORIGINS',
        `ALLOWED_ORIGINS has an entry that is neither an origin nor a hostname: "${entry}". Use full origins such as https://app.example.com (no path), bare hostnames, or *.`,
      );
    }
    if ('origin' in allowed) origins.add(allowed.origin);
    else hostnames.add(allowed.hostname);
  }
  return { any: false, origins, hostnames };
}

/**
 * The allowed origin a present `Origin` header names, serialised as `new URL(origin).origin` (so
 * what is echoed is the origin that was checked, never the raw header), or `undefined` when it is
 * not allowed. The opaque `null` origin is allowed only under "any".
 */
export function allowedOriginOf(policy: OriginPolicy, origin: string): string | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return policy.any && origin === 'null' ? 'null' : undefined;
  }
  if (policy.any) return url.origin;
  if (url.origin === 'null') return undefined;
  return policy.origins.has(url.origin) || policy.hostnames.has(url.hostname.toLowerCase()) ? url.origin : undefined;
}

/** Whether a present `Origin` header is allowed. */
export function isOriginAllowed(policy: OriginPolicy, origin: string): boolean {
  return allowedOriginOf(policy, origin) !== undefined;
}
