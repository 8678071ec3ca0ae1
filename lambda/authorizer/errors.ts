/**
 * Why the authorizer refused (or could not judge) a request.
 *
 * Callers branch on the class (which HTTP outcome) or on `reason` (a stable code for logs and
 * metrics), never on message text. Messages are for people reading logs: they never contain the
 * token or any part of it.
 */
import type { DecisionReason } from '../shared/authorizer-decisions';
import type { AuthorizerIdentity } from '../shared/identity-context';

/**
 * The base of every error of the token authorizer. Each error states its own `name`: the bundle is
 * minified, which renames classes, and keeping their names (esbuild `keepNames`) costs the MCP bundle
 * 48 KB and its cold start a `__name` call per function.
 */
export abstract class AuthorizerError extends Error {
  abstract override readonly name: string;
}

export type { DecisionReason };

/** The reasons that mean "this token is not acceptable" (HTTP 401). */
export type InvalidTokenReason = Exclude<
  DecisionReason,
  'allowed' | 'insufficient_scope' | 'wrong_organization' | 'upstream_unavailable'
>;

/**
 * Identity of a token whose signature and claims were verified: the identity the authorizer hands
 * the backend (lambda/shared/identity-context), with the audience it was accepted for and its issuer.
 */
export interface VerifiedAccessToken extends AuthorizerIdentity {
  /** The audience that made the token acceptable here (the canonical resource or a configured extra audience). */
  readonly aud: string;
  /** `iss`: the AuthKit issuer. */
  readonly iss: string;
}

/** Base of every verification failure. */
export abstract class AccessTokenError extends AuthorizerError {
  abstract readonly reason: Exclude<DecisionReason, 'allowed'>;
}

/** The token is missing, malformed, forged, expired or meant for someone else: answer 401. */
export class InvalidTokenError extends AccessTokenError {
  override readonly name = 'InvalidTokenError';
  constructor(
    readonly reason: InvalidTokenReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The token is valid but lacks scopes this server requires: answer 403. */
export class InsufficientScopeError extends AccessTokenError {
  override readonly name = 'InsufficientScopeError';
  readonly reason = 'insufficient_scope' as const;
  constructor(
    readonly token: VerifiedAccessToken,
    readonly missingScopes: readonly string[],
  ) {
    super(`Token lacks required scopes: ${missingScopes.join(' ')}`);
  }
}

/**
 * The token is valid but comes from an organization this server does not serve, or from none when
 * one is required: answer 403. Unlike a missing scope, no new token from the same sign-in helps.
 */
export class OrganizationRefusedError extends AccessTokenError {
  override readonly name = 'OrganizationRefusedError';
  readonly reason = 'wrong_organization' as const;
  constructor(
    readonly token: VerifiedAccessToken,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The authorizer could not judge the token because AuthKit's JWKS is unreachable, slow or
 * broken: answer 5xx (the gateway turns it into 503 + Retry-After), never 401, so an outage does
 * not send every client back to log in.
 */
export class UpstreamUnavailableError extends AccessTokenError {
  override readonly name = 'UpstreamUnavailableError';
  readonly reason = 'upstream_unavailable' as const;
}

/** A setting in the function's environment is missing or malformed; the authorizer refuses to run. */
export class AuthorizerConfigError extends AuthorizerError {
  override readonly name = 'AuthorizerConfigError';
  readonly code = 'INVALID_AUTHORIZER_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}
