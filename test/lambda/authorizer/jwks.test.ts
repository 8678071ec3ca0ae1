import { KeyObject } from 'node:crypto';
import { errors, type JWTVerifyGetKey } from 'jose';
import { UpstreamUnavailableError } from '../../../lambda/authorizer/errors';
import {
  createLocalJwks,
  createRemoteJwks,
  MAX_JWKS_BYTES,
  usableKeySet,
  type RemoteJwksOptions,
} from '../../../lambda/authorizer/jwks';
import { HUGE_JWKS_BYTES, startJwksServer, unusedLoopbackUrl, type JwksServer } from '../../../fixtures/jwks-server';
import { createTestKey, type TestKey } from './support/tokens';

let server: JwksServer;
let current: TestKey;
let next: TestKey;
let ecKey: TestKey;

beforeAll(async () => {
  current = await createTestKey('key-current');
  next = await createTestKey('key-next');
  ecKey = await createTestKey('key-ec', 'ES256');
  server = await startJwksServer([current.jwk]);
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.setKeys([current.jwk]);
  server.setMode('ok');
  server.setDelay(0);
  server.resetHits();
});

/** A controllable clock, so cooldowns are tested without sleeping. */
function manualClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function remote(overrides: Partial<RemoteJwksOptions> = {}) {
  return createRemoteJwks({ url: server.url, timeoutMs: 1000, cooldownMs: 30_000, ...overrides });
}

/** Asks the key resolver for the key of a token with this header, as jose's jwtVerify does. */
const resolve = async (
  jwks: JWTVerifyGetKey,
  kid: string | undefined,
  alg: 'RS256' | 'ES256' = 'RS256',
): Promise<KeyObject> =>
  KeyObject.from((await jwks(kid === undefined ? { alg } : { alg, kid }, { payload: '', signature: '' })) as CryptoKey);

describe('remote JWKS', () => {
  it('fetches once and serves many lookups from the cache', async () => {
    const jwks = remote();

    for (let i = 0; i < 50; i++) expect((await resolve(jwks, 'key-current')).equals(current.publicKey)).toBe(true);

    expect(server.hits).toBe(1);
  });

  it('shares one fetch between concurrent cold lookups', async () => {
    const jwks = remote();
    server.setDelay(50);

    await Promise.all(Array.from({ length: 10 }, () => resolve(jwks, 'key-current')));

    expect(server.hits).toBe(1);
  });

  it('picks up a rotated key by refetching when an unknown kid appears after the cooldown', async () => {
    const clock = manualClock();
    const jwks = remote({ now: clock.now });
    await resolve(jwks, 'key-current');
    server.setKeys([current.jwk, next.jwk]);
    clock.advance(30_000);

    const key = await resolve(jwks, 'key-next');

    expect(key.equals(next.publicKey)).toBe(true);
    expect(server.hits).toBe(2);
  });

  it('refetches at most once per cooldown window however many unknown kids arrive', async () => {
    const clock = manualClock();
    const jwks = remote({ now: clock.now });
    await resolve(jwks, 'key-current');
    clock.advance(30_000);

    for (let i = 0; i < 20; i++) {
      await expect(resolve(jwks, `garbage-${i}`)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      clock.advance(1000);
    }

    // One refetch at the first garbage kid; the next window opens only after 30 s.
    expect(server.hits).toBe(2);
    clock.advance(30_000);
    await expect(resolve(jwks, 'garbage-late')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.hits).toBe(3);
  });

  it('does not refetch for a kid it knows under another key type', async () => {
    const clock = manualClock();
    server.setKeys([current.jwk, ecKey.jwk]);
    const jwks = remote({ now: clock.now });
    await resolve(jwks, 'key-current');
    clock.advance(60_000);

    await expect(resolve(jwks, 'key-ec', 'RS256')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.hits).toBe(1);
  });

  it('refreshes keys older than the maximum age, dropping a withdrawn key', async () => {
    const clock = manualClock();
    const jwks = remote({ now: clock.now, maxAgeMs: 600_000 });
    await resolve(jwks, 'key-current');
    server.setKeys([next.jwk]);
    clock.advance(600_000);

    await expect(resolve(jwks, 'key-current')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(server.hits).toBe(2);
  });

  it('keeps its cached keys, and says so, when a refresh of old keys fails', async () => {
    const clock = manualClock();
    const kept: UpstreamUnavailableError[] = [];
    const jwks = remote({ now: clock.now, onStaleKeysKept: (e) => kept.push(e) });
    await resolve(jwks, 'key-current');
    server.setMode('error500');
    clock.advance(600_000);

    expect((await resolve(jwks, 'key-current')).equals(current.publicKey)).toBe(true);
    expect(kept).toHaveLength(1);
    expect(kept[0].message).toContain('HTTP 500');
  });

  it.each([
    ['answers 500', 'error500', 'HTTP 500'],
    ['answers HTML', 'html', 'not JSON'],
    ['answers JSON that is not a JWKS', 'not-a-jwks', 'no "keys" array'],
    ['answers a JWKS without keys', 'empty-keys', 'no usable public signature key'],
  ] as const)('reports an upstream failure, not a bad token, when the endpoint %s', async (_name, mode, detail) => {
    server.setMode(mode);

    const error = await resolve(remote(), 'key-current').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ reason: 'upstream_unavailable', message: expect.stringContaining(detail) });
  });

  it('refuses a 10 MB JWKS as too large, and stops reading it at the limit', async () => {
    server.setMode('huge');

    const error = await resolve(remote({ timeoutMs: 2000 }), 'key-current').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({
      message: expect.stringContaining(`larger than the ${MAX_JWKS_BYTES} bytes accepted`),
      cause: { failure: 'too_large' },
    });
    // The client hung up long before the server could send the whole document.
    await new Promise((resolveLater) => setTimeout(resolveLater, 50));
    expect(server.hugeBytesSent).toBeLessThan(HUGE_JWKS_BYTES);
  });

  it('refuses a redirecting JWKS endpoint without following the redirect', async () => {
    server.setMode('redirect');

    const error = await resolve(remote(), 'key-current').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({
      message: expect.stringContaining('HTTP 302, a redirect, which is not followed'),
      cause: { failure: 'redirect' },
    });
    expect(server.redirectTargetHits).toBe(0);
  });

  it('reports an upstream failure when nothing listens at the JWKS URL', async () => {
    const jwks = createRemoteJwks({ url: await unusedLoopbackUrl(), timeoutMs: 1000, cooldownMs: 30_000 });

    await expect(resolve(jwks, 'key-current')).rejects.toMatchObject({
      reason: 'upstream_unavailable',
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('gives up after its timeout when the endpoint does not answer', async () => {
    server.setMode('hang');
    const jwks = remote({ timeoutMs: 150 });
    const started = Date.now();

    const error = await resolve(jwks, 'key-current').catch((e: unknown) => e);

    expect(error).toMatchObject({
      reason: 'upstream_unavailable',
      message: expect.stringContaining('timed out after 150 ms'),
    });
    // The endpoint never answers, so only the timeout can have ended the wait.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up after its timeout when the answer is slower than the timeout', async () => {
    server.setDelay(2000);

    await expect(resolve(remote({ timeoutMs: 100 }), 'key-current')).rejects.toMatchObject({
      message: expect.stringContaining('timed out'),
    });
  });

  it('reports an upstream failure for an unknown kid when the refetch fails, since it may be a rotation', async () => {
    const clock = manualClock();
    const jwks = remote({ now: clock.now });
    await resolve(jwks, 'key-current');
    server.setMode('error500');
    clock.advance(30_000);

    await expect(resolve(jwks, 'key-next')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    // The known key still verifies while AuthKit is down.
    expect((await resolve(jwks, 'key-current')).equals(current.publicKey)).toBe(true);
  });

  it('counts the second without retries from the end of a failed fetch, not its start', async () => {
    server.setMode('hang');
    let offsetMs = 0;
    const jwks = remote({ timeoutMs: 150, now: () => Date.now() + offsetMs });

    await expect(resolve(jwks, 'key-current')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    // The attempt started more than a second ago, the failure less than one.
    offsetMs = 900;
    await expect(resolve(jwks, 'key-current')).rejects.toBeInstanceOf(UpstreamUnavailableError);

    // Answered from memory: the endpoint was not asked (and waited on) again.
    expect(server.hits).toBe(1);
  });

  it('does not hit a failing endpoint again within a second of the failure', async () => {
    const clock = manualClock();
    server.setMode('error500');
    const jwks = remote({ now: clock.now });

    await expect(resolve(jwks, 'key-current')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    await expect(resolve(jwks, 'key-current')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(server.hits).toBe(1);

    server.setMode('ok');
    clock.advance(1000);
    expect((await resolve(jwks, 'key-current')).equals(current.publicKey)).toBe(true);
    expect(server.hits).toBe(2);
  });
});

describe('usableKeySet', () => {
  it('keeps the asymmetric public keys and drops private and symmetric members', async () => {
    const { keys, kids } = usableKeySet({
      keys: [
        { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
        { ...current.jwk, kid: 'private', d: 'AQAB' },
        { ...current.jwk, kid: 42 },
        'not an object',
        null,
        current.jwk,
        ecKey.jwk,
      ],
    });

    expect(keys.map((k) => k.kid)).toEqual(['key-current', 'key-ec']);
    expect([...kids]).toEqual(['key-current', 'key-ec']);
  });

  it.each([[null], [[]], [{}], [{ keys: 'x' }], [{ keys: [] }], [{ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }]])(
    'rejects %j',
    (document) => {
      expect(() => usableKeySet(document)).toThrow();
    },
  );
});

describe('local JWKS', () => {
  it('selects by kid and algorithm, and accepts a missing kid only when one key fits', async () => {
    const jwks = createLocalJwks({ keys: [current.jwk, next.jwk, ecKey.jwk] });

    expect((await resolve(jwks, 'key-next')).equals(next.publicKey)).toBe(true);
    expect((await resolve(jwks, undefined, 'ES256')).equals(ecKey.publicKey)).toBe(true);
    await expect(resolve(jwks, undefined)).rejects.toBeInstanceOf(errors.JWKSMultipleMatchingKeys);
    await expect(resolve(jwks, 'key-ec')).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });
});
