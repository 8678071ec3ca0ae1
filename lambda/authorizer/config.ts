/**
 * The authorizer's settings, read once at cold start from the function's environment.
 * A missing or malformed value throws an error naming the variable and what to set: the
 * authorizer never falls back to a permissive default.
 */
import { nonEmpty, parseLogLevel, readWholeNumber, LOG_LEVELS, type Env, type LogLevel } from '../shared/env';
import { authkitIssuer, InvalidAuthKitDomainError, jwksUrlOf } from '../shared/issuer';
import { isLoopbackHost } from '../shared/loopback';
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_TOKEN_ALGORITHMS,
  isTokenAlgorithm,
  MAX_CLOCK_TOLERANCE_SECONDS,
  TOKEN_ALGORITHMS,
  type TokenAlgorithm,
} from '../shared/token-policy';
import { serverUrls } from '../shared/urls';
import { AuthorizerConfigError } from './errors';

/** What a token must satisfy to be accepted. */
export interface AccessTokenPolicy {
  /** Exact `iss` value. */
  readonly issuer: string;
  /** Accepted `aud` values; the canonical resource first. */
  readonly audiences: readonly string[];
  /** Accept a token that names several audiences (one of which is ours). */
  readonly allowMultipleAudiences: boolean;
  /** Accepted `alg` values. */
  readonly algorithms: readonly TokenAlgorithm[];
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

const configError = (variable: string, problem: string) => new AuthorizerConfigError(variable, problem);

/** A JWKS fetch must end well inside API Gateway's authorizer budget. */
const MAX_JWKS_TIMEOUT_MS = 3000;

export function loadAuthorizerConfig(env: Env): AuthorizerConfig {
  const resource = readResource(env);
  const issuer = readIssuer(env);
  const jwksUrl = readUrl(env, 'AUTHKIT_JWKS_URL', jwksUrlOf(issuer));
  const extraAudiences = splitList(env.ACCEPTED_AUDIENCES ?? '', /[\s,]+/);
  return {
    resource,
    issuer,
    jwksUrl,
    audiences: [...new Set([resource, ...extraAudiences])],
    allowMultipleAudiences: readBoolean(env, 'ALLOW_MULTIPLE_AUDIENCES', false),
    algorithms: readAlgorithms(env),
    clockToleranceSeconds: readWholeNumber(
      env,
      'CLOCK_TOLERANCE_SECONDS',
      { fallback: DEFAULT_CLOCK_TOLERANCE_SECONDS, min: 0, max: MAX_CLOCK_TOLERANCE_SECONDS },
      configError,
    ),
    requiredScopes: [...new Set(splitList(env.REQUIRED_SCOPES ?? '', /\s+/))],
    jwksTimeoutMs: readWholeNumber(
      env,
      'JWKS_TIMEOUT_MS',
      { fallback: 2000, min: 1, max: MAX_JWKS_TIMEOUT_MS },
      configError,
    ),
    jwksCooldownMs: readWholeNumber(env, 'JWKS_COOLDOWN_MS', { fallback: 30000, min: 0, max: 3_600_000 }, configError),
    serviceName: nonEmpty(env.POWERTOOLS_SERVICE_NAME) ?? 'mcp-authorizer',
    metricsNamespace: nonEmpty(env.POWERTOOLS_METRICS_NAMESPACE) ?? 'McpAuthKit',
    logLevel: readLogLevel(env),
  };
}

function splitList(value: string, separator: RegExp): string[] {
  return value.split(separator).filter((item) => item !== '');
}

function readResource(env: Env): string {
  const value = nonEmpty(env.PUBLIC_BASE_URL);
  if (!value)
    throw new AuthorizerConfigError(
      'PUBLIC_BASE_URL',
      'not set; set it to the public base URL of the MCP server, e.g. https://mcp.example.com.',
    );
  try {
    return serverUrls(value).resource;
  } catch (error) {
    throw new AuthorizerConfigError('PUBLIC_BASE_URL', (error as Error).message);
  }
}

function readIssuer(env: Env): string {
  const value = nonEmpty(env.AUTHKIT_ISSUER);
  if (!value)
    throw new AuthorizerConfigError(
      'AUTHKIT_ISSUER',
      'not set; set it to your AuthKit issuer, e.g. https://acme.authkit.app.',
    );
  try {
    // Normalised the way the construct and the metadata function do it: `iss` is compared byte for byte.
    return authkitIssuer(value);
  } catch (error) {
    if (error instanceof InvalidAuthKitDomainError) throw new AuthorizerConfigError('AUTHKIT_ISSUER', error.message);
    throw error;
  }
}

function readUrl(env: Env, variable: string, fallback: string): string {
  const value = nonEmpty(env[variable]);
  if (!value) return fallback;
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
    throw new AuthorizerConfigError(
      variable,
      `"${value}" must use https (http is allowed only for localhost or 127.0.0.1).`,
    );
  }
  return url.href;
}

function readBoolean(env: Env, variable: string, fallback: boolean): boolean {
  const value = nonEmpty(env[variable]);
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new AuthorizerConfigError(variable, `"${value}" is not a boolean; set 'true' or 'false'.`);
}

function readAlgorithms(env: Env): TokenAlgorithm[] {
  const names = splitList(env.TOKEN_ALGORITHMS ?? '', /[\s,]+/);
  if (names.length === 0) return [...DEFAULT_TOKEN_ALGORITHMS];
  for (const name of names) {
    if (!isTokenAlgorithm(name)) {
      throw new AuthorizerConfigError(
        'TOKEN_ALGORITHMS',
        `"${name}" is not accepted; use asymmetric algorithms from: ${TOKEN_ALGORITHMS.join(', ')} (AuthKit signs with RS256).`,
      );
    }
  }
  return [...new Set(names)] as TokenAlgorithm[];
}

function readLogLevel(env: Env): LogLevel {
  const value = nonEmpty(env.POWERTOOLS_LOG_LEVEL);
  if (value === undefined) return 'INFO';
  const level = parseLogLevel(value);
  if (level === undefined) {
    throw new AuthorizerConfigError(
      'POWERTOOLS_LOG_LEVEL',
      `"${value}" is not a log level; use one of ${LOG_LEVELS.join(', ')}.`,
    );
  }
  return level;
}
