/**
 * AuthKit's signing keys as a jose `JWTVerifyGetKey`, over a small cache with this server's policy.
 *
 * Key selection and import are jose's (`createLocalJWKSet` over the last good document: kid, alg,
 * kty, crv, use and key_ops matching, imported keys cached per algorithm). The cache around it
 * decides when to fetch, because jose's `createRemoteJWKSet` rejects every token once its cache
 * has expired and a refetch fails, where this server keeps the keys it trusted moments ago:
 * - the document lives as long as the Lambda container, so warm verifications never wait on the network;
 * - keys older than `maxAgeMs` are refreshed before use, dropping withdrawn keys; when that refresh
 *   fails the cached keys stay in use (`onStaleKeysKept`);
 * - an unknown `kid` refetches at most once per `cooldownMs`, so random kids cannot hammer AuthKit;
 * - concurrent lookups share one fetch; after a failure, lookups answer from memory for `retryAfterFailureMs`;
 * - each fetch is bounded in time and size and follows no redirect (`fetchBounded`);
 * - a fetch that fails or returns something that is not a usable key set raises
 *   `UpstreamUnavailableError` (a 5xx at the gateway): an AuthKit outage must not look like a bad token.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { BoundedFetchError, fetchBounded } from '../shared/bounded-fetch';
import { UpstreamUnavailableError } from './errors';

/** A JWKS is a few KB; anything much larger is not one. */
export const MAX_JWKS_BYTES = 256 * 1024;

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

interface CachedKeys {
  readonly keySet: LocalKeySet;
  /** The kids the document publishes: a token naming one of them is never a reason to refetch. */
  readonly kids: ReadonlySet<string>;
}

/**
 * The members of a fetched document that can verify signatures: asymmetric public keys. Private
 * and symmetric members are dropped here rather than refused at use, so one stray member does not
 * make every token naming it a 5xx.
 */
export function usableKeySet(document: unknown): { keys: JSONWebKeySet['keys']; kids: Set<string> } {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== 'object' || document === null || !Array.isArray(keys))
    throw new Error('document has no "keys" array');
  const usable = keys.filter(
    (jwk): jwk is JSONWebKeySet['keys'][number] =>
      typeof jwk === 'object' &&
      jwk !== null &&
      ['RSA', 'EC', 'OKP'].includes(jwk.kty) &&
      !('d' in jwk) &&
      (jwk.kid === undefined || typeof jwk.kid === 'string'),
  );
  if (usable.length === 0) throw new Error('document has no usable public signature key');
  return { keys: usable, kids: new Set(usable.flatMap((jwk) => (jwk.kid === undefined ? [] : [jwk.kid]))) };
}

function cacheKeys(document: unknown): CachedKeys {
  const { keys, kids } = usableKeySet(document);
  return { keySet: createLocalJWKSet({ keys }), kids };
}

/** A fixed key set, for tests and local development with a known JWKS document. */
export function createLocalJwks(document: unknown): JWTVerifyGetKey {
  return cacheKeys(document).keySet;
}

export interface RemoteJwksOptions {
  /** The JWKS endpoint, e.g. `https://acme.authkit.app/oauth2/jwks`. */
  readonly url: string;
  /** Upper bound of one fetch, response body included. */
  readonly timeoutMs: number;
  /** Minimum time between two fetches triggered by unknown `kid`s. */
  readonly cooldownMs: number;
  /** Age after which cached keys are refreshed before use. @default 600000 (10 minutes) */
  readonly maxAgeMs?: number;
  /** After a failed fetch, how long to answer "unavailable" from memory before trying again. @default 1000 */
  readonly retryAfterFailureMs?: number;
  /** Called when a refresh of cached keys fails and the cached keys stay in use. */
  readonly onStaleKeysKept?: (error: UpstreamUnavailableError) => void;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** AuthKit's JWKS endpoint, fetched lazily and cached for the life of the container. */
export function createRemoteJwks(options: RemoteJwksOptions): JWTVerifyGetKey {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 1000;
  let cached: CachedKeys | undefined;
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let failedAt = -Infinity;
  let lastFailure: UpstreamUnavailableError | undefined;
  let inFlight: Promise<CachedKeys> | undefined;

  function refresh(): Promise<CachedKeys> {
    inFlight ??= (async () => {
      attemptedAt = now();
      try {
        cached = await fetchKeys(options.url, options.timeoutMs);
        fetchedAt = now();
        lastFailure = undefined;
        return cached;
      } catch (error) {
        lastFailure = error as UpstreamUnavailableError;
        failedAt = now();
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  // Counted from the failure, not the attempt: after a fetch that timed out, the next requests
  // answer at once instead of each waiting for a new timeout.
  const recentlyFailed = () => lastFailure !== undefined && now() - failedAt < retryAfterFailureMs;
  const knows = (keys: CachedKeys, kid: unknown) => typeof kid === 'string' && keys.kids.has(kid);

  /** Brings the cache up to date for a token whose kid the fresh cache cannot answer (or that finds no cache). */
  async function update(kid: unknown): Promise<CachedKeys> {
    if (cached === undefined) {
      if (recentlyFailed()) throw lastFailure;
      return refresh();
    }
    if (now() - fetchedAt >= maxAgeMs) {
      if (recentlyFailed()) return cached;
      const stale = cached;
      return refresh().catch((error: UpstreamUnavailableError) => {
        options.onStaleKeysKept?.(error);
        return cached ?? stale;
      });
    }
    // The kid is unknown to the cached set: maybe AuthKit rotated keys. Refetch once per cooldown.
    if (recentlyFailed()) throw lastFailure;
    if (now() - attemptedAt < options.cooldownMs || knows(cached, kid)) return cached;
    return refresh();
  }

  return async (header, token) => {
    if (cached !== undefined && now() - fetchedAt < maxAgeMs) {
      try {
        return await cached.keySet(header, token);
      } catch (error) {
        // Only a kid the set has never published can be explained by a rotation.
        if (!(error instanceof errors.JWKSNoMatchingKey) || knows(cached, header.kid)) throw error;
      }
    }
    const keys = await update(header.kid);
    try {
      return await keys.keySet(header, token);
    } catch (error) {
      // With the last fetch failed, a new kid may be a rotation we could not see: AuthKit's outage, not a bad token.
      if (error instanceof errors.JWKSNoMatchingKey && lastFailure && !knows(keys, header.kid)) throw lastFailure;
      throw error;
    }
  };
}

async function fetchKeys(url: string, timeoutMs: number): Promise<CachedKeys> {
  let text: string | undefined;
  try {
    const response = await fetchBounded(url, { timeoutMs, maxBytes: MAX_JWKS_BYTES });
    if (response.status !== 200)
      throw new UpstreamUnavailableError(`JWKS endpoint ${url} answered HTTP ${response.status}`);
    text = response.text ?? '';
  } catch (error) {
    if (error instanceof BoundedFetchError)
      throw new UpstreamUnavailableError(`JWKS fetch from ${url} ${error.detail}`, { cause: error });
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new UpstreamUnavailableError(`JWKS response from ${url} is not JSON`, { cause: error });
  }
  try {
    return cacheKeys(document);
  } catch (error) {
    throw new UpstreamUnavailableError(
      `JWKS response from ${url} is not a usable key set: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
