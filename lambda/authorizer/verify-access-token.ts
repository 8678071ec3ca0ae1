/**
 * Verifies an AuthKit access token for this resource server: jose's `jwtVerify` checks the
 * signature (algorithms pinned) and the registered claims (exact issuer, audience, exp, nbf with
 * the clock tolerance, required claims); this module adds what the MCP profile asks on top of the
 * verified claims (one audience unless configured, claim types, no ID token, the allowed
 * organizations, required scopes).
 *
 * Only verified facts become rejection reasons. Before the signature is verified a token can be
 * refused as `malformed` (cheap structural checks: size, three canonical base64url segments, a
 * header that asks for no key or processing of its own choosing), as `unknown_key` (no published
 * key fits its header) or as `bad_signature`. `expired`, `wrong_issuer`, `wrong_audience`,
 * `not_yet_valid`, `not_an_access_token`, `wrong_organization` and `insufficient_scope` come only
 * from tokens whose signature verified, so forged tokens cannot inflate them.
 */
import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTHeaderParameters,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import type { AccessTokenPolicy, JwksSettings, OrganizationPolicy } from './config';
import {
  InsufficientScopeError,
  InvalidTokenError,
  OrganizationRefusedError,
  UpstreamUnavailableError,
  type VerifiedAccessToken,
} from './errors';
import { createRemoteJwks } from './jwks';
import { organizationRefusal } from './organization';

export type { VerifiedAccessToken } from './errors';

/** The one capability the handler (and the local stack) depends on. */
export interface AccessTokenVerifier {
  /** Resolves with the token's identity, or rejects with an `AccessTokenError`. */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken>;
}

export interface AccessTokenVerifierDependencies {
  /** Where signing keys come from. @default the remote JWKS at `config.jwksUrl` */
  readonly jwks?: JWTVerifyGetKey;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Largest token accepted, checked before any decoding. */
export const MAX_TOKEN_BYTES = 8192;
/** Bound of the checked-header memo; a flood of distinct headers only empties it. */
const MAX_REMEMBERED_HEADERS = 32;

/** Header parameters that would let the token choose its own key, or change how it is processed. */
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'b64', 'zip'] as const;
/** `typ` values of access tokens (RFC 9068) and of JWTs in general; AuthKit's own tokens carry none. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt', 'jwt', 'application/jwt']);
/** Claims OpenID Connect defines for ID tokens only (Core §2, §3.1.3.6, §3.3.2.11). */
const ID_TOKEN_CLAIMS = ['nonce', 'auth_time', 'at_hash', 'c_hash'] as const;

export function createAccessTokenVerifier(
  config: AccessTokenPolicy & OrganizationPolicy & Partial<JwksSettings>,
  dependencies: AccessTokenVerifierDependencies = {},
): AccessTokenVerifier {
  const getKey = dependencies.jwks ?? remoteJwksFor(config);
  const now = dependencies.now ?? Date.now;
  const options: JWTVerifyOptions = {
    algorithms: [...config.algorithms],
    issuer: config.issuer,
    audience: [...config.audiences],
    clockTolerance: config.clockToleranceSeconds,
    requiredClaims: ['exp', 'sub'],
  };
  // AuthKit signs every token with the same few headers: remember the verdict on each.
  const checkedHeaders = new Map<string, InvalidTokenError | null>();

  function checkHeaderOnce(token: string, encodedHeader: string): void {
    let verdict = checkedHeaders.get(encodedHeader);
    if (verdict === undefined) {
      verdict = headerProblem(token, config.algorithms);
      if (checkedHeaders.size >= MAX_REMEMBERED_HEADERS) checkedHeaders.clear();
      checkedHeaders.set(encodedHeader, verdict);
    }
    if (verdict) throw verdict;
  }

  async function verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    checkShape(token);
    checkHeaderOnce(token, token.slice(0, token.indexOf('.')));
    const currentDate = new Date(now());
    let verified: { payload: JWTPayload; protectedHeader: JWTHeaderParameters };
    try {
      verified = await jwtVerify(token, getKey, { ...options, currentDate });
    } catch (error) {
      throw asAccessTokenError(error, currentDate.getTime());
    }
    const identity = verifiedIdentity(verified.payload, verified.protectedHeader, config);
    // Before the scopes: a caller of another organization cannot fix that by asking for more scopes.
    const refusal = organizationRefusal(identity.orgId, config);
    if (refusal !== undefined) throw new OrganizationRefusedError(identity, refusal);
    if (config.requiredScopes.length > 0) {
      const granted = new Set(identity.scopes);
      const missing = config.requiredScopes.filter((s) => !granted.has(s));
      if (missing.length > 0) throw new InsufficientScopeError(identity, missing);
    }
    return identity;
  }

  return { verifyAccessToken };
}

function remoteJwksFor(config: Partial<JwksSettings>): JWTVerifyGetKey {
  if (!config.jwksUrl || config.jwksTimeoutMs === undefined || config.jwksCooldownMs === undefined) {
    throw new Error(
      'createAccessTokenVerifier needs either a jwks key resolver or jwksUrl, jwksTimeoutMs and jwksCooldownMs',
    );
  }
  return createRemoteJwks({ url: config.jwksUrl, timeoutMs: config.jwksTimeoutMs, cooldownMs: config.jwksCooldownMs });
}

/** Quotes a value taken from the token for a log message, bounded so a token cannot flood the logs. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Strict base64url: only the alphabet, no padding, no impossible length, and zero bits in the
 * unused low bits of the last character, so each byte string has exactly one accepted spelling
 * (jose's decoder, like `atob`, ignores those bits).
 */
function isCanonicalBase64url(segment: string): boolean {
  const tail = segment.length % 4;
  if (!BASE64URL.test(segment) || tail === 1) return false;
  const unusedBits = tail === 2 ? 0x0f : tail === 3 ? 0x03 : 0;
  return unusedBits === 0 || (BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]) & unusedBits) === 0;
}

/** The cheap structural checks, before anything is decoded. */
function checkShape(token: string): void {
  if (typeof token !== 'string' || token === '') throw new InvalidTokenError('missing', 'No access token');
  if (token.length > MAX_TOKEN_BYTES)
    throw new InvalidTokenError('malformed', `Token is longer than ${MAX_TOKEN_BYTES} bytes`);
  const segments = token.split('.');
  if (segments.length === 5)
    throw new InvalidTokenError('malformed', 'Token is an encrypted JWT (JWE); only signed tokens are accepted');
  if (segments.length !== 3)
    throw new InvalidTokenError('malformed', `Token has ${segments.length} segments, expected 3`);
  const names = ['header', 'payload', 'signature'];
  segments.forEach((segment, i) => {
    if (segment === '' || !isCanonicalBase64url(segment))
      throw new InvalidTokenError('malformed', `Token ${names[i]} is not valid base64url`);
  });
}

/** What is wrong with the token's header, or null: refused before any key is looked up. */
function headerProblem(token: string, algorithms: readonly string[]): InvalidTokenError | null {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (error) {
    return new InvalidTokenError('malformed', 'Token header is not a JSON object', { cause: error });
  }
  if ('enc' in header)
    return new InvalidTokenError('malformed', 'Token is an encrypted JWT (JWE); only signed tokens are accepted');
  const { alg } = header;
  if (typeof alg !== 'string') return new InvalidTokenError('malformed', 'Token header has no alg');
  if (!algorithms.includes(alg)) {
    const shown = /^[A-Za-z0-9+-]{1,16}$/.test(alg) ? alg : 'an unsupported value';
    if (alg.toLowerCase() === 'none')
      return new InvalidTokenError('malformed', 'Unsigned tokens (alg none) are not accepted');
    return new InvalidTokenError(
      'malformed',
      `${/^HS\d+$/i.test(alg) ? 'HMAC algorithm' : 'Algorithm'} ${shown} is not accepted; only ${algorithms.join(', ')}`,
    );
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) return new InvalidTokenError('malformed', `Token header parameter "${name}" is not accepted`);
  }
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
    return new InvalidTokenError('malformed', 'Token header kid is not a non-empty string');
  }
  return null;
}

/**
 * What each jose error means here. Errors raised before the signature is checked (JWSInvalid,
 * JOSEAlgNotAllowed, JOSENotSupported) are `malformed`; no fitting published key is `unknown_key`;
 * a signature that does not verify is `bad_signature`; claim failures (raised only after the
 * signature verified) map to their claim; AuthKit publishing a key jose cannot use is upstream's fault.
 */
export function asAccessTokenError(error: unknown, nowMs: number = Date.now()): Error {
  if (error instanceof InvalidTokenError || error instanceof UpstreamUnavailableError) return error;
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return new InvalidTokenError('bad_signature', 'Signature does not verify with the published key', { cause: error });
  if (error instanceof errors.JWKSNoMatchingKey)
    return new InvalidTokenError('unknown_key', 'No published signing key fits the token’s kid and algorithm', {
      cause: error,
    });
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return new InvalidTokenError('unknown_key', 'Several published keys fit a token without kid; a kid is required', {
      cause: error,
    });
  if (error instanceof errors.JWTExpired)
    return new InvalidTokenError('expired', `Token expired ${secondsFrom(error.payload.exp, nowMs)} s ago`, {
      cause: error,
    });
  if (error instanceof errors.JWTClaimValidationFailed) return claimError(error, nowMs);
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JWKInvalid) {
    return new UpstreamUnavailableError(`AuthKit's JWKS holds a key that cannot be used: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof errors.JOSEError)
    return new InvalidTokenError('malformed', `Token refused: ${error.message}`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

/** Whole seconds between a verified numeric date claim and now, for log messages. */
function secondsFrom(claim: unknown, nowMs: number): number {
  return Math.abs(Math.round(Number(claim) - nowMs / 1000));
}

function claimError(error: InstanceType<typeof errors.JWTClaimValidationFailed>, nowMs: number): InvalidTokenError {
  const { claim, reason, payload } = error;
  if (claim === 'iss' && reason === 'check_failed')
    return new InvalidTokenError('wrong_issuer', `Token issuer ${quote(payload.iss)} is not the configured issuer`, {
      cause: error,
    });
  if (claim === 'aud') return new InvalidTokenError('wrong_audience', audienceMessage(payload.aud), { cause: error });
  if (claim === 'nbf' && reason === 'check_failed')
    return new InvalidTokenError(
      'not_yet_valid',
      `Token is not valid for another ${secondsFrom(payload.nbf, nowMs)} s (nbf)`,
      { cause: error },
    );
  return new InvalidTokenError('malformed', `Token claim ${claim}: ${error.message}`, { cause: error });
}

function audienceMessage(aud: unknown): string {
  if (aud === undefined) return 'Token has no audience';
  const named = (Array.isArray(aud) ? aud : [aud]).slice(0, 3).map(quote).join(', ');
  return `Token audience ${named} does not name this resource; register it as the WorkOS Resource Indicator or list the audience in ACCEPTED_AUDIENCES`;
}

/** The MCP profile's checks on claims jose has verified, and the identity they carry. */
function verifiedIdentity(
  payload: JWTPayload,
  header: JWTHeaderParameters,
  config: Pick<AccessTokenPolicy, 'allowMultipleAudiences' | 'audiences'>,
): VerifiedAccessToken {
  if (typeof payload.sub !== 'string' || payload.sub === '')
    throw new InvalidTokenError('malformed', 'Token sub claim is not a non-empty string');
  for (const name of ['scope', 'client_id', 'org_id', 'sid', 'jti'] as const) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string')
      throw new InvalidTokenError('malformed', `Token claim ${name} is not a string`);
  }
  refuseIdToken(payload, header);
  const scope = payload.scope as string | undefined;
  return {
    sub: payload.sub,
    clientId: payload.client_id as string | undefined,
    orgId: payload.org_id as string | undefined,
    sid: payload.sid as string | undefined,
    scopes: scope === undefined ? [] : scope.split(' ').filter((s) => s !== ''),
    jti: payload.jti,
    exp: payload.exp as number,
    aud: acceptedAudience(payload.aud as string | string[], config),
    iss: payload.iss as string,
  };
}

/**
 * An ID token from the same AuthKit environment carries the same issuer and key, and its `aud` is
 * the client id, which ACCEPTED_AUDIENCES may list. Refused when its `typ` names another kind of
 * JWT, or when it carries a claim only ID tokens carry and no `scope` (AuthKit access tokens carry
 * `scope` and none of those claims).
 */
function refuseIdToken(payload: JWTPayload, header: JWTHeaderParameters): void {
  const { typ } = header;
  if (typ !== undefined && !(typeof typ === 'string' && ACCESS_TOKEN_TYPES.has(typ.toLowerCase()))) {
    throw new InvalidTokenError(
      'not_an_access_token',
      `Token typ ${quote(typ)} is not an access token type (at+jwt or JWT)`,
    );
  }
  const idClaim = ID_TOKEN_CLAIMS.find((name) => payload[name] !== undefined);
  if (idClaim !== undefined && payload.scope === undefined) {
    throw new InvalidTokenError(
      'not_an_access_token',
      `Token carries ${idClaim} and no scope: it is an ID token, not an access token`,
    );
  }
}

function acceptedAudience(
  aud: string | string[],
  config: Pick<AccessTokenPolicy, 'allowMultipleAudiences' | 'audiences'>,
): string {
  const named = typeof aud === 'string' ? [aud] : aud;
  if (named.length > 1 && !config.allowMultipleAudiences) {
    throw new InvalidTokenError(
      'wrong_audience',
      `Token names ${named.length} audiences; set ALLOW_MULTIPLE_AUDIENCES=true to accept such tokens`,
    );
  }
  // jose checked that one of them is accepted; prefer the canonical resource when several are.
  const accepted = config.audiences.find((a) => named.includes(a));
  if (accepted === undefined) throw new InvalidTokenError('wrong_audience', audienceMessage(aud));
  return accepted;
}
