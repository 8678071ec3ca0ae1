import { loadAuthorizerConfig } from '../../lambda/authorizer/config';
import { createAccessTokenVerifier } from '../../lambda/authorizer/verify-access-token';
import { BENCH_BASE_URL, BENCH_ISSUER, BENCH_URLS, benchClaims, benchJwks, signBenchToken } from '../../bench/fixtures';
import { startJwksServer, type JwksServer } from '../../fixtures/jwks-server';

describe('benchmark fixtures', () => {
  let jwks: JwksServer;
  beforeAll(async () => {
    jwks = await startJwksServer(benchJwks().keys);
  });
  afterAll(async () => {
    await jwks.close();
  });

  it('sign the same token on every run', () => {
    expect(signBenchToken()).toBe(signBenchToken());
    expect(signBenchToken(benchClaims({ jti: 'a' }))).not.toBe(signBenchToken(benchClaims({ jti: 'b' })));
  });

  it('give a token the authorizer accepts for the benchmark resource', async () => {
    const config = loadAuthorizerConfig({
      PUBLIC_BASE_URL: BENCH_BASE_URL,
      AUTHKIT_ISSUER: BENCH_ISSUER,
      AUTHKIT_JWKS_URL: jwks.url,
    });
    const verified = await createAccessTokenVerifier(config).verifyAccessToken(signBenchToken());
    expect(verified.sub).toBe(benchClaims().sub);
    expect(verified.aud).toBe(BENCH_URLS.resource);
  });

  it('publish only the public half of the key', () => {
    const [key] = benchJwks().keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(privatePart);
  });
});
