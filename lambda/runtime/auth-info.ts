/**
 * The token authorizer's context → the MCP SDK's `AuthInfo`, which every tool sees.
 *
 * The MCP handler does not verify signatures again (the authorizer did, and API Gateway only
 * invokes the backend when it allowed the call). It does refuse a request that carries no
 * authorizer identity: a route wired without the authorizer must not become an open door. And it
 * checks `exp` on every request, because API Gateway serves a cached Allow for the whole
 * `authorizerCacheTtl` without looking at the token's expiry.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { bearerCredentialsOf } from '../shared/bearer-token';
import {
  readAuthorizerIdentity,
  type AuthorizerIdentity,
  type DeliveredAuthorizerContext,
  type MissingIdentityPart,
} from '../shared/identity-context';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS } from '../shared/token-policy';
import { ExpiredTokenError, MissingIdentityError } from './errors';

/** Where the identity came from and which resource it was accepted for. */
export interface IdentitySource {
  /** `event.requestContext.authorizer` (API Gateway delivers the values as strings). */
  readonly authorizer: DeliveredAuthorizerContext | null | undefined;
  /** The request's `Authorization` header; the token for `AuthInfo.token` is read from it. */
  readonly authorizationHeader: string | undefined;
  /** The canonical resource URL (`serverUrls(PUBLIC_BASE_URL).resource`). */
  readonly resource: URL;
  /** The path-form protected-resource metadata URL, for scope challenges. */
  readonly resourceMetadataUrl: string;
  /** Allowed clock skew when checking `exp`, in seconds. @default 30 */
  readonly clockToleranceSeconds?: number;
  /** The current time, in seconds since the epoch. @default Date.now() / 1000 */
  readonly nowSeconds?: number;
}

/** The identity fields the runtime puts in `AuthInfo.extra`. Absent claims are absent here too. */
// A type alias, not an interface, so it is assignable to `AuthInfo.extra` (a record).
export type AuthInfoExtra = {
  readonly sub: string;
  readonly orgId?: string;
  readonly sid?: string;
  readonly jti?: string;
  /** The audience the token was accepted for. */
  readonly aud?: string;
};

const MISSING_IDENTITY_MESSAGES: Readonly<Record<MissingIdentityPart, string>> = {
  context: 'the request carries no authorizer context; the route must be protected by the token authorizer',
  sub: 'the authorizer context has no "sub"; the route must be protected by the token authorizer',
  // The token authorizer always puts `exp` in the context; without it expiry cannot be enforced.
  exp: 'the authorizer context has no usable "exp"; the route must be protected by the token authorizer',
};

/**
 * Builds the `AuthInfo` for one request. Throws {@link MissingIdentityError} (answered 401) when
 * the authorizer context, its `sub`, its `exp` or the bearer token is missing, and
 * {@link ExpiredTokenError} (answered 401 `invalid_token`) when the token's `exp` has passed.
 */
export function authInfoFromAuthorizer(source: IdentitySource): AuthInfo {
  const reading = readAuthorizerIdentity(source.authorizer);
  if (reading.missing !== undefined) throw new MissingIdentityError(MISSING_IDENTITY_MESSAGES[reading.missing]);
  const { identity } = reading;
  const token = bearerCredentialsOf(source.authorizationHeader);
  if (token === undefined) {
    throw new MissingIdentityError('the request has no bearer token in its Authorization header');
  }
  const tolerance = source.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  // The same rule as the authorizer's verification: expired once `exp` is `tolerance` seconds in the past.
  if (identity.exp <= (source.nowSeconds ?? Date.now() / 1000) - tolerance) {
    throw new ExpiredTokenError(identity.sub, identity.exp, tolerance);
  }
  return {
    token,
    clientId: identity.clientId ?? '',
    scopes: [...identity.scopes],
    expiresAt: identity.exp,
    resource: source.resource,
    resourceMetadataUrl: source.resourceMetadataUrl,
    extra: authInfoExtraOf(identity),
  };
}

/** Absent claims stay absent (no undefined-valued keys); assigned one by one, as this runs per request. */
function authInfoExtraOf(identity: AuthorizerIdentity): AuthInfoExtra {
  const extra: { -readonly [Field in keyof AuthInfoExtra]: AuthInfoExtra[Field] } = { sub: identity.sub };
  if (identity.orgId !== undefined) extra.orgId = identity.orgId;
  if (identity.sid !== undefined) extra.sid = identity.sid;
  if (identity.jti !== undefined) extra.jti = identity.jti;
  if (identity.aud !== undefined) extra.aud = identity.aud;
  return extra;
}

/** The scopes of `required` that `authInfo` does not hold, in the order given. */
export function missingScopes(authInfo: AuthInfo, required: readonly string[]): string[] {
  const held = new Set(authInfo.scopes);
  return required.filter((scope) => !held.has(scope));
}
