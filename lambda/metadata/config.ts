import { InvalidBaseUrlError, serverUrls, type ServerUrls } from '../shared/urls';
import { MetadataConfigError } from './errors';

/** Scopes that are never advertised as resource scopes: `offline_access` is a client's business with the authorization server. */
export const NEVER_ADVERTISED_SCOPES: readonly string[] = ['offline_access'];

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
  /** Scopes listed in `SCOPES_SUPPORTED` but left out of the metadata (see {@link NEVER_ADVERTISED_SCOPES}). */
  readonly ignoredScopes: readonly string[];
  readonly resourceName?: string;
  readonly resourceDocumentation?: string;
  /** How long a fetched copy of the authorization server's metadata counts as fresh. */
  readonly asMetadataTtlSeconds: number;
  /** How long one upstream fetch may take before it counts as failed. */
  readonly asMetadataTimeoutMs: number;
}

export type MetadataEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Reads the metadata Lambda's configuration from its environment, once at cold start.
 *
 * - `PUBLIC_BASE_URL` (required): the server's public base URL.
 * - `AUTHKIT_ISSUER` (required): the exact issuer, e.g. `https://acme.authkit.app`; http only for localhost/127.0.0.1.
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
    asMetadataTtlSeconds: readInteger(env, 'AS_METADATA_TTL_SECONDS', DEFAULT_AS_METADATA_TTL_SECONDS, 1, MAX_AS_METADATA_TTL_SECONDS),
    asMetadataTimeoutMs: readInteger(env, 'AS_METADATA_TIMEOUT_MS', DEFAULT_AS_METADATA_TIMEOUT_MS, 1, MAX_AS_METADATA_TIMEOUT_MS),
  };
}

function readRequired(env: MetadataEnvironment, variable: string, example: string): string {
  const value = env[variable]?.trim();
  if (!value) throw new MetadataConfigError(variable, `is not set. Set it to ${example}.`);
  return value;
}

function readOptional(env: MetadataEnvironment, variable: string): string | undefined {
  const value = env[variable]?.trim();
  return value ? value : undefined;
}

function readBaseUrl(env: MetadataEnvironment): ServerUrls {
  const value = readRequired(env, 'PUBLIC_BASE_URL', 'the server\'s public base URL, e.g. https://mcp.example.com');
  try {
    return serverUrls(value);
  } catch (error) {
    if (error instanceof InvalidBaseUrlError) throw new MetadataConfigError('PUBLIC_BASE_URL', error.message, { cause: error });
    throw error;
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);

function readIssuer(env: MetadataEnvironment): string {
  const value = readRequired(env, 'AUTHKIT_ISSUER', 'your AuthKit domain, e.g. https://acme.authkit.app');
  const invalid = (reason: string) =>
    new MetadataConfigError('AUTHKIT_ISSUER', `"${value}" ${reason}. Set it to the issuer exactly as AuthKit publishes it, e.g. https://acme.authkit.app.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('is not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw invalid('must use https (http is allowed only for localhost and 127.0.0.1)');
  }
  if (url.username || url.password) throw invalid('must not carry credentials');
  if (url.search || url.hash || /[?#]/.test(value)) throw invalid('must not carry a query or fragment');
  // The issuer is compared for exact equality with AuthKit's metadata and the tokens' `iss`, so a spelling that
  // URL parsing would change (upper-case host, default port, trailing slash) could never match.
  const canonical = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  if (canonical !== value) throw invalid(`is not in canonical form (expected "${canonical}": lower-case host, no default port, no trailing slash)`);
  return value;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function readScopes(env: MetadataEnvironment): { advertised: readonly string[]; ignored: readonly string[] } {
  const listed = [...new Set((env.SCOPES_SUPPORTED ?? '').split(/\s+/).filter((scope) => scope !== ''))];
  for (const scope of listed) {
    if (!SCOPE_TOKEN.test(scope)) {
      throw new MetadataConfigError('SCOPES_SUPPORTED', `"${scope}" is not a valid OAuth scope. List scopes separated by spaces, e.g. "mcp:read mcp:write".`);
    }
  }
  return {
    advertised: listed.filter((scope) => !NEVER_ADVERTISED_SCOPES.includes(scope)),
    ignored: listed.filter((scope) => NEVER_ADVERTISED_SCOPES.includes(scope)),
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
  if (!url || (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)))) {
    throw new MetadataConfigError('RESOURCE_DOCUMENTATION', `"${value}" is not an absolute https URL. Set it to the page that documents this server, or leave it unset.`);
  }
  return value;
}

function readInteger(env: MetadataEnvironment, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable]?.trim();
  if (!raw) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new MetadataConfigError(variable, `"${raw}" is not a whole number from ${min} to ${max}. Set it within that range or leave it unset for ${fallback}.`);
  }
  return value;
}
