/**
 * The oidc-provider configuration that makes it behave like WorkOS AuthKit toward MCP clients:
 * AuthKit's endpoint paths, open dynamic registration of public clients, PKCE S256 for every
 * authorization request, RFC 8707 resource indicators that yield RS256 JWT access tokens whose
 * `aud` is the resource, AuthKit's claims, refresh tokens for the code grant, and consent granted
 * for whatever the dev user is asked for.
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
import { DEV_USER } from './contract.js';
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
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Registration accepts http redirect URIs only on loopback hosts (MCP clients listen on
 * ephemeral localhost ports); anything else must be https or a native app's private scheme.
 */
function checkRedirectUris(_ctx: unknown, key: string, value: unknown): void {
  if (key !== 'redirect_uris' || !Array.isArray(value)) return;
  for (const uri of value) {
    const parsed = typeof uri === 'string' ? URL.parse(uri) : null;
    if (parsed?.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) {
      throw new errors.InvalidClientMetadata(`redirect_uris may use http only on localhost or 127.0.0.1, not ${parsed.host}`);
    }
  }
}

function resourceServerInfo(settings: AuthKitProviderSettings) {
  return async (_ctx: KoaContext, resourceIndicator: string): Promise<ResourceServerInfo> => {
    const url = URL.parse(resourceIndicator);
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new errors.InvalidTarget('resource must be an http(s) URL, such as http://localhost:8787/mcp');
    }
    return {
      scope: settings.scopes.join(' '),
      audience: resourceIndicator,
      accessTokenTTL: settings.accessTokenTtlSeconds,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    };
  };
}

/**
 * Consent is implied: the grant is extended with every scope, claim and resource of the current
 * request, so the library never asks a second question after sign-in.
 */
async function grantEverythingRequested(ctx: KoaContext): Promise<Grant | undefined> {
  const { oidc } = ctx;
  if (!oidc.account) return undefined;
  const { Grant } = oidc.provider;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId);
  const grant = (grantId ? await Grant.find(grantId) : undefined)
    ?? new Grant({ accountId: oidc.account.accountId, clientId: oidc.client.clientId });

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

/** AuthKit puts the organization and the sign-in session in every user access token. */
async function authKitTokenClaims(_ctx: KoaContext, token: IssuedToken) {
  if (token.kind !== 'AccessToken' || token.accountId !== DEV_USER.sub) return undefined;
  return {
    org_id: DEV_USER.orgId,
    ...(token.sessionUid ? { sid: `session_${token.sessionUid}` } : {}),
  };
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
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A refresh without `resource` keeps the audience the code was issued for.
        useGrantedResource: async () => true,
        getResourceServerInfo: resourceServerInfo(settings),
      },
    },
    pkce: { required: () => true },
    // Browser-based MCP clients (MCP Inspector) call the token endpoint cross-origin.
    clientBasedCORS: () => true,
    findAccount,
    loadExistingGrant: grantEverythingRequested,
    extraTokenClaims: authKitTokenClaims,
    issueRefreshToken: async (_ctx: KoaContext, client: Client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    interactions: { url: (_ctx: KoaContext, interaction: { uid: string }) => `${INTERACTION_PATH_PREFIX}${interaction.uid}` },
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
