import { BoundedFetchError, fetchBounded } from '../shared/bounded-fetch';
import { MAX_AS_METADATA_TIMEOUT_MS } from './config';
import { UpstreamMetadataError } from './errors';

/** The two authorization-server documents this server keeps a copy of. */
export type AuthorizationServerDocument = 'oauth-authorization-server' | 'openid-configuration';

export type JsonObject = { readonly [key: string]: unknown };

/** The part of a structured logger the cache needs; Powertools' `Logger` satisfies it. */
export interface MetadataLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface AuthorizationServerMetadataCacheOptions {
  /** The exact issuer; each fetched document must carry it as `issuer`. */
  readonly issuer: string;
  /** Upper bound on one upstream fetch, headers and body together; capped at 3000 ms. */
  readonly timeoutMs: number;
  /** How long a good copy counts as fresh. */
  readonly ttlSeconds: number;
  /**
   * After a failed fetch, how long to answer from the stale copy (or with 503) without calling upstream again, so an
   * unreachable AuthKit costs each request nothing instead of a full timeout, and is not hammered.
   * @default 30
   */
  readonly failureCooldownSeconds?: number;
  /** Clock in epoch milliseconds, for freshness and ages. @default Date.now */
  readonly now?: () => number;
  readonly logger: MetadataLogger;
}

/** `fetched`: just fetched from upstream; `hit`: a fresh copy from memory. */
export interface FreshMetadata {
  readonly outcome: 'fetched' | 'hit';
  readonly document: JsonObject;
  readonly ageSeconds: number;
  readonly remainingTtlSeconds: number;
}

/** What the cache can offer for one request. */
export type AuthorizationServerMetadataResult =
  | FreshMetadata
  /** Upstream failed (now or within the cooldown) but an earlier good copy exists. */
  | {
      readonly outcome: 'stale';
      readonly document: JsonObject;
      readonly ageSeconds: number;
      readonly failure: UpstreamMetadataError;
    }
  /** Upstream failed and there has never been a good copy. */
  | { readonly outcome: 'unavailable'; readonly retryAfterSeconds: number; readonly failure: UpstreamMetadataError };

export interface AuthorizationServerMetadataCache {
  get(document: AuthorizationServerDocument): Promise<AuthorizationServerMetadataResult>;
}

export const DEFAULT_FAILURE_COOLDOWN_SECONDS = 30;

/** AuthKit's documents are a few KB; a body past this is not metadata, and reading stops there. */
export const MAX_AS_METADATA_BYTES = 128 * 1024;

interface Slot {
  good?: { readonly document: JsonObject; readonly fetchedAt: number };
  failure?: { readonly error: UpstreamMetadataError; readonly retryAt: number };
  inFlight?: Promise<void>;
}

/**
 * The upstream location of each document. RFC 8414 §3.1 inserts the well-known segment between host and issuer path;
 * OpenID Connect Discovery appends it. For a path-less issuer such as AuthKit's both are `<issuer>/.well-known/<name>`.
 */
export function upstreamMetadataUrl(issuer: string, document: AuthorizationServerDocument): string {
  const url = new URL(issuer);
  const issuerPath = url.pathname.replace(/\/+$/, '');
  return document === 'oauth-authorization-server'
    ? `${url.origin}/.well-known/oauth-authorization-server${issuerPath}`
    : `${url.origin}${issuerPath}/.well-known/openid-configuration`;
}

/** What the cache's steps share: its settings, clock and logger. */
interface CacheContext {
  readonly issuer: string;
  readonly logger: MetadataLogger;
  readonly now: () => number;
  readonly timeoutMs: number;
  readonly ttlMs: number;
  readonly cooldownMs: number;
}

/**
 * An in-memory, per-execution-environment copy of the authorization server's metadata documents.
 * Each document is fetched, validated and cached on its own; concurrent requests for a document that needs fetching
 * share one upstream call. A copy that fails validation never replaces a good one.
 */
export function createAuthorizationServerMetadataCache(
  options: AuthorizationServerMetadataCacheOptions,
): AuthorizationServerMetadataCache {
  const cache: CacheContext = {
    issuer: options.issuer,
    logger: options.logger,
    now: options.now ?? Date.now,
    timeoutMs: Math.min(Math.max(1, options.timeoutMs), MAX_AS_METADATA_TIMEOUT_MS),
    ttlMs: options.ttlSeconds * 1000,
    cooldownMs: (options.failureCooldownSeconds ?? DEFAULT_FAILURE_COOLDOWN_SECONDS) * 1000,
  };
  const slots: Record<AuthorizationServerDocument, Slot> = {
    'oauth-authorization-server': {},
    'openid-configuration': {},
  };

  return {
    async get(document) {
      const slot = slots[document];
      const hit = freshResult(cache, slot, 'hit');
      if (hit) {
        cache.logger.info('Authorization server metadata served from cache', {
          cache: 'hit',
          document,
          ageSeconds: hit.ageSeconds,
        });
        return hit;
      }
      if (slot.failure && cache.now() < slot.failure.retryAt && !slot.inFlight)
        return fallback(cache, document, slot, slot.failure);

      const reason = slot.failure ? 'retry' : slot.good ? 'expired' : 'cold';
      slot.inFlight ??= refresh(cache, document, slot, reason).finally(() => {
        slot.inFlight = undefined;
      });
      await slot.inFlight;

      const fetched = freshResult(cache, slot, 'fetched');
      if (fetched) return fetched;
      // refresh() records a failure whenever it does not store a fresh copy.
      const { failure } = slot;
      if (failure === undefined) throw new Error(`refreshing ${document} stored neither a fresh copy nor a failure`);
      return fallback(cache, document, slot, failure);
    },
  };
}

async function refresh(
  cache: CacheContext,
  document: AuthorizationServerDocument,
  slot: Slot,
  reason: 'cold' | 'expired' | 'retry',
): Promise<void> {
  const { issuer, logger, now, timeoutMs } = cache;
  const url = upstreamMetadataUrl(issuer, document);
  const started = performance.now();
  let upstreamStatus: number | undefined;
  try {
    const fetched = await fetchValidated(url, issuer, timeoutMs, (status) => {
      upstreamStatus = status;
    });
    slot.good = { document: fetched, fetchedAt: now() };
    slot.failure = undefined;
    logger.info('Fetched authorization server metadata', {
      cache: 'miss',
      document,
      reason,
      upstreamUrl: url,
      upstreamStatus,
      latencyMs: elapsedMs(started),
    });
  } catch (error) {
    const failure = asUpstreamError(error, url, timeoutMs, upstreamStatus);
    slot.failure = { error: failure, retryAt: now() + cache.cooldownMs };
    logger.error('Could not fetch authorization server metadata', {
      cache: 'error',
      document,
      reason,
      upstreamUrl: url,
      upstreamStatus,
      latencyMs: elapsedMs(started),
      errorCode: failure.code,
      errorMessage: failure.message,
      hasStaleCopy: slot.good !== undefined,
    });
  }
}

function fallback(
  cache: CacheContext,
  document: AuthorizationServerDocument,
  slot: Slot,
  failure: { error: UpstreamMetadataError; retryAt: number },
): AuthorizationServerMetadataResult {
  const at = cache.now();
  if (slot.good) {
    const ageSeconds = Math.max(0, Math.floor((at - slot.good.fetchedAt) / 1000));
    cache.logger.warn('Serving a stale copy of authorization server metadata', {
      cache: 'stale',
      document,
      ageSeconds,
      errorCode: failure.error.code,
    });
    return { outcome: 'stale', document: slot.good.document, ageSeconds, failure: failure.error };
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((failure.retryAt - at) / 1000));
  cache.logger.warn('No copy of authorization server metadata to serve', {
    cache: 'unavailable',
    document,
    retryAfterSeconds,
    errorCode: failure.error.code,
  });
  return { outcome: 'unavailable', retryAfterSeconds, failure: failure.error };
}

function freshResult(cache: CacheContext, slot: Slot, outcome: 'fetched' | 'hit'): FreshMetadata | undefined {
  if (!slot.good) return undefined;
  const ageMs = cache.now() - slot.good.fetchedAt;
  if (ageMs >= cache.ttlMs) return undefined;
  return {
    outcome,
    document: slot.good.document,
    ageSeconds: Math.max(0, Math.floor(ageMs / 1000)),
    remainingTtlSeconds: Math.max(0, Math.floor((cache.ttlMs - ageMs) / 1000)),
  };
}

async function fetchValidated(
  url: string,
  issuer: string,
  timeoutMs: number,
  onStatus: (status: number) => void,
): Promise<JsonObject> {
  // Bounded in time (connecting, headers and body together) and size, and no redirect followed.
  const response = await fetchBounded(url, { timeoutMs, maxBytes: MAX_AS_METADATA_BYTES });
  onStatus(response.status);
  if (response.status !== 200) {
    throw new UpstreamMetadataError('UPSTREAM_HTTP_STATUS', `${url} answered HTTP ${response.status}; expected 200.`, {
      url,
      upstreamStatus: response.status,
    });
  }
  const text = response.text ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const contentType = response.contentType ?? 'no content type';
    throw new UpstreamMetadataError('UPSTREAM_NOT_JSON', `${url} answered a body that is not JSON (${contentType}).`, {
      url,
      upstreamStatus: response.status,
      cause,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UpstreamMetadataError('UPSTREAM_NOT_JSON_OBJECT', `${url} answered JSON that is not an object.`, {
      url,
      upstreamStatus: response.status,
    });
  }
  const document = parsed as JsonObject;
  if (document.issuer !== issuer) {
    const seen = typeof document.issuer === 'string' ? `"${document.issuer}"` : 'no issuer';
    throw new UpstreamMetadataError(
      'UPSTREAM_ISSUER_MISMATCH',
      `${url} answered metadata with ${seen}; expected exactly "${issuer}". Check AUTHKIT_ISSUER.`,
      { url, upstreamStatus: response.status },
    );
  }
  return document;
}

function asUpstreamError(
  error: unknown,
  url: string,
  timeoutMs: number,
  upstreamStatus: number | undefined,
): UpstreamMetadataError {
  if (error instanceof UpstreamMetadataError) return error;
  if (!(error instanceof BoundedFetchError)) {
    return new UpstreamMetadataError('UPSTREAM_UNREACHABLE', `${url} could not be fetched (${String(error)}).`, {
      url,
      upstreamStatus,
      cause: error,
    });
  }
  const status = error.status ?? upstreamStatus;
  switch (error.failure) {
    case 'timeout':
      return new UpstreamMetadataError('UPSTREAM_TIMEOUT', `${url} did not answer within ${timeoutMs} ms.`, {
        url,
        upstreamStatus: status,
        cause: error,
      });
    case 'redirect':
      return new UpstreamMetadataError(
        'UPSTREAM_REDIRECT',
        `${url} ${error.detail}; the metadata must be served at that URL. Check AUTHKIT_ISSUER.`,
        { url, upstreamStatus: status, cause: error },
      );
    case 'too_large':
      return new UpstreamMetadataError('UPSTREAM_TOO_LARGE', `${url} ${error.detail}.`, {
        url,
        upstreamStatus: status,
        cause: error,
      });
    default:
      return new UpstreamMetadataError('UPSTREAM_UNREACHABLE', `${url} ${error.detail}.`, {
        url,
        upstreamStatus: status,
        cause: error,
      });
  }
}

function elapsedMs(started: number): number {
  return Math.round(performance.now() - started);
}
