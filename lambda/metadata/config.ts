import { nonEmpty, readWholeNumber, type Env } from '../shared/env';
import { authkitIssuer, InvalidAuthKitDomainError } from '../shared/issuer';
import { isLoopbackHost } from '../shared/loopback';
import { isScopeToken, OFFLINE_ACCESS, resourceScopes } from '../shared/scopes';
import { InvalidBaseUrlError, serverUrls, type ServerUrls } from '../shared/urls';
import { MetadataConfigError } from './errors';

/** Defaults, as documented on {@link loadMetadataConfig}. */
export const DEFAULT_AS_METADATA_TTL_SECONDS = 3600;
export const DEFAULT_AS_METADATA_TIMEOUT_MS = 2000;
/** The upstream call must stay well inside the API Gateway integration timeout and the Lambda's own timeout. */
export const MAX_AS_METADATA_TIMEOUT_MS = 3000;
export const MAX_AS_METADATA_TTL_SECONDS = 86_400;

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

export type MetadataEnvironment = Env;

const configError = (variable: string, problem: string) => new MetadataConfigError(variable, problem);

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
export function loadMetadataConfig(env: MetadataEnvironment): MetadataConfig {
  const urls = readBaseUrl(env);
  const issuer = readIssuer(env);
  const { advertised, ignored } = readScopes(env);
  const resourceName = readOptional(env, 'RESOURCE_NAME');
  const resourceDocumentation = readDocumentationUrl(env);
  return {
    urls,
    issuer,
    scopesSupported: advertised,
    ignoredScopes: ignored,
    ...(resourceName === undefined ? {} : { resourceName }),
    ...(resourceDocumentation === undefined ? {} : { resourceDocumentation }),
    asMetadataTtlSeconds: readWholeNumber(
      env,
      'AS_METADATA_TTL_SECONDS',
      { fallback: DEFAULT_AS_METADATA_TTL_SECONDS, min: 1, max: MAX_AS_METADATA_TTL_SECONDS },
      configError,
    ),
    asMetadataTimeoutMs: readWholeNumber(
      env,
      'AS_METADATA_TIMEOUT_MS',
      { fallback: DEFAULT_AS_METADATA_TIMEOUT_MS, min: 1, max: MAX_AS_METADATA_TIMEOUT_MS },
      configError,
    ),
  };
}

function readRequired(env: MetadataEnvironment, variable: string, example: string): string {
  const value = nonEmpty(env[variable]);
  if (!value) throw new MetadataConfigError(variable, `is not set. Set it to ${example}.`);
  return value;
}

function readOptional(env: MetadataEnvironment, variable: string): string | undefined {
  return nonEmpty(env[variable]);
}

function readBaseUrl(env: MetadataEnvironment): ServerUrls {
  const value = readRequired(env, 'PUBLIC_BASE_URL', "the server's public base URL, e.g. https://mcp.example.com");
  try {
    return serverUrls(value);
  } catch (error) {
    if (error instanceof InvalidBaseUrlError)
      throw new MetadataConfigError('PUBLIC_BASE_URL', error.message, { cause: error });
    throw error;
  }
}

function readIssuer(env: MetadataEnvironment): string {
  const value = readRequired(env, 'AUTHKIT_ISSUER', 'your AuthKit domain, e.g. https://acme.authkit.app');
  try {
    // Normalised the way the construct and the authorizer do it: the copy of AuthKit's metadata must name this issuer exactly.
    return authkitIssuer(value);
  } catch (error) {
    if (error instanceof InvalidAuthKitDomainError)
      throw new MetadataConfigError('AUTHKIT_ISSUER', error.message, { cause: error });
    throw error;
  }
}

function readScopes(env: MetadataEnvironment): { advertised: readonly string[]; ignored: readonly string[] } {
  const listed = [...new Set((env.SCOPES_SUPPORTED ?? '').split(/\s+/).filter((scope) => scope !== ''))];
  for (const scope of listed) {
    if (!isScopeToken(scope)) {
      throw new MetadataConfigError(
        'SCOPES_SUPPORTED',
        `"${scope}" is not a valid OAuth scope. List scopes separated by spaces, e.g. "mcp:read mcp:write".`,
      );
    }
  }
  return {
    advertised: resourceScopes(listed),
    ignored: listed.filter((scope) => scope === OFFLINE_ACCESS),
  };
}

function readDocumentationUrl(env: MetadataEnvironment): string | undefined {
  const value = readOptional(env, 'RESOURCE_DOCUMENTATION');
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))) {
    throw new MetadataConfigError(
      'RESOURCE_DOCUMENTATION',
      `"${value}" is not an absolute https URL. Set it to the page that documents this server, or leave it unset.`,
    );
  }
  return value;
}
