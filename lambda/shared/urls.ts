/**
 * Every public URL of the server, derived from one base URL.
 *
 * The same function runs in the CDK construct (to build the gateway's challenges, challenges.ts, and the
 * Lambdas' environment) and in the Lambdas (to build metadata and check audiences), so the
 * `resource_metadata` a client is sent to, the `resource` it finds there and the audience the
 * authorizer expects can never disagree.
 */
import { isLoopbackHost } from './loopback';
import { ContractError } from './errors';

/** The path of the MCP endpoint below the base URL. */
export const MCP_PATH = '/mcp';
/** RFC 9728 well-known prefix for protected-resource metadata. */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';
/** RFC 8414 well-known location of authorization-server metadata. */
export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';
/** OpenID Connect discovery location. */
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

export interface ServerUrls {
  /** The normalised base: scheme and host in lower case, no trailing slash. */
  readonly base: string;
  /** The canonical resource URL: the MCP endpoint, the token audience and the WorkOS Resource Indicator. */
  readonly resource: string;
  /** RFC 9728 path-form metadata location (`<base>/.well-known/oauth-protected-resource/mcp`); the challenge points here. */
  readonly protectedResourceMetadata: string;
  /** The root metadata location (`<base>/.well-known/oauth-protected-resource`) for clients that do not add the path. */
  readonly protectedResourceMetadataRoot: string;
  /** The copy of the authorization server's RFC 8414 metadata served by this server. */
  readonly authorizationServerMetadata: string;
  /** The copy of the authorization server's OpenID configuration served by this server. */
  readonly openidConfiguration: string;
}

export class InvalidBaseUrlError extends ContractError {
  override readonly name = 'InvalidBaseUrlError';
  readonly code = 'INVALID_BASE_URL';
  constructor(
    readonly value: string,
    reason: string,
  ) {
    super(
      `Invalid public base URL "${value}": ${reason}. Use an absolute https URL such as https://mcp.example.com or https://abc123.execute-api.us-east-1.amazonaws.com/prod.`,
    );
  }
}

// CDK tokens (`${Token[...]}`) stand for values known only at deploy time; they are kept as they
// are so that the construct can call this function on an unresolved API id at synth time.
const CDK_TOKEN = /\$\{Token\[[^\]]+\]\}/g;

function lowerCaseOutsideTokens(value: string): string {
  let out = '';
  let last = 0;
  for (const match of value.matchAll(CDK_TOKEN)) {
    out += value.slice(last, match.index).toLowerCase() + match[0];
    last = match.index + match[0].length;
  }
  return out + value.slice(last).toLowerCase();
}

/**
 * Normalises a public base URL: lower-case scheme and host, no trailing slash, no query or fragment.
 * `http` is accepted only for loopback hosts (local development).
 */
export function normaliseBaseUrl(baseUrl: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]+)([^?#]*)(.*)$/.exec(baseUrl.trim());
  if (!match) throw new InvalidBaseUrlError(baseUrl, 'it is not an absolute URL');
  const [, scheme, host, path, rest] = match;
  if (rest !== '') throw new InvalidBaseUrlError(baseUrl, 'it must not carry a query or fragment');
  if (host.includes('@')) throw new InvalidBaseUrlError(baseUrl, 'it must not carry credentials');
  const lowerScheme = scheme.toLowerCase();
  const lowerHost = lowerCaseOutsideTokens(host);
  const loopback = isLoopbackHost(lowerHost.replace(/:\d+$/, ''));
  if (lowerScheme !== 'https' && !(lowerScheme === 'http' && loopback)) {
    throw new InvalidBaseUrlError(baseUrl, 'the scheme must be https (http is allowed only for localhost)');
  }
  const trimmedPath = path.replace(/\/+$/, '');
  return `${lowerScheme}://${lowerHost}${trimmedPath}`;
}

/** Derives every public URL of the server from its base URL (custom domain, or execute-api endpoint with its stage). */
export function serverUrls(baseUrl: string): ServerUrls {
  const base = normaliseBaseUrl(baseUrl);
  return {
    base,
    resource: `${base}${MCP_PATH}`,
    protectedResourceMetadata: `${base}${PROTECTED_RESOURCE_METADATA_PATH}${MCP_PATH}`,
    protectedResourceMetadataRoot: `${base}${PROTECTED_RESOURCE_METADATA_PATH}`,
    authorizationServerMetadata: `${base}${AUTHORIZATION_SERVER_METADATA_PATH}`,
    openidConfiguration: `${base}${OPENID_CONFIGURATION_PATH}`,
  };
}

/**
 * URL-decodes a path segment or query part; text that is not valid percent-encoding stays as sent
 * (API Gateway passes a stray `%` through, and it must not become a URIError).
 */
export function decodeLeniently(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
