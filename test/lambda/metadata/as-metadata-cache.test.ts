import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createAuthorizationServerMetadataCache,
  MAX_AS_METADATA_BYTES,
  upstreamMetadataUrl,
  type AuthorizationServerMetadataCache,
  type AuthorizationServerMetadataResult,
} from '../../../lambda/metadata/as-metadata-cache';
import {
  authKitMetadata,
  authKitOpenIdConfiguration,
  startMetadataOrigin,
  type MetadataOrigin,
} from '../../../fixtures/metadata-origin';
import { RecordingLogger } from './fixtures/recording-logger';

const AS_PATH = '/.well-known/oauth-authorization-server';
const OIDC_PATH = '/.well-known/openid-configuration';
const TTL_SECONDS = 3600;
const TIMEOUT_MS = 300;
const COOLDOWN_SECONDS = 30;

describe('createAuthorizationServerMetadataCache', () => {
  let origin: MetadataOrigin;
  let logger: RecordingLogger;
  let clock: number;

  function cacheFor(issuer: string, overrides: { timeoutMs?: number } = {}): AuthorizationServerMetadataCache {
    return createAuthorizationServerMetadataCache({
      issuer,
      timeoutMs: overrides.timeoutMs ?? TIMEOUT_MS,
      ttlSeconds: TTL_SECONDS,
      failureCooldownSeconds: COOLDOWN_SECONDS,
      now: () => clock,
      logger,
    });
  }

  function advanceSeconds(seconds: number): void {
    clock += seconds * 1000;
  }

  beforeEach(async () => {
    origin = await startMetadataOrigin();
    logger = new RecordingLogger();
    clock = Date.UTC(2026, 0, 1);
  });

  afterEach(async () => {
    await origin.close();
  });

  describe('with a healthy authorization server', () => {
    it('fetches the document on first use and serves it unchanged', async () => {
      // Prepare
      const cache = cacheFor(origin.issuer);

      // Act
      const result = await cache.get('oauth-authorization-server');

      // Assess
      expect(result).toEqual({
        outcome: 'fetched',
        document: authKitMetadata(origin.issuer),
        ageSeconds: 0,
        remainingTtlSeconds: TTL_SECONDS,
      });
      expect(origin.hits(AS_PATH)).toBe(1);
      const [miss] = logger.cacheEvents();
      expect(miss).toMatchObject({
        cache: 'miss',
        document: 'oauth-authorization-server',
        reason: 'cold',
        upstreamStatus: 200,
      });
      expect(typeof miss.latencyMs).toBe('number');
    });

    it('serves the cached copy within the TTL without calling upstream, counting down the remaining TTL', async () => {
      const cache = cacheFor(origin.issuer);
      await cache.get('oauth-authorization-server');

      advanceSeconds(TTL_SECONDS - 1);
      const result = await cache.get('oauth-authorization-server');

      expect(result).toMatchObject({ outcome: 'hit', ageSeconds: TTL_SECONDS - 1, remainingTtlSeconds: 1 });
      expect(origin.hits(AS_PATH)).toBe(1);
      expect(logger.cacheEvents().map((event) => event.cache)).toEqual(['miss', 'hit']);
    });

    it('fetches again once the TTL has passed', async () => {
      const cache = cacheFor(origin.issuer);
      await cache.get('oauth-authorization-server');

      advanceSeconds(TTL_SECONDS);
      const result = await cache.get('oauth-authorization-server');

      expect(result).toMatchObject({ outcome: 'fetched', remainingTtlSeconds: TTL_SECONDS });
      expect(origin.hits(AS_PATH)).toBe(2);
      expect(logger.cacheEvents()[1]).toMatchObject({ cache: 'miss', reason: 'expired' });
    });

    it('fetches and caches the two documents separately', async () => {
      const cache = cacheFor(origin.issuer);

      const openid = await cache.get('openid-configuration');
      const oauth = await cache.get('oauth-authorization-server');
      await cache.get('openid-configuration');

      expect(openid).toMatchObject({ outcome: 'fetched', document: authKitOpenIdConfiguration(origin.issuer) });
      expect(oauth).toMatchObject({ outcome: 'fetched', document: authKitMetadata(origin.issuer) });
      expect(origin.hits(OIDC_PATH)).toBe(1);
      expect(origin.hits(AS_PATH)).toBe(1);
    });

    it('makes exactly one upstream call for many concurrent cold requests', async () => {
      origin.behave({ kind: 'healthy', delayMs: 100 });
      const cache = cacheFor(origin.issuer);

      const results = await Promise.all(Array.from({ length: 25 }, () => cache.get('oauth-authorization-server')));

      expect(origin.hits()).toBe(1);
      for (const result of results)
        expect(result).toMatchObject({ outcome: 'fetched', document: authKitMetadata(origin.issuer) });
    });

    it('follows RFC 8414 for an issuer with a path: the well-known segment goes before the path', async () => {
      const tenant = await startMetadataOrigin({ issuerPath: '/tenant' });
      try {
        const cache = cacheFor(tenant.issuer);

        const oauth = await cache.get('oauth-authorization-server');
        const openid = await cache.get('openid-configuration');

        expect(oauth).toMatchObject({ outcome: 'fetched', document: { issuer: tenant.issuer } });
        expect(openid).toMatchObject({ outcome: 'fetched', document: { issuer: tenant.issuer } });
        expect(tenant.hits(`${AS_PATH}/tenant`)).toBe(1);
        expect(tenant.hits(`/tenant${OIDC_PATH}`)).toBe(1);
      } finally {
        await tenant.close();
      }
    });
  });

  describe('when the authorization server fails', () => {
    it.each([
      ['answers HTTP 500', { kind: 'status', status: 500 } as const, 'UPSTREAM_HTTP_STATUS'],
      ['answers HTTP 404', { kind: 'status', status: 404 } as const, 'UPSTREAM_HTTP_STATUS'],
      ['answers an HTML page', { kind: 'html' } as const, 'UPSTREAM_NOT_JSON'],
      ['answers a JSON array', { kind: 'json-array' } as const, 'UPSTREAM_NOT_JSON_OBJECT'],
      ['names another issuer', { kind: 'wrong-issuer' } as const, 'UPSTREAM_ISSUER_MISMATCH'],
    ])('treats a server that %s as a failure: 503 material, with the reason logged', async (_case, behaviour, code) => {
      // Prepare
      origin.behave(behaviour);
      const cache = cacheFor(origin.issuer);

      // Act
      const result = await cache.get('oauth-authorization-server');

      // Assess
      expect(result).toMatchObject({ outcome: 'unavailable', retryAfterSeconds: COOLDOWN_SECONDS, failure: { code } });
      expect(origin.hits(AS_PATH)).toBe(1);
      const error = logger.cacheEvents().find((event) => event.cache === 'error');
      expect(error).toMatchObject({ errorCode: code, hasStaleCopy: false });
      expect(String(error?.errorMessage)).toContain(origin.issuer);
    });

    it('reports the upstream status of a rejected answer in the log', async () => {
      origin.behave({ kind: 'status', status: 502 });
      const cache = cacheFor(origin.issuer);

      await cache.get('openid-configuration');

      expect(logger.cacheEvents().find((event) => event.cache === 'error')).toMatchObject({
        upstreamStatus: 502,
        errorMessage: expect.stringContaining('HTTP 502'),
      });
    });

    it('answers "unavailable" with a Retry-After when the server is down and nothing is cached', async () => {
      const cache = cacheFor(origin.issuer);
      await origin.close();

      const result = await cache.get('oauth-authorization-server');

      expect(result).toMatchObject({
        outcome: 'unavailable',
        retryAfterSeconds: COOLDOWN_SECONDS,
        failure: { code: 'UPSTREAM_UNREACHABLE' },
      });
      expect(
        (result as Extract<AuthorizationServerMetadataResult, { outcome: 'unavailable' }>).failure.message,
      ).toContain('ECONNREFUSED');
    });

    it('serves the last good copy with its age when the server is down after the TTL', async () => {
      const cache = cacheFor(origin.issuer);
      await cache.get('oauth-authorization-server');
      await origin.close();

      advanceSeconds(TTL_SECONDS + 120);
      const result = await cache.get('oauth-authorization-server');

      expect(result).toMatchObject({
        outcome: 'stale',
        ageSeconds: TTL_SECONDS + 120,
        document: authKitMetadata(origin.issuer),
        failure: { code: 'UPSTREAM_UNREACHABLE' },
      });
      expect(logger.cacheEvents().map((event) => event.cache)).toEqual(['miss', 'error', 'stale']);
    });

    it.each([
      ['an HTML page', { kind: 'html' } as const],
      ['another issuer', { kind: 'wrong-issuer' } as const],
      ['HTTP 500', { kind: 'status', status: 500 } as const],
    ])('never replaces a good copy with %s', async (_case, behaviour) => {
      const cache = cacheFor(origin.issuer);
      await cache.get('oauth-authorization-server');
      origin.behave(behaviour);

      advanceSeconds(TTL_SECONDS + 1);
      const result = await cache.get('oauth-authorization-server');

      expect(result).toMatchObject({ outcome: 'stale', document: authKitMetadata(origin.issuer) });
      expect(origin.hits(AS_PATH)).toBe(2);
    });

    it('gives up on a slow server within the timeout', async () => {
      origin.behave({ kind: 'slow', delayMs: 5000 });
      const cache = cacheFor(origin.issuer, { timeoutMs: TIMEOUT_MS });

      const started = performance.now();
      const result = await cache.get('oauth-authorization-server');
      const elapsedMs = performance.now() - started;

      expect(result).toMatchObject({ outcome: 'unavailable', failure: { code: 'UPSTREAM_TIMEOUT' } });
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 700);
    });

    it('caps the timeout at 3 s whatever it is given', async () => {
      origin.behave({ kind: 'slow', delayMs: 10_000 });
      const cache = cacheFor(origin.issuer, { timeoutMs: 60_000 });

      const started = performance.now();
      const result = await cache.get('openid-configuration');
      const elapsedMs = performance.now() - started;

      expect(result).toMatchObject({ outcome: 'unavailable', failure: { code: 'UPSTREAM_TIMEOUT' } });
      expect(elapsedMs).toBeLessThan(3000 + 700);
    });

    it('does not call a failing server again during the cooldown, then retries', async () => {
      origin.behave({ kind: 'status', status: 500 });
      const cache = cacheFor(origin.issuer);
      await cache.get('oauth-authorization-server');

      advanceSeconds(COOLDOWN_SECONDS - 10);
      const duringCooldown = await cache.get('oauth-authorization-server');
      origin.behave({ kind: 'healthy' });
      advanceSeconds(10);
      const afterCooldown = await cache.get('oauth-authorization-server');

      expect(duringCooldown).toMatchObject({ outcome: 'unavailable', retryAfterSeconds: 10 });
      expect(afterCooldown).toMatchObject({ outcome: 'fetched', document: authKitMetadata(origin.issuer) });
      expect(origin.hits(AS_PATH)).toBe(2);
      expect(logger.cacheEvents().at(-1)).toMatchObject({ cache: 'miss', reason: 'retry' });
    });

    it('shares one failing upstream call among concurrent cold requests', async () => {
      origin.behave({ kind: 'slow', delayMs: 5000 });
      const cache = cacheFor(origin.issuer);

      const results = await Promise.all(Array.from({ length: 10 }, () => cache.get('oauth-authorization-server')));

      expect(origin.hits()).toBe(1);
      for (const result of results)
        expect(result).toMatchObject({ outcome: 'unavailable', failure: { code: 'UPSTREAM_TIMEOUT' } });
    });
  });
});

/**
 * An upstream on 127.0.0.1 that answers its metadata paths with a 10 MB document streamed 64 KB at
 * a time (counting what it managed to send), or with a redirect to a good copy (counting requests for it).
 */
async function startHostileUpstream(kind: 'huge' | 'declared-huge' | 'redirect') {
  const TEN_MB = 10 * 1024 * 1024;
  let bytesSent = 0;
  let redirectTargetHits = 0;
  const server = createServer((request, response) => {
    if (request.url === '/moved') {
      redirectTargetHits++;
      return void response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(authKitMetadata(issuer)));
    }
    if (kind === 'redirect') return void response.writeHead(301, { location: '/moved' }).end();
    if (kind === 'declared-huge')
      return void response
        .writeHead(200, { 'content-type': 'application/json', 'content-length': String(TEN_MB) })
        .write('{');
    streamHuge(response);
  });
  const streamHuge = (response: ServerResponse) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write(`{"issuer":${JSON.stringify(issuer)},"padding":"`);
    const next = (): void => {
      while (bytesSent < TEN_MB && !response.destroyed) {
        bytesSent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', next);
      }
      if (!response.destroyed) response.end('"}');
    };
    next();
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    tenMegabytes: TEN_MB,
    bytesSent: () => bytesSent,
    redirectTargetHits: () => redirectTargetHits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('upstream answers the cache refuses to read', () => {
  const logger = new RecordingLogger();
  const cacheFor = (issuer: string) =>
    createAuthorizationServerMetadataCache({ issuer, timeoutMs: 2000, ttlSeconds: TTL_SECONDS, logger });

  it('refuses a 10 MB document as UPSTREAM_TOO_LARGE, reading no further than the limit', async () => {
    const upstream = await startHostileUpstream('huge');
    try {
      const result = await cacheFor(upstream.issuer).get('oauth-authorization-server');

      expect(result).toMatchObject({
        outcome: 'unavailable',
        failure: {
          code: 'UPSTREAM_TOO_LARGE',
          message: expect.stringContaining(`larger than the ${MAX_AS_METADATA_BYTES} bytes accepted`),
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(upstream.bytesSent()).toBeLessThan(upstream.tenMegabytes);
    } finally {
      await upstream.close();
    }
  });

  it('refuses a document declared 10 MB long before reading any of it', async () => {
    const upstream = await startHostileUpstream('declared-huge');
    try {
      const result = await cacheFor(upstream.issuer).get('oauth-authorization-server');

      expect(result).toMatchObject({
        outcome: 'unavailable',
        failure: {
          code: 'UPSTREAM_TOO_LARGE',
          message: expect.stringContaining(`declared a body of ${upstream.tenMegabytes} bytes`),
        },
      });
    } finally {
      await upstream.close();
    }
  });

  it('refuses a redirecting upstream as UPSTREAM_REDIRECT without following it', async () => {
    const upstream = await startHostileUpstream('redirect');
    try {
      const result = await cacheFor(upstream.issuer).get('openid-configuration');

      expect(result).toMatchObject({
        outcome: 'unavailable',
        failure: { code: 'UPSTREAM_REDIRECT', details: { upstreamStatus: 301 } },
      });
      expect(upstream.redirectTargetHits()).toBe(0);
    } finally {
      await upstream.close();
    }
  });
});

describe('upstreamMetadataUrl', () => {
  it.each([
    [
      'https://acme.authkit.app',
      'oauth-authorization-server',
      'https://acme.authkit.app/.well-known/oauth-authorization-server',
    ],
    ['https://acme.authkit.app', 'openid-configuration', 'https://acme.authkit.app/.well-known/openid-configuration'],
    [
      'https://auth.example.com/tenant',
      'oauth-authorization-server',
      'https://auth.example.com/.well-known/oauth-authorization-server/tenant',
    ],
    [
      'https://auth.example.com/tenant',
      'openid-configuration',
      'https://auth.example.com/tenant/.well-known/openid-configuration',
    ],
  ] as const)('locates %s %s at %s', (issuer, document, url) => {
    expect(upstreamMetadataUrl(issuer, document)).toBe(url);
  });
});
