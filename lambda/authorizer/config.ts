/**
 * The authorizer's settings, read once at cold start from the function's environment through its
 * settings contract (shared/settings/authorizer.ts). A missing or malformed value throws an error
 * naming the variable and what to set: the authorizer never falls back to a permissive default.
 */
import type { ToolScopes } from '../shared/challenges';
import type { LogLevel } from '../shared/settings/common';
import { AUTHORIZER_SETTINGS } from '../shared/settings/authorizer';
import { type Env, fromEnvironment, type SettingProblem } from '../shared/settings/setting';
import { jwksUrlOf } from '../shared/issuer';
import type { TokenAlgorithm } from '../shared/token-policy';
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

/** Which organizations' callers may use the server (AuthKit's `org_id` claim). */
export interface OrganizationPolicy {
  /** Accepted `org_id` values; empty: any organization. */
  readonly allowedOrganizations: readonly string[];
  /** Refuse a token without `org_id`; true whenever `allowedOrganizations` is not empty. */
  readonly requireOrganization: boolean;
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

export interface AuthorizerConfig extends AccessTokenPolicy, OrganizationPolicy, JwksSettings, TelemetrySettings {
  /** The canonical resource URL of the MCP endpoint (`serverUrls(PUBLIC_BASE_URL).resource`). */
  readonly resource: string;
  /** Each tool's required scopes, judged on a REQUEST event (the step-up challenge); empty otherwise. */
  readonly stepUpToolScopes: ToolScopes;
}

const configError = (problem: SettingProblem) => new AuthorizerConfigError(problem.variable, problem.message);

export function loadAuthorizerConfig(env: Env): AuthorizerConfig {
  const settings = fromEnvironment(AUTHORIZER_SETTINGS, env, configError);
  const resource = serverUrls(settings.publicBaseUrl).resource;
  return {
    resource,
    issuer: settings.issuer,
    jwksUrl: settings.jwksUrl ?? jwksUrlOf(settings.issuer),
    audiences: [...new Set([resource, ...settings.acceptedAudiences])],
    allowMultipleAudiences: settings.allowMultipleAudiences,
    algorithms: settings.tokenAlgorithms,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    requiredScopes: settings.requiredScopes,
    stepUpToolScopes: settings.stepUpToolScopes,
    allowedOrganizations: settings.allowedOrganizations,
    // A token without an organization belongs to none of the listed ones.
    requireOrganization: settings.requireOrganization || settings.allowedOrganizations.length > 0,
    jwksTimeoutMs: settings.jwksTimeoutMs,
    jwksCooldownMs: settings.jwksCooldownMs,
    serviceName: settings.serviceName,
    metricsNamespace: settings.metricsNamespace,
    logLevel: settings.logLevel,
  };
}
