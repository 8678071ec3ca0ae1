/**
 * The oidc-provider configuration that makes it behave like WorkOS AuthKit toward MCP clients:
 * AuthKit's endpoint paths, open dynamic registration of public clients, Client ID Metadata
 * Documents, PKCE S256 for every authorization request, RFC 8707 resource indicators that yield
 * RS256 JWT access tokens whose `aud` is the resource, AuthKit's claims, refresh tokens for the code
 * grant, M2M tokens from the client-credentials grant, and consent granted for whatever the dev
 * user is asked for. Browsers on other origins get no CORS answer: only loopback pages may read
 * what the stand-in returns.
 */
import Provider, {
  errors,
  type Client,
  type Configuration,
  type Grant,
  type IssuedToken,
  type KoaContext,
  type ResourceServerInfo,
} from 'oidc-provider';
import { DEV_USER, ENVIRONMENT_CLIENT_ID } from './contract.js';
import { LOOPBACK_HOSTNAMES, isLoopbackOrigin, isLoopbackUrl } from './loopback.js';
import { SharedMemoryAdapter, type SharedMemoryStore } from './memory-adapter.mjs';
import type { SigningJwk } from './signing-keys.mjs';

export const AUTHKIT_ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  registration: '/oauth2/register',
  jwks: '/oauth2/jwks',
  introspection: '/oauth2/introspection',
  revocation: '/oauth2/revoke',
  userinfo: '/oauth2/userinfo',
} as const;

/** Where the provider sends a person to sign in; served by the stand-in, not the library. */
export const INTERACTION_PATH_PREFIX = '/interaction/';

export interface AuthKitProviderSettings {
  readonly issuer: string;
  /** Newest first; the first one signs. */
  readonly signingKeys: readonly SigningJwk[];
  /** Keys that sign the interaction and session cookies; kept across key rotations. */
  readonly cookieKeys: readonly string[];
  /** Every scope the stand-in knows (AuthKit's standard four plus configured extras). */
  readonly scopes: readonly string[];
  readonly accessTokenTtlSeconds: number;
  /** Clients, grants, sessions and tokens; shared by the providers built before and after a key rotation. */
  readonly store: SharedMemoryStore;
  /**
   * Fetch Client ID Metadata Documents on loopback hosts (`https://127.0.0.1:<port>/client.json`)
   * over plain http, for tests: no certificate exists for them, and the library's SSRF guard refuses
   * loopback addresses. Off by default, so that a web page cannot make the stand-in send requests
   * to services on this machine.
   */
  readonly cimdLoopback: boolean;
}

/**
 * Registration accepts http redirect URIs only on loopback hosts (MCP clients listen on
 * ephemeral localhost ports); anything else must be https or a native app's private scheme.
 */
function checkRedirectUris(_ctx: unknown, key: string, value: unknown): void {
  if (key !== 'redirect_uris' || !Array.isArray(value)) return;
  for (const uri of value) {
    const parsed = typeof uri === 'string' ? URL.parse(uri) : null;
    if (parsed?.protocol === 'http:' && !LOOPBACK_HOSTNAMES.has(parsed.hostname)) {
      throw new errors.InvalidClientMetadata(
        `redirect_uris may use http only on localhost or 127.0.0.1, not ${parsed.host}`,
      );
    }
  }
}

/** The resource indicator a client-credentials request without `resource` resolves to; never an audience. */
const M2M_DEFAULT_RESOURCE = 'urn:authkit:environment';

function isClientCredentialsRequest(ctx: KoaContext): boolean {
  return ctx.oidc.route === 'token' && ctx.oidc.params.grant_type === 'client_credentials';
}

function resourceServerInfo(settings: AuthKitProviderSettings) {
  return async (ctx: KoaContext, resourceIndicator: string): Promise<ResourceServerInfo> => {
    const jwtFor = (audience: string): ResourceServerInfo => ({
      scope: settings.scopes.join(' '),
      audience,
      accessTokenTTL: settings.accessTokenTtlSeconds,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    });
    // AuthKit's M2M tokens are audienced to the environment's client id, whatever resource is named.
    if (isClientCredentialsRequest(ctx)) return jwtFor(ENVIRONMENT_CLIENT_ID);
    const url = URL.parse(resourceIndicator);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new errors.InvalidTarget('resource must be an http(s) URL, such as http://localhost:8787/mcp');
    }
    return jwtFor(resourceIndicator);
  };
}

/**
 * Consent is implied by signing in: once the sign-in page (or auto-approve) has completed, the grant
 * is extended with every scope, claim and resource of the request, so the library never asks a
 * second question. Outside that moment only what was granted before counts: a browser that still
 * holds the dev user's session must not hand a code to a client the user never approved (a page on
 * another site can navigate it to the authorization endpoint), so such a request goes through the
 * sign-in page again.
 */
async function grantEverythingRequested(ctx: KoaContext): Promise<Grant | undefined> {
  const { oidc } = ctx;
  if (!oidc.account) return undefined;
  const { Grant } = oidc.provider;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const existing = grantId ? await Grant.find(grantId) : undefined;
  if (!oidc.result) return existing;
  const grant = existing ?? new Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });

  const oidcScopes = [...oidc.requestParamOIDCScopes];
  if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
  const claims = [...oidc.requestParamClaims];
  if (claims.length > 0) grant.addOIDCClaims(claims);
  for (const [indicator, server] of Object.entries(oidc.resourceServers)) {
    const scopes = [...oidc.requestParamScopes].filter((scope) => server.scopes.has(scope));
    if (scopes.length > 0) grant.addResourceScope(indicator, scopes.join(' '));
  }
  await grant.save();
  return grant;
}

async function findAccount(_ctx: KoaContext, id: string) {
  if (id !== DEV_USER.sub) return undefined;
  return {
    accountId: DEV_USER.sub,
    async claims() {
      return {
        sub: DEV_USER.sub,
        email: DEV_USER.email,
        email_verified: true,
        name: `${DEV_USER.givenName} ${DEV_USER.familyName}`,
        given_name: DEV_USER.givenName,
        family_name: DEV_USER.familyName,
      };
    },
  };
}

/**
 * AuthKit puts the organization and the sign-in session in every user access token; an M2M token
 * carries the application's organization and no session (its `sub` is the client id, which the
 * library sets when a token has no account).
 */
async function authKitTokenClaims(_ctx: KoaContext, token: IssuedToken) {
  if (token.kind === 'ClientCredentials') return { org_id: DEV_USER.orgId };
  if (token.kind !== 'AccessToken' || token.accountId !== DEV_USER.sub) return undefined;
  return {
    org_id: DEV_USER.orgId,
    ...(token.sessionUid ? { sid: `session_${token.sessionUid}` } : {}),
  };
}

/**
 * The library's outgoing fetch (Client ID Metadata Documents). Loopback documents are fetched over
 * http without the SSRF guard only when the stand-in was asked to (tests); everything else goes out
 * as the library sends it: https, no redirects, special-use addresses refused.
 */
function outgoingFetch(cimdLoopback: boolean) {
  return (url: string | URL, options: RequestInit & { dispatcher?: unknown }): Promise<Response> => {
    const target = new URL(url);
    if (!cimdLoopback || target.protocol !== 'https:' || !isLoopbackUrl(target)) return fetch(url, options);
    target.protocol = 'http:';
    const { dispatcher: _ssrfGuard, ...rest } = options;
    return fetch(target, rest);
  };
}

/** oidc-provider's own error page imports web fonts; this one loads nothing, so it works offline. */
async function renderError(ctx: KoaContext, out: Record<string, unknown>): Promise<void> {
  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  const rows = Object.entries(out)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(String(value))}</p>`)
    .join('\n');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error – local AuthKit</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1c1c22}</style></head>
<body><h1>Sign-in cannot continue</h1>
${rows}
<p>Start again from your MCP client.</p></body></html>
`;
}

export function createAuthKitProvider(settings: AuthKitProviderSettings): Provider {
  const configuration: Configuration = {
    clients: [],
    adapter: (model: string) => new SharedMemoryAdapter(model, settings.store),
    jwks: { keys: settings.signingKeys.map((key) => ({ ...key })) },
    cookies: { keys: [...settings.cookieKeys] },
    routes: AUTHKIT_ROUTES,
    scopes: [...settings.scopes],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    responseTypes: ['code'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    // MCP clients register themselves with any redirect URI shape; the validator sees each one.
    extraClientMetadata: { properties: ['redirect_uris'], validator: checkRedirectUris },
    features: {
      devInteractions: { enabled: false },
      // Off because AuthKit offers neither: a client that saw DPoP advertised would bind its
      // tokens to a key, and the API Gateway authorizer accepts bearer tokens only.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      registration: { enabled: true, initialAccessToken: false },
      // AuthKit advertises client_id_metadata_document_supported and fetches https client ids.
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A refresh without `resource` keeps the audience the code was issued for.
        useGrantedResource: async () => true,
        // An M2M token is a JWT even when the request names no resource, as AuthKit's are.
        defaultResource: async (ctx: KoaContext, _client: Client, oneOf?: string[]) =>
          oneOf ?? (isClientCredentialsRequest(ctx) ? M2M_DEFAULT_RESOURCE : undefined),
        getResourceServerInfo: resourceServerInfo(settings),
      },
    },
    pkce: { required: () => true },
    // Browser-based MCP clients on this machine (MCP Inspector) call the token endpoint
    // cross-origin; a page anywhere else must not be able to read a token.
    clientBasedCORS: (_ctx: KoaContext, origin: string) => isLoopbackOrigin(origin),
    fetch: outgoingFetch(settings.cimdLoopback),
    renderError,
    findAccount,
    loadExistingGrant: grantEverythingRequested,
    extraTokenClaims: authKitTokenClaims,
    issueRefreshToken: async (_ctx: KoaContext, client: Client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    interactions: {
      url: (_ctx: KoaContext, interaction: { uid: string }) => `${INTERACTION_PATH_PREFIX}${interaction.uid}`,
    },
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
      ClientCredentials: 600,
    },
  };
  return new Provider(settings.issuer, configuration);
}
