/**
 * Verifies an AuthKit access token (a compact JWS) for this resource server.
 *
 * Signatures are checked with Node's one-shot `crypto.verify` on cached `KeyObject`s: on Node,
 * jose 6 goes through WebCrypto, whose asynchronous verify measured about 3x the raw RSA cost
 * (see bench/authorizer.bench.ts), while the authorizer's target is 1.3x. The claim rules are
 * the ones jose applies, written out, plus the profile checks the MCP specification asks for.
 *
 * Everything cheap that can reject is checked before the key lookup and the signature, so
 * tokens that fail anyway neither cost an RSA verification nor trigger a JWKS fetch. Nothing is
 * accepted before the signature has been verified.
 */
import { constants, KeyObject, verify } from 'node:crypto';
import type { TokenAlgorithm } from '../shared/token-policy';
import type { AccessTokenPolicy, JwksSettings } from './config';
import { InsufficientScopeError, InvalidTokenError, type VerifiedAccessToken } from './errors';
import { createRemoteJwks, type KeySelector, type SigningKeyResolver } from './jwks';

export type { VerifiedAccessToken } from './errors';

/** The one capability the handler (and the local stack) depends on. */
export interface AccessTokenVerifier {
  /** Resolves with the token's identity, or rejects with an `AccessTokenError`. */
  verifyAccessToken(token: string): Promise<VerifiedAccessToken>;
}

export interface AccessTokenVerifierDependencies {
  /** Where signing keys come from. @default the remote JWKS at `config.jwksUrl` */
  readonly jwks?: SigningKeyResolver;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Largest token accepted, checked before any decoding. */
export const MAX_TOKEN_BYTES = 8192;
/** Bound of the checked-header memo; a flood of distinct headers only empties it. */
const MAX_REMEMBERED_HEADERS = 32;

/** Header parameters that would let the token choose its own key, or change how it is processed. */
const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c', 'b64', 'zip'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

type SignatureCheck = (data: Buffer, key: KeyObject, signature: Buffer) => boolean;

const pss = (hash: string): SignatureCheck => (data, key, signature) =>
  verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
const pkcs1 = (hash: string): SignatureCheck => (data, key, signature) => verify(hash, data, key, signature);
const ecdsa = (hash: string): SignatureCheck => (data, key, signature) => verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);

const SIGNATURE_CHECKS: Record<TokenAlgorithm, SignatureCheck> = {
  RS256: pkcs1('sha256'),
  RS384: pkcs1('sha384'),
  RS512: pkcs1('sha512'),
  PS256: pss('sha256'),
  PS384: pss('sha384'),
  PS512: pss('sha512'),
  ES256: ecdsa('sha256'),
  ES384: ecdsa('sha384'),
  ES512: ecdsa('sha512'),
  EdDSA: (data, key, signature) => verify(null, data, key, signature),
};

export function createAccessTokenVerifier(
  config: AccessTokenPolicy & Partial<JwksSettings>,
  dependencies: AccessTokenVerifierDependencies = {},
): AccessTokenVerifier {
  const jwks = dependencies.jwks ?? remoteJwksFor(config);
  const now = dependencies.now ?? Date.now;
  const algorithms: ReadonlySet<string> = new Set(config.algorithms);
  // AuthKit signs every token with the same few headers: remember the ones that passed the checks.
  const checkedHeaders = new Map<string, KeySelector>();

  function readHeader(encodedHeader: string): KeySelector {
    const known = checkedHeaders.get(encodedHeader);
    if (known) return known;
    const header = decodeJsonSegment(encodedHeader, 'header');
    const selector: KeySelector = { alg: checkHeader(header, algorithms), kid: header.kid as string | undefined };
    if (checkedHeaders.size >= MAX_REMEMBERED_HEADERS) checkedHeaders.clear();
    checkedHeaders.set(encodedHeader, selector);
    return selector;
  }

  async function verifyAccessToken(token: string): Promise<VerifiedAccessToken> {
    if (typeof token !== 'string' || token === '') throw new InvalidTokenError('missing', 'No access token');
    if (token.length > MAX_TOKEN_BYTES) throw new InvalidTokenError('malformed', `Token is longer than ${MAX_TOKEN_BYTES} bytes`);
    const segments = token.split('.');
    if (segments.length === 5) throw new InvalidTokenError('malformed', 'Token is an encrypted JWT (JWE); only signed tokens are accepted');
    if (segments.length !== 3) throw new InvalidTokenError('malformed', `Token has ${segments.length} segments, expected 3`);
    const [encodedHeader, encodedPayload, encodedSignature] = segments;

    const { alg, kid } = readHeader(encodedHeader);
    const claims = readClaims(decodeJsonSegment(encodedPayload, 'payload'));

    if (claims.iss !== config.issuer) {
      throw new InvalidTokenError('wrong_issuer', `Token issuer ${quote(claims.iss)} is not ${config.issuer}`);
    }
    const nowSeconds = now() / 1000;
    if (claims.exp <= nowSeconds - config.clockToleranceSeconds) {
      throw new InvalidTokenError('expired', `Token expired ${Math.round(nowSeconds - claims.exp)} s ago`);
    }
    if (claims.nbf !== undefined && claims.nbf > nowSeconds + config.clockToleranceSeconds) {
      throw new InvalidTokenError('not_yet_valid', `Token is not valid for another ${Math.round(claims.nbf - nowSeconds)} s (nbf)`);
    }
    const aud = matchAudience(claims.aud, config);

    const found = jwks.resolveKey(kid === undefined ? { alg } : { alg, kid });
    const key = found instanceof KeyObject ? found : await found;
    const signature = decodeSegment(encodedSignature, 'signature');
    if (!signatureMatches(alg, key, Buffer.from(token.slice(0, encodedHeader.length + 1 + encodedPayload.length), 'latin1'), signature)) {
      throw new InvalidTokenError('bad_signature', `Signature does not verify with key ${kid === undefined ? '(no kid)' : quote(kid)}`);
    }

    const verified: VerifiedAccessToken = {
      sub: claims.sub,
      clientId: claims.client_id,
      orgId: claims.org_id,
      sid: claims.sid,
      scopes: claims.scope === undefined ? [] : claims.scope.split(' ').filter((s) => s !== ''),
      jti: claims.jti,
      exp: claims.exp,
      aud,
      iss: claims.iss,
    };
    if (config.requiredScopes.length > 0) {
      const granted = new Set(verified.scopes);
      const missing = config.requiredScopes.filter((s) => !granted.has(s));
      if (missing.length > 0) throw new InsufficientScopeError(verified, missing);
    }
    return verified;
  }

  return { verifyAccessToken };
}

function remoteJwksFor(config: Partial<JwksSettings>): SigningKeyResolver {
  if (!config.jwksUrl || config.jwksTimeoutMs === undefined || config.jwksCooldownMs === undefined) {
    throw new Error('createAccessTokenVerifier needs either a jwks resolver or jwksUrl, jwksTimeoutMs and jwksCooldownMs');
  }
  return createRemoteJwks({ url: config.jwksUrl, timeoutMs: config.jwksTimeoutMs, cooldownMs: config.jwksCooldownMs });
}

/** Quotes a value taken from the token for a log message, bounded so a token cannot flood the logs. */
function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Strict base64url: only the alphabet, no padding, no impossible length, and zero bits in the
 * unused low bits of the last character, so each byte string has exactly one accepted spelling.
 */
function decodeSegment(segment: string, part: string): Buffer {
  const tail = segment.length % 4;
  const lastValue = BASE64URL_ALPHABET.indexOf(segment[segment.length - 1]);
  const unusedBits = tail === 2 ? 0x0f : tail === 3 ? 0x03 : 0;
  if (!BASE64URL.test(segment) || tail === 1 || (lastValue & unusedBits) !== 0) {
    throw new InvalidTokenError('malformed', `Token ${part} is not valid base64url`);
  }
  return Buffer.from(segment, 'base64url');
}

function decodeJsonSegment(segment: string, part: string): Record<string, unknown> {
  const text = decodeSegment(segment, part).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidTokenError('malformed', `Token ${part} is not JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTokenError('malformed', `Token ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>, algorithms: ReadonlySet<string>): TokenAlgorithm {
  if ('enc' in header) throw new InvalidTokenError('malformed', 'Token is an encrypted JWT (JWE); only signed tokens are accepted');
  const alg = header.alg;
  if (typeof alg !== 'string') throw new InvalidTokenError('malformed', 'Token header has no alg');
  if (!algorithms.has(alg)) {
    const shown = /^[A-Za-z0-9+-]{1,16}$/.test(alg) ? alg : 'an unsupported value';
    if (alg.toLowerCase() === 'none') throw new InvalidTokenError('malformed', 'Unsigned tokens (alg none) are not accepted');
    if (/^HS\d+$/i.test(alg)) throw new InvalidTokenError('malformed', `HMAC algorithm ${shown} is not accepted; only ${[...algorithms].join(', ')}`);
    throw new InvalidTokenError('malformed', `Algorithm ${shown} is not accepted; only ${[...algorithms].join(', ')}`);
  }
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw new InvalidTokenError('malformed', `Token header parameter "${name}" is not accepted`);
  }
  // No JWS extension is understood here, so any critical one must be refused (RFC 7515 §4.1.11).
  if ('crit' in header) throw new InvalidTokenError('malformed', 'Token header lists critical extensions that are not understood');
  if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid === '')) {
    throw new InvalidTokenError('malformed', 'Token header kid is not a non-empty string');
  }
  return alg as TokenAlgorithm;
}

interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly nbf?: number;
  readonly scope?: string;
  readonly client_id?: string;
  readonly org_id?: string;
  readonly sid?: string;
  readonly jti?: string;
}

function readClaims(payload: Record<string, unknown>): AccessTokenClaims {
  const { iss, sub, aud, exp, nbf, iat } = payload;
  if (typeof iss !== 'string') throw new InvalidTokenError('malformed', 'Token has no iss claim');
  if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('malformed', 'Token has no sub claim');
  if (exp === undefined) throw new InvalidTokenError('malformed', 'Token has no exp claim');
  for (const [name, value] of [['exp', exp], ['nbf', nbf], ['iat', iat]] as const) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new InvalidTokenError('malformed', `Token claim ${name} is not a number`);
    }
  }
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    throw new InvalidTokenError('malformed', 'Token claim aud is neither a string nor an array of strings');
  }
  for (const name of ['scope', 'client_id', 'org_id', 'sid', 'jti'] as const) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string') {
      throw new InvalidTokenError('malformed', `Token claim ${name} is not a string`);
    }
  }
  return payload as unknown as AccessTokenClaims;
}

function matchAudience(
  aud: string | readonly string[] | undefined,
  config: Pick<AccessTokenPolicy, 'allowMultipleAudiences' | 'audiences'>,
): string {
  const named = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
  if (named.length === 0) throw new InvalidTokenError('wrong_audience', `Token has no audience; expected ${config.audiences[0]}`);
  if (named.length > 1 && !config.allowMultipleAudiences) {
    throw new InvalidTokenError('wrong_audience', `Token names ${named.length} audiences; set ALLOW_MULTIPLE_AUDIENCES=true to accept such tokens`);
  }
  // Prefer the canonical resource when a token names several accepted audiences.
  const match = config.audiences.find((a) => named.includes(a));
  if (match !== undefined) return match;
  throw new InvalidTokenError(
    'wrong_audience',
    `Token audience ${named.slice(0, 3).map(quote).join(', ')} does not name ${config.audiences[0]}; register it as the WorkOS Resource Indicator or list the audience in ACCEPTED_AUDIENCES`,
  );
}

const rsaSignatureBytes = new WeakMap<KeyObject, number>();

function signatureMatches(alg: TokenAlgorithm, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  // An RSA signature is exactly as long as the modulus; anything else is not one.
  if (key.asymmetricKeyType === 'rsa') {
    let expected = rsaSignatureBytes.get(key);
    if (expected === undefined) rsaSignatureBytes.set(key, (expected = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8)));
    if (signature.length !== expected) return false;
  }
  try {
    return SIGNATURE_CHECKS[alg](signingInput, key, signature);
  } catch {
    return false;
  }
}
