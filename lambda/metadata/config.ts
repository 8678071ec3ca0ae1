/**
 * The metadata function's settings, read once at cold start from its environment through its
 * settings contract (shared/settings/metadata.ts).
 */
import { AS_METADATA_TIMEOUT_MS, METADATA_SETTINGS } from '../shared/settings/metadata';
import { type Env, fromEnvironment, type SettingProblem } from '../shared/settings/setting';
import { OFFLINE_ACCESS, resourceScopes } from '../shared/scopes';
import { serverUrls, type ServerUrls } from '../shared/urls';
import { MetadataConfigError } from './errors';

/** The upstream call must stay well inside the API Gateway integration timeout and the Lambda's own timeout. */
export const MAX_AS_METADATA_TIMEOUT_MS = AS_METADATA_TIMEOUT_MS.max;

export interface MetadataConfig {
  /** Every public URL of the server, derived from `PUBLIC_BASE_URL`. */
  readonly urls: ServerUrls;
  /** The AuthKit issuer exactly as it appears in tokens and in its own metadata. */
  readonly issuer: string;
  /** Scopes advertised in the protected-resource metadata (deduplicated, never `offline_access`). */
  readonly scopesSupported: readonly string[];
  /** Scopes listed in `SCOPES_SUPPORTED` but left out of the metadata (`offline_access`). */
  readonly ignoredScopes: readonly string[];
  readonly resourceName?: string;
  readonly resourceDocumentation?: string;
  /** How long a fetched copy of the authorization server's metadata counts as fresh. */
  readonly asMetadataTtlSeconds: number;
  /** How long one upstream fetch may take before it counts as failed. */
  readonly asMetadataTimeoutMs: number;
}

function configError(problem: SettingProblem): MetadataConfigError {
  const message = problem.reason === 'missing' ? `is not set. Set it to ${problem.expected}.` : problem.message;
  return new MetadataConfigError(
    problem.variable,
    message,
    problem.cause === undefined ? undefined : { cause: problem.cause },
  );
}

/**
 * Reads the metadata Lambda's configuration from its environment, once at cold start.
 *
 * - `PUBLIC_BASE_URL` (required): the server's public base URL.
 * - `AUTHKIT_ISSUER` (required): the AuthKit issuer, e.g. `https://acme.authkit.app`, normalised like the construct's
 *   `authkitDomain` (lower-case host, no trailing slash); http only for loopback hosts.
 * - `SCOPES_SUPPORTED` (default none): space separated; `offline_access` is dropped rather than rejected, because it is
 *   a valid AuthKit scope that users copy from AuthKit's list, but it is never something this resource requires.
 *   The dropped scopes are reported in `ignoredScopes` so that the handler can log them.
 * - `RESOURCE_NAME`, `RESOURCE_DOCUMENTATION` (default: omitted from the metadata).
 * - `AS_METADATA_TTL_SECONDS` (default 3600, 1 to 86400), `AS_METADATA_TIMEOUT_MS` (default 2000, 1 to 3000).
 *
 * @throws MetadataConfigError naming the variable and what to set.
 */
export function loadMetadataConfig(env: Env): MetadataConfig {
  const settings = fromEnvironment(METADATA_SETTINGS, env, configError);
  return {
    urls: serverUrls(settings.publicBaseUrl),
    issuer: settings.issuer,
    scopesSupported: resourceScopes(settings.scopesSupported),
    ignoredScopes: settings.scopesSupported.filter((scope) => scope === OFFLINE_ACCESS),
    ...(settings.resourceName === undefined ? {} : { resourceName: settings.resourceName }),
    ...(settings.resourceDocumentation === undefined ? {} : { resourceDocumentation: settings.resourceDocumentation }),
    asMetadataTtlSeconds: settings.asMetadataTtlSeconds,
    asMetadataTimeoutMs: settings.asMetadataTimeoutMs,
  };
}
