/**
 * AuthKit's signing keys: parsed from a JWKS document into Node `KeyObject`s, and kept fresh
 * from the remote endpoint.
 *
 * The remote key set lives as long as the Lambda container (module scope), so warm invocations
 * verify without any network call. An unknown `kid` refetches at most once per cooldown window,
 * so garbage `kid`s cannot hammer AuthKit. A fetch that fails, times out or returns something
 * that is not a JWKS raises `UpstreamUnavailableError`, which the handler turns into a 5xx:
 * an AuthKit outage must not look like a bad token.
 *
 * jose's `createRemoteJWKSet` is not used: it yields WebCrypto keys, whose asynchronous verify
 * costs about three times a one-shot `crypto.verify`, and when its cache expires and the refetch
 * fails it rejects every token instead of keeping the keys it trusted moments ago.
 */
import { createPublicKey, KeyObject, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import { fetchFailureDetail, isFetchTimeout } from '../shared/fetch-errors';
import type { TokenAlgorithm } from '../shared/token-policy';
import { InvalidTokenError, UpstreamUnavailableError } from './errors';

/** The parts of a JWS header that choose the key. */
export interface KeySelector {
  readonly alg: TokenAlgorithm;
  readonly kid?: string;
}

/** Finds the public key that should have signed a token. */
export interface SigningKeyResolver {
  /** Returns the key synchronously when it is cached, so the warm path never waits. */
  resolveKey(selector: KeySelector): KeyObject | Promise<KeyObject>;
}

export interface SigningKey {
  readonly kid?: string;
  readonly alg?: string;
  readonly key: KeyObject;
}

/** Smallest RSA modulus accepted (RFC 7518 §3.3). */
const MIN_RSA_MODULUS_BITS = 2048;
/** A JWKS is a few KB; anything much larger is not one. */
const MAX_JWKS_BYTES = 256 * 1024;

const EC_CURVES: Partial<Record<TokenAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Whether `key` is the right kind of key for `alg` (no RSA key for an ES token, no curve mix-ups). */
export function keyFitsAlgorithm(key: KeyObject, alg: TokenAlgorithm): boolean {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return key.asymmetricKeyType === 'rsa';
  if (alg.startsWith('ES')) return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[alg];
  return key.asymmetricKeyType === 'ed25519';
}

/**
 * Parses a JWKS document into verification keys. Keys that are not for signatures, carry private
 * material, are symmetric or too weak are skipped; a document with no usable key at all is an error.
 */
export function importJwks(document: unknown): SigningKey[] {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== 'object' || document === null || !Array.isArray(keys)) {
    throw new Error('document has no "keys" array');
  }
  const imported: SigningKey[] = [];
  for (const jwk of keys as unknown[]) {
    const key = importSigningKey(jwk);
    if (key) imported.push(key);
  }
  if (imported.length === 0) throw new Error('document has no usable public signature key');
  return imported;
}

function importSigningKey(value: unknown): SigningKey | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const jwk = value as Record<string, unknown>;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined;
  if ('d' in jwk || !['RSA', 'EC', 'OKP'].includes(jwk.kty as string)) return undefined;
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return undefined;
  if (jwk.alg !== undefined && typeof jwk.alg !== 'string') return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as NodeJsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_MODULUS_BITS) return undefined;
  return { kid: jwk.kid as string | undefined, alg: jwk.alg as string | undefined, key };
}

type Selection = { key: KeyObject } | { miss: 'no_such_kid' | 'no_fitting_key' | 'ambiguous' };

function selectKey(keys: readonly SigningKey[], selector: KeySelector): Selection {
  let found: KeyObject | undefined;
  let matches = 0;
  for (const k of keys) {
    if ((selector.kid === undefined || k.kid === selector.kid) && (k.alg === undefined || k.alg === selector.alg) && keyFitsAlgorithm(k.key, selector.alg)) {
      found = k.key;
      matches++;
    }
  }
  if (matches === 1) return { key: found! };
  if (matches > 1) return { miss: 'ambiguous' };
  if (selector.kid !== undefined && keys.some((k) => k.kid === selector.kid)) return { miss: 'no_fitting_key' };
  return { miss: 'no_such_kid' };
}

function unknownKey(selection: Selection, selector: KeySelector): InvalidTokenError {
  const miss = 'miss' in selection ? selection.miss : 'no_such_kid';
  const kid = selector.kid === undefined ? 'no kid' : `kid ${JSON.stringify(selector.kid.slice(0, 64))}`;
  if (miss === 'ambiguous') return new InvalidTokenError('unknown_key', `Token has ${kid} and several ${selector.alg} keys match; a kid is required`);
  if (miss === 'no_fitting_key') return new InvalidTokenError('unknown_key', `Key with ${kid} does not fit algorithm ${selector.alg}`);
  return new InvalidTokenError('unknown_key', `No ${selector.alg} signing key with ${kid} in the JWKS`);
}

/** A fixed key set, for tests and local development with a known JWKS document. */
export function createLocalJwks(document: unknown): SigningKeyResolver {
  const keys = importJwks(document);
  return {
    resolveKey(selector) {
      const selection = selectKey(keys, selector);
      if ('key' in selection) return selection.key;
      throw unknownKey(selection, selector);
    },
  };
}

export interface RemoteJwksOptions {
  /** The JWKS endpoint, e.g. `https://acme.authkit.app/oauth2/jwks`. */
  readonly url: string;
  /** Upper bound of one fetch, response body included. */
  readonly timeoutMs: number;
  /** Minimum time between two fetches triggered by unknown `kid`s. */
  readonly cooldownMs: number;
  /**
   * Age after which cached keys are refreshed before use, so a key AuthKit withdrew stops being
   * accepted. When that refresh fails the cached keys stay in use: they were trusted moments ago
   * and AuthKit being down is no reason to reject every user.
   * @default 600000 (10 minutes)
   */
  readonly maxAgeMs?: number;
  /**
   * After a failed fetch, how long to answer "unavailable" from memory before trying again, so a
   * struggling AuthKit is not hit by every request. @default 1000
   */
  readonly retryAfterFailureMs?: number;
  /** Called when a refresh of cached keys fails and the cached keys stay in use. */
  readonly onStaleKeysKept?: (error: UpstreamUnavailableError) => void;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** AuthKit's JWKS endpoint, fetched lazily and cached for the life of the container. */
export function createRemoteJwks(options: RemoteJwksOptions): SigningKeyResolver {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
  let keys: SigningKey[] | undefined;
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let lastFailure: UpstreamUnavailableError | undefined;
  let inFlight: Promise<SigningKey[]> | undefined;

  function refresh(): Promise<SigningKey[]> {
    // Concurrent callers share one fetch.
    inFlight ??= (async () => {
      attemptedAt = now();
      try {
        const fresh = await fetchJwks(options.url, options.timeoutMs);
        keys = fresh;
        fetchedAt = now();
        lastFailure = undefined;
        return fresh;
      } catch (error) {
        lastFailure = error as UpstreamUnavailableError;
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  function recentlyFailed(): boolean {
    return lastFailure !== undefined && now() - attemptedAt < retryAfterFailureMs;
  }

  async function resolveSlowly(selector: KeySelector): Promise<KeyObject> {
    if (keys === undefined) {
      if (recentlyFailed()) throw lastFailure;
      await refresh();
    } else if (now() - fetchedAt >= maxAgeMs) {
      if (!recentlyFailed()) {
        try {
          await refresh();
        } catch (error) {
          options.onStaleKeysKept?.(error as UpstreamUnavailableError);
        }
      }
    } else {
      // The kid is unknown to the cached set: maybe AuthKit rotated keys. Refetch once per cooldown.
      if (recentlyFailed()) throw lastFailure;
      if (now() - attemptedAt < options.cooldownMs) throw unknownKey(selectKey(keys, selector), selector);
      await refresh();
    }
    const selection = selectKey(keys!, selector);
    if ('key' in selection) return selection.key;
    // With the last fetch failed, a new kid may be a rotation we could not see: AuthKit's outage, not a bad token.
    if (selection.miss === 'no_such_kid' && lastFailure) throw lastFailure;
    throw unknownKey(selection, selector);
  }

  return {
    resolveKey(selector) {
      if (keys !== undefined && now() - fetchedAt < maxAgeMs) {
        const selection = selectKey(keys, selector);
        if ('key' in selection) return selection.key;
        // Only a kid the set has never seen can be explained by a rotation.
        if (selection.miss !== 'no_such_kid') throw unknownKey(selection, selector);
      }
      return resolveSlowly(selector);
    },
  };
}

async function fetchJwks(url: string, timeoutMs: number): Promise<SigningKey[]> {
  let text: string;
  try {
    // One timeout bounds the connection, the headers and the body.
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpstreamUnavailableError(`JWKS endpoint ${url} answered HTTP ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_JWKS_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new UpstreamUnavailableError(`JWKS response from ${url} is ${declared} bytes, more than ${MAX_JWKS_BYTES}`);
    }
    text = await response.text();
  } catch (error) {
    if (error instanceof UpstreamUnavailableError) throw error;
    const detail = isFetchTimeout(error) ? `timed out after ${timeoutMs} ms` : `failed (${fetchFailureDetail(error)})`;
    throw new UpstreamUnavailableError(`JWKS fetch from ${url} ${detail}`, { cause: error });
  }
  if (text.length > MAX_JWKS_BYTES) throw new UpstreamUnavailableError(`JWKS response from ${url} is larger than ${MAX_JWKS_BYTES} bytes`);
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UpstreamUnavailableError(`JWKS response from ${url} is not JSON`, { cause: error });
  }
  try {
    return importJwks(document);
  } catch (error) {
    throw new UpstreamUnavailableError(`JWKS response from ${url} is not a usable key set: ${(error as Error).message}`, { cause: error });
  }
}
