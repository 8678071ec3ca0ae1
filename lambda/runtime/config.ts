/**
 * The runtime's settings, read once at cold start from options or the environment the construct
 * sets. A missing or malformed value throws a {@link RuntimeConfigError} naming the variable and
 * what to set: the function then fails every invocation loudly instead of serving unsafely.
 */
import { nonEmpty, readWholeNumber, type Env } from '../shared/env';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, MAX_CLOCK_TOLERANCE_SECONDS } from '../shared/token-policy';
import { serverUrls, type ServerUrls } from '../shared/urls';
import { LISTEN_MAX_SECONDS_ENV, RESPONSE_TRANSFER_MODE_ENV } from '../shared/mcp-environment';
import { RuntimeConfigError } from './errors';

/** 1 MiB: the default request body limit (API Gateway itself stops at 10 MB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

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
}

export type ResponseTransferMode = 'stream' | 'buffered';

/** 15 minutes: a streamed REST API integration's longest timeout, and so a listen stream's longest hold. */
export const MAX_LISTEN_SECONDS = 900;
/** Five minutes of hold per listen stream unless set: a held stream is billed Lambda duration. */
export const DEFAULT_LISTEN_MAX_SECONDS = 300;

export interface RuntimeSettingsInput {
  readonly publicBaseUrl?: string;
  readonly allowedOrigins?: readonly string[] | '*';
  readonly maxBodyBytes?: number;
  readonly clockToleranceSeconds?: number;
  readonly responseTransferMode?: ResponseTransferMode;
  readonly listenMaxSeconds?: number;
}

const configError = (variable: string, problem: string) => new RuntimeConfigError(variable, `${variable}: ${problem}`);

export function readRuntimeSettings(input: RuntimeSettingsInput, env: Env = process.env): RuntimeSettings {
  return {
    urls: readUrls(input.publicBaseUrl ?? env.PUBLIC_BASE_URL),
    origins: readOrigins(input.allowedOrigins ?? env.ALLOWED_ORIGINS),
    maxBodyBytes: readMaxBodyBytes(input.maxBodyBytes, env),
    clockToleranceSeconds: readClockTolerance(input.clockToleranceSeconds, env),
    responseTransferMode: input.responseTransferMode ?? readTransferMode(env),
    listenMaxSeconds: readListenMaxSeconds(input.listenMaxSeconds, env),
  };
}

// Unset means buffered: a function the construct did not configure answers the way it always did.
function readTransferMode(env: Env): ResponseTransferMode {
  const raw = nonEmpty(env[RESPONSE_TRANSFER_MODE_ENV]);
  if (raw === undefined || raw.toUpperCase() === 'BUFFERED') return 'buffered';
  if (raw.toUpperCase() === 'STREAM') return 'stream';
  throw configError(
    RESPONSE_TRANSFER_MODE_ENV,
    `"${raw}" is neither STREAM nor BUFFERED; set it to the integration's ResponseTransferMode.`,
  );
}

function readListenMaxSeconds(option: number | undefined, env: Env): number {
  const range = { fallback: DEFAULT_LISTEN_MAX_SECONDS, min: 1, max: MAX_LISTEN_SECONDS };
  if (option === undefined) return readWholeNumber(env, LISTEN_MAX_SECONDS_ENV, range, configError);
  if (!Number.isSafeInteger(option) || option < range.min || option > range.max) {
    throw configError(
      'listenMaxSeconds',
      `${option} is not a whole number of seconds from ${range.min} to ${range.max}.`,
    );
  }
  return option;
}

function readUrls(value: string | undefined): ServerUrls {
  const baseUrl = nonEmpty(value);
  if (baseUrl === undefined) {
    throw new RuntimeConfigError(
      'PUBLIC_BASE_URL',
      'PUBLIC_BASE_URL is not set: set it to the public base URL of the API, e.g. https://mcp.example.com or https://abc123.execute-api.us-east-1.amazonaws.com/prod.',
    );
  }
  try {
    return serverUrls(baseUrl);
  } catch (error) {
    throw new RuntimeConfigError('PUBLIC_BASE_URL', `PUBLIC_BASE_URL is invalid: ${(error as Error).message}`);
  }
}

/**
 * `ALLOWED_ORIGINS`: comma separated. Unset or empty allows no browser origin (non-browser clients
 * send no Origin and are unaffected); `*` allows any. Each entry is a full origin
 * (`https://app.example.com`, matched exactly) or a bare hostname (any scheme and port).
 */
export function readOrigins(value: readonly string[] | string | undefined): OriginPolicy {
  const entries = (typeof value === 'string' ? value.split(',') : (value ?? []))
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.includes('*')) return { any: true };
  const origins = new Set<string>();
  const hostnames = new Set<string>();
  for (const entry of entries) {
    if (entry.includes('://')) {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new RuntimeConfigError(
          'ALLOWED_ORIGINS',
          `ALLOWED_ORIGINS has an entry that is not an origin: "${entry}". Use full origins such as https://app.example.com, bare hostnames, or *.`,
        );
      }
      if (url.origin === 'null' || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
        throw new RuntimeConfigError(
          'ALLOWED_ORIGINS',
          `ALLOWED_ORIGINS has an entry that is not an origin: "${entry}". Use scheme://host[:port] with no path.`,
        );
      }
      origins.add(url.origin);
    } else if (/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i.test(entry)) {
      hostnames.add(entry.toLowerCase());
    } else {
      throw new RuntimeConfigError(
        'ALLOWED_ORIGINS',
        `ALLOWED_ORIGINS has an entry that is neither an origin nor a hostname: "${entry}".`,
      );
    }
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

function readMaxBodyBytes(option: number | undefined, env: Env): number {
  if (option === undefined)
    return readWholeNumber(
      env,
      'MAX_BODY_BYTES',
      { fallback: DEFAULT_MAX_BODY_BYTES, min: 1, max: Number.MAX_SAFE_INTEGER },
      configError,
    );
  if (!Number.isSafeInteger(option) || option <= 0)
    throw configError('maxBodyBytes', `${option} is not a positive whole number of bytes; pass e.g. 1048576 (1 MiB).`);
  return option;
}

// The construct sets CLOCK_TOLERANCE_SECONDS on the MCP function to the authorizer's value.
function readClockTolerance(option: number | undefined, env: Env): number {
  const range = { fallback: DEFAULT_CLOCK_TOLERANCE_SECONDS, min: 0, max: MAX_CLOCK_TOLERANCE_SECONDS };
  if (option === undefined) return readWholeNumber(env, 'CLOCK_TOLERANCE_SECONDS', range, configError);
  if (!Number.isSafeInteger(option) || option < 0 || option > range.max) {
    throw configError('clockToleranceSeconds', `${option} is not a whole number of seconds from 0 to ${range.max}.`);
  }
  return option;
}
