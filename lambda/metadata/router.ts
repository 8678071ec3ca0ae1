import {
  AUTHORIZATION_SERVER_METADATA_PATH,
  MCP_PATH,
  OPENID_CONFIGURATION_PATH,
  PROTECTED_RESOURCE_METADATA_PATH,
} from '../shared/urls';
import type { AuthorizationServerDocument, AuthorizationServerMetadataCache } from './as-metadata-cache';
import type { ProtectedResourceMetadata } from './documents';

/** A request as the router sees it: the method and the paths it may have been addressed to, most reliable first. */
export interface MetadataRequest {
  readonly method: string;
  readonly paths: readonly string[];
}

export interface MetadataResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface MetadataRouterDependencies {
  readonly protectedResourceMetadata: ProtectedResourceMetadata;
  readonly authorizationServerMetadata: AuthorizationServerMetadataCache;
  /** Shown in the 503 description so that whoever reads it knows which server is down. */
  readonly issuer: string;
}

/** What this function serves; the construct routes every method (ANY) of the well-known resources here, so `Allow` is true. */
export const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
/** Clients may cache the protected-resource metadata for a few minutes; it changes only with a redeployment. */
export const PROTECTED_RESOURCE_METADATA_MAX_AGE_SECONDS = 300;
const PREFLIGHT_MAX_AGE_SECONDS = 86_400;

type Route =
  | { readonly kind: 'protected-resource' }
  | { readonly kind: 'authorization-server'; readonly document: AuthorizationServerDocument };

const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  [`${PROTECTED_RESOURCE_METADATA_PATH}${MCP_PATH}`, { kind: 'protected-resource' }],
  [PROTECTED_RESOURCE_METADATA_PATH, { kind: 'protected-resource' }],
  [AUTHORIZATION_SERVER_METADATA_PATH, { kind: 'authorization-server', document: 'oauth-authorization-server' }],
  [OPENID_CONFIGURATION_PATH, { kind: 'authorization-server', document: 'openid-configuration' }],
]);

// Every response is readable from any origin: the documents are public and carry no credentials.
const COMMON_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Age, Retry-After',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** Maps a request to its route and builds the response. Every status that is not 204 carries a JSON body (except for HEAD). */
export function createMetadataRouter(
  deps: MetadataRouterDependencies,
): (request: MetadataRequest) => Promise<MetadataResponse> {
  const protectedResourceBody = JSON.stringify(deps.protectedResourceMetadata);

  async function respond(route: Route | undefined, method: string): Promise<MetadataResponse> {
    if (!route) {
      return jsonError(
        404,
        'not_found',
        `No metadata document here. This server publishes ${[...ROUTES.keys()].join(', ')}.`,
      );
    }
    if (method === 'OPTIONS') {
      return {
        statusCode: 204,
        headers: {
          ...COMMON_HEADERS,
          Allow: ALLOWED_METHODS,
          'Access-Control-Allow-Methods': ALLOWED_METHODS,
          // MCP clients send MCP-Protocol-Version on discovery requests, which makes browsers preflight them.
          'Access-Control-Allow-Headers': 'Authorization, Content-Type, Mcp-Protocol-Version',
          'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
        },
        body: '',
      };
    }
    if (method !== 'GET' && method !== 'HEAD') {
      return jsonError(405, 'method_not_allowed', `${method} is not supported here; use GET.`, {
        Allow: ALLOWED_METHODS,
      });
    }
    if (route.kind === 'protected-resource') {
      return json(200, protectedResourceBody, {
        'Cache-Control': `public, max-age=${PROTECTED_RESOURCE_METADATA_MAX_AGE_SECONDS}`,
      });
    }
    const result = await deps.authorizationServerMetadata.get(route.document);
    switch (result.outcome) {
      case 'hit':
      case 'fetched':
        return json(200, JSON.stringify(result.document), {
          'Cache-Control': `public, max-age=${result.remainingTtlSeconds}`,
        });
      case 'stale':
        // The copy is past its TTL: say how old it is and do not let clients keep it.
        return json(200, JSON.stringify(result.document), {
          'Cache-Control': 'no-cache',
          Age: String(result.ageSeconds),
        });
      case 'unavailable':
        return jsonError(
          503,
          'temporarily_unavailable',
          `The authorization server metadata could not be fetched from ${deps.issuer} and no earlier copy is available. Retry later, or fetch it from the authorization server directly.`,
          { 'Retry-After': String(result.retryAfterSeconds) },
        );
    }
  }

  return async (request) => {
    const method = request.method.toUpperCase();
    const response = await respond(findRoute(request.paths), method);
    // HEAD answers exactly as GET would, without the body.
    return method === 'HEAD' ? { ...response, body: '' } : response;
  };
}

function findRoute(paths: readonly string[]): Route | undefined {
  for (const path of paths) {
    // A trailing slash addresses the same document.
    const route = ROUTES.get(path.length > 1 ? path.replace(/\/+$/, '') : path);
    if (route) return route;
  }
  return undefined;
}

function json(statusCode: number, body: string, headers: Record<string, string>): MetadataResponse {
  return { statusCode, headers: { ...COMMON_HEADERS, 'Content-Type': 'application/json', ...headers }, body };
}

function jsonError(
  statusCode: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): MetadataResponse {
  return json(statusCode, JSON.stringify({ error, error_description: description }), {
    'Cache-Control': 'no-store',
    ...headers,
  });
}
