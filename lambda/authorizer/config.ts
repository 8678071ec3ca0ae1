/**
 * The authorizer's settings, read once at cold start from the function's environment.
 * A missing or malformed value throws an error naming the variable and what to set: the
 * authorizer never falls back to a permissive default.
 */
import { serverUrls } from '../shared/urls';
import { AuthorizerConfigError } from './errors';

/** Signature algorithms the authorizer can verify. HMAC and `none` are deliberately absent. */
export const SUPPORTED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type SupportedAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a token must satisfy to be accepted. */
export interface AccessTokenPolicy {
  /** Exact `iss` value. */
  readonly issuer: string;
  /** Accepted `aud` values; the canonical resource first. */
  readonly audiences: readonly string[];
  /** Accept a token that names several audiences (one of which is ours). */
  readonly allowMultipleAudiences: boolean;
  /** Accepted `alg` values. */
  readonly algorithms: readonly SupportedAlgorithm[];
  /** Allowed clock skew for `exp` and `nbf`, in seconds. */
  readonly clockToleranceSeconds: number;
  /** Scopes every token must carry; a valid token without them gets 403. */
  readonly requiredScopes: readonly string[];
}

/** Where and how to fetch AuthKit's signing keys. */
export interface JwksSettings {
  readonly jwksUrl: string;
  /** Upper bound of one JWKS fetch, body included. */
  readonly jwksTimeoutMs: number;
  /** Minimum time between fetches triggered by an unknown `kid`. */
  readonly jwksCooldownMs: number;
}

export interface TelemetrySettings {
  readonly serviceName: string;
  readonly metricsNamespace: string;
  readonly logLevel: LogLevel;
}

export interface AuthorizerConfig extends AccessTokenPolicy, JwksSettings, TelemetrySettings {
  /** The canonical resource URL of the MCP endpoint (`serverUrls(PUBLIC_BASE_URL).resource`). */
  readonly resource: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A JWKS fetch must end well inside API Gateway's authorizer budget. */
const MAX_JWKS_TIMEOUT_MS = 3000;

export function loadAuthorizerConfig(env: Env): AuthorizerConfig {
  const resource = readResource(env);
  const issuer = readIssuer(env);
  const jwksUrl = readUrl(env, 'AUTHKIT_JWKS_URL', `${issuer.replace(/\/+$/, '')}/oauth2/jwks`);
  const extraAudiences = splitList(env.ACCEPTED_AUDIENCES ?? '', /[\s,]+/);
  return {
    resource,
    issuer,
    jwksUrl,
    audiences: [...new Set([resource, ...extraAudiences])],
    allowMultipleAudiences: readBoolean(env, 'ALLOW_MULTIPLE_AUDIENCES', false),
    algorithms: readAlgorithms(env),
    clockToleranceSeconds: readInteger(env, 'CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
    requiredScopes: [...new Set(splitList(env.REQUIRED_SCOPES ?? '', /\s+/))],
    jwksTimeoutMs: readInteger(env, 'JWKS_TIMEOUT_MS', 2000, 1, MAX_JWKS_TIMEOUT_MS),
    jwksCooldownMs: readInteger(env, 'JWKS_COOLDOWN_MS', 30000, 0, 3_600_000),
    serviceName: nonEmpty(env.POWERTOOLS_SERVICE_NAME) ?? 'mcp-authorizer',
    metricsNamespace: nonEmpty(env.POWERTOOLS_METRICS_NAMESPACE) ?? 'McpAuthKit',
    logLevel: readLogLevel(env),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function splitList(value: string, separator: RegExp): string[] {
  return value.split(separator).filter((item) => item !== '');
}

function readResource(env: Env): string {
  const value = nonEmpty(env.PUBLIC_BASE_URL);
  if (!value) throw new AuthorizerConfigError('PUBLIC_BASE_URL', 'not set; set it to the public base URL of the MCP server, e.g. https://mcp.example.com.');
  try {
    return serverUrls(value).resource;
  } catch (error) {
    throw new AuthorizerConfigError('PUBLIC_BASE_URL', (error as Error).message);
  }
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

function parseHttpUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthorizerConfigError(variable, `"${value}" is not an absolute URL.`);
  }
  if (url.username || url.password || url.hash || url.search) {
    throw new AuthorizerConfigError(variable, `"${value}" must not carry credentials, a query or a fragment.`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new AuthorizerConfigError(variable, `"${value}" must use https (http is allowed only for localhost or 127.0.0.1).`);
  }
  return url;
}

function readIssuer(env: Env): string {
  const value = nonEmpty(env.AUTHKIT_ISSUER);
  if (!value) throw new AuthorizerConfigError('AUTHKIT_ISSUER', 'not set; set it to your AuthKit issuer, e.g. https://acme.authkit.app.');
  parseHttpUrl('AUTHKIT_ISSUER', value);
  // The issuer is compared byte for byte with `iss`, so it is kept exactly as configured.
  return value;
}

function readUrl(env: Env, variable: string, fallback: string): string {
  const value = nonEmpty(env[variable]);
  if (!value) return fallback;
  return parseHttpUrl(variable, value).href;
}

function readBoolean(env: Env, variable: string, fallback: boolean): boolean {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new AuthorizerConfigError(variable, `"${value}" is not a boolean; set 'true' or 'false'.`);
}

function readInteger(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return fallback;
  const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new AuthorizerConfigError(variable, `"${value}" is not a whole number between ${min} and ${max}.`);
  }
  return parsed;
}

function readAlgorithms(env: Env): SupportedAlgorithm[] {
  const names = splitList(env.TOKEN_ALGORITHMS ?? '', /[\s,]+/);
  if (names.length === 0) return ['RS256'];
  for (const name of names) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(name)) {
      throw new AuthorizerConfigError(
        'TOKEN_ALGORITHMS',
        `"${name}" is not accepted; use asymmetric algorithms from: ${SUPPORTED_ALGORITHMS.join(', ')} (AuthKit signs with RS256).`,
      );
    }
  }
  return [...new Set(names)] as SupportedAlgorithm[];
}

function readLogLevel(env: Env): LogLevel {
  const value = nonEmpty(env.POWERTOOLS_LOG_LEVEL);
  if (value === undefined) return 'INFO';
  const upper = value.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(upper)) {
    throw new AuthorizerConfigError('POWERTOOLS_LOG_LEVEL', `"${value}" is not a log level; use one of ${LOG_LEVELS.join(', ')}.`);
  }
  return upper as LogLevel;
}
