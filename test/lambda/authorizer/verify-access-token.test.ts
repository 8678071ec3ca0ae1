import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import { InsufficientScopeError, type InvalidTokenError } from '../../../lambda/authorizer/errors';
import { createLocalJwks, createRemoteJwks } from '../../../lambda/authorizer/jwks';
import { createAccessTokenVerifier } from '../../../lambda/authorizer/verify-access-token';
import { startJwksServer } from '../../../fixtures/jwks-server';
import {
  accessTokenClaims,
  compactJws,
  createTestKey,
  ISSUER,
  PUBLIC_BASE_URL,
  RESOURCE,
  rs256Signer,
  signAccessToken,
  type TestKey,
} from './support/tokens';

const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;
let key: TestKey;

beforeAll(async () => {
  key = await createTestKey('key-1');
});

function verifierFor(env: Record<string, string> = {}, jwksDocument: object = { keys: [key.jwk] }) {
  const config = loadAuthorizerConfig({ PUBLIC_BASE_URL, AUTHKIT_ISSUER: ISSUER, ...env });
  return createAccessTokenVerifier(config, { jwks: createLocalJwks(jwksDocument), now: () => NOW_MS });
}

const claims = (overrides: Record<string, unknown> = {}) => accessTokenClaims(overrides, NOW);
const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (e: InvalidTokenError) => e.reason,
  );

describe('verifyAccessToken', () => {
  it('returns the verified identity of an AuthKit token', async () => {
    const verified = await verifierFor().verifyAccessToken(await signAccessToken(key, claims()));

    expect(verified).toEqual({
      sub: 'user_01HXYZABCDEF',
      clientId: 'client_01HCLIENT',
      orgId: 'org_01HORG',
      sid: 'session_01HSESSION',
      scopes: ['openid', 'profile', 'mcp:tools'],
      jti: 'jti_01HJTI',
      exp: NOW + 3600,
      aud: RESOURCE,
      iss: ISSUER,
    });
  });

  it('accepts an audience listed in ACCEPTED_AUDIENCES and reports it', async () => {
    const verifier = verifierFor({ ACCEPTED_AUDIENCES: 'client_01HDEFAULT' });

    expect(
      (await verifier.verifyAccessToken(await signAccessToken(key, claims({ aud: 'client_01HDEFAULT' })))).aud,
    ).toBe('client_01HDEFAULT');
  });

  it('accepts a token naming several audiences only when configured, preferring this resource', async () => {
    const token = await signAccessToken(key, claims({ aud: ['https://other.example.com/mcp', RESOURCE] }));

    expect(await reasonOf(verifierFor().verifyAccessToken(token))).toBe('wrong_audience');
    expect((await verifierFor({ ALLOW_MULTIPLE_AUDIENCES: 'true' }).verifyAccessToken(token)).aud).toBe(RESOURCE);
    expect(
      await reasonOf(
        verifierFor({ ALLOW_MULTIPLE_AUDIENCES: 'true' }).verifyAccessToken(
          await signAccessToken(key, claims({ aud: ['a', 'b'] })),
        ),
      ),
    ).toBe('wrong_audience');
  });

  it.each([
    [-30, 'expired'],
    [-29, 'accepted'],
  ])('treats exp at now%+d s with 30 s tolerance as %s', async (offset, outcome) => {
    expect(
      await reasonOf(verifierFor().verifyAccessToken(await signAccessToken(key, claims({ exp: NOW + offset })))),
    ).toBe(outcome);
  });

  it.each([
    [30, 'accepted'],
    [31, 'not_yet_valid'],
  ])('treats nbf at now+%d s with 30 s tolerance as %s', async (offset, outcome) => {
    expect(
      await reasonOf(verifierFor().verifyAccessToken(await signAccessToken(key, claims({ nbf: NOW + offset })))),
    ).toBe(outcome);
  });

  it('honours CLOCK_TOLERANCE_SECONDS', async () => {
    const token = await signAccessToken(key, claims({ exp: NOW - 10 }));

    expect(await reasonOf(verifierFor({ CLOCK_TOLERANCE_SECONDS: '0' }).verifyAccessToken(token))).toBe('expired');
  });

  it('raises InsufficientScopeError with the identity and the missing scopes', async () => {
    const verifier = verifierFor({ REQUIRED_SCOPES: 'mcp:tools mcp:admin' });

    const error = await verifier.verifyAccessToken(await signAccessToken(key, claims())).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect(error).toMatchObject({
      reason: 'insufficient_scope',
      missingScopes: ['mcp:admin'],
      token: { sub: 'user_01HXYZABCDEF' },
    });
  });

  it('verifies PS256, ES256 and EdDSA when they are configured', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const verifier = verifierFor(
      { TOKEN_ALGORITHMS: 'PS256 ES256 EdDSA' },
      {
        keys: [
          { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'ps' },
          { ...ec.publicKey.export({ format: 'jwk' }), kid: 'es' },
          { ...ed.publicKey.export({ format: 'jwk' }), kid: 'ed' },
        ],
      },
    );
    const pss = compactJws({ alg: 'PS256', kid: 'ps' }, claims(), (i) =>
      sign('sha256', i, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
    );
    const es = compactJws({ alg: 'ES256', kid: 'es' }, claims(), (i) =>
      sign('sha256', i, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    const esDer = compactJws({ alg: 'ES256', kid: 'es' }, claims(), (i) => sign('sha256', i, ec.privateKey));
    const eddsa = compactJws({ alg: 'EdDSA', kid: 'ed' }, claims(), (i) => sign(null, i, ed.privateKey));

    for (const token of [pss, es, eddsa])
      expect((await verifier.verifyAccessToken(token)).sub).toBe('user_01HXYZABCDEF');
    // JWS ECDSA signatures are raw r||s, never DER.
    expect(await reasonOf(verifier.verifyAccessToken(esDer))).toBe('bad_signature');
  });

  it('fetches keys for unknown kids at most once per cooldown, whatever claims the tokens carry', async () => {
    const server = await startJwksServer([key.jwk]);
    try {
      const config = loadAuthorizerConfig({ PUBLIC_BASE_URL, AUTHKIT_ISSUER: ISSUER });
      const verifier = createAccessTokenVerifier(config, {
        jwks: createRemoteJwks({ url: server.url, timeoutMs: 1000, cooldownMs: 30_000 }),
      });
      const hostile = (overrides: Record<string, unknown>) =>
        compactJws({ alg: 'RS256', kid: `random-${Math.random()}` }, accessTokenClaims(overrides), rs256Signer(key));

      // The claims are never read before a key verified the signature: no published key, no claim reason.
      expect(await reasonOf(verifier.verifyAccessToken(hostile({ exp: 1 })))).toBe('unknown_key');
      expect(await reasonOf(verifier.verifyAccessToken(hostile({ iss: 'https://evil.example' })))).toBe('unknown_key');
      expect(await reasonOf(verifier.verifyAccessToken(hostile({ aud: 'https://evil.example/mcp' })))).toBe(
        'unknown_key',
      );
      expect(server.hits).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('still checks the signature of a token whose header it has seen before', async () => {
    const verifier = verifierFor();
    const good = await signAccessToken(key, claims());
    await verifier.verifyAccessToken(good);
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(256, 1).toString('base64url')}`;

    expect(await reasonOf(verifier.verifyAccessToken(forged))).toBe('bad_signature');
  });

  it('agrees with jose.jwtVerify on issuer, audience, exp and nbf', async () => {
    const verifier = verifierFor();
    const joseKeys = createLocalJWKSet({ keys: [key.jwk] });
    const other = 'https://other.example.com/mcp';

    await fc.assert(
      fc.asyncProperty(
        fc.record({
          iss: fc.constantFrom(ISSUER, `${ISSUER}/`, 'https://evil.authkit.app'),
          aud: fc.constantFrom<string | string[]>(RESOURCE, other, [RESOURCE], [other]),
          exp: fc.integer({ min: -120, max: 120 }),
          nbf: fc.option(fc.integer({ min: -120, max: 120 }), { nil: undefined }),
        }),
        async ({ iss, aud, exp, nbf }) => {
          const token = await signAccessToken(
            key,
            claims({ iss, aud, exp: NOW + exp, nbf: nbf === undefined ? undefined : NOW + nbf }),
          );
          const ours = await verifier.verifyAccessToken(token).then(
            () => true,
            () => false,
          );
          const theirs = await jwtVerify(token, joseKeys, {
            issuer: ISSUER,
            audience: RESOURCE,
            algorithms: ['RS256'],
            clockTolerance: 30,
            currentDate: new Date(NOW_MS),
            requiredClaims: ['exp'],
          }).then(
            () => true,
            () => false,
          );
          expect(ours).toBe(theirs);
        },
      ),
      { numRuns: 150 },
    );
  });

  // An AuthKit ID token of the same environment: same issuer and key, aud = the client id (listed
  // in ACCEPTED_AUDIENCES here), OIDC claims, no scope (WorkOS Connect token reference).
  const idTokenClaims = (overrides: Record<string, unknown> = {}) => ({
    iss: ISSUER,
    sub: 'user_01HXYZABCDEF',
    aud: 'client_01HDEFAULT',
    name: 'Dev User',
    email: 'dev@example.com',
    email_verified: true,
    nonce: 'f39a8e47d2c9b6fa',
    iat: NOW - 5,
    exp: NOW + 3600,
    ...overrides,
  });
  const withHeader = (
    claims: Record<string, unknown>,
    header: Record<string, unknown> = { alg: 'RS256', kid: 'key-1' },
  ) => compactJws(header, claims, rs256Signer(key));

  it.each<[string, string, () => string]>([
    ['an AuthKit-shaped ID token (nonce, no scope)', 'not_an_access_token', () => withHeader(idTokenClaims())],
    [
      'an ID token with auth_time instead of nonce',
      'not_an_access_token',
      () => withHeader(idTokenClaims({ nonce: undefined, auth_time: NOW - 60 })),
    ],
    [
      'an ID token with at_hash',
      'not_an_access_token',
      () => withHeader(idTokenClaims({ nonce: undefined, at_hash: 'dGhpcyBpcyBhIGhhc2g' })),
    ],
    [
      'a token typed as an ID token',
      'not_an_access_token',
      () => withHeader(claims({ aud: 'client_01HDEFAULT' }), { alg: 'RS256', kid: 'key-1', typ: 'id_token+jwt' }),
    ],
    [
      'a token typed as a logout token',
      'not_an_access_token',
      () => withHeader(claims(), { alg: 'RS256', kid: 'key-1', typ: 'logout+jwt' }),
    ],
    ['an AuthKit access token (no typ, the documented claims)', 'accepted', () => withHeader(claims())],
    [
      'an access token typed at+jwt (the local stand-in’s)',
      'accepted',
      () => withHeader(claims(), { alg: 'RS256', kid: 'key-1', typ: 'at+jwt' }),
    ],
    [
      'an access token typed application/at+jwt',
      'accepted',
      () => withHeader(claims(), { alg: 'RS256', kid: 'key-1', typ: 'application/at+jwt' }),
    ],
    [
      'an access token that also carries a nonce, with its scope',
      'accepted',
      () => withHeader(claims({ nonce: 'n-0S6_WzA2Mj' })),
    ],
    ['an access token without scope or ID-token claims', 'accepted', () => withHeader(claims({ scope: undefined }))],
  ])('refuses ID-token-shaped tokens as access tokens: %s is %s', async (_name, outcome, token) => {
    const verifier = verifierFor({ ACCEPTED_AUDIENCES: 'client_01HDEFAULT' });

    expect(await reasonOf(verifier.verifyAccessToken(token()))).toBe(outcome);
  });

  it('contains no hand-written signature check: nothing in lambda/authorizer imports node:crypto or calls a verify primitive', () => {
    const folder = join(__dirname, '..', '..', '..', 'lambda', 'authorizer');
    const sources = readdirSync(folder).filter((file) => file.endsWith('.ts'));
    expect(sources).toContain('verify-access-token.ts');
    for (const file of sources) {
      const text = readFileSync(join(folder, file), 'utf8');
      expect({ file, crypto: /from ['"](node:)?crypto['"]|require\(['"](node:)?crypto['"]\)/.test(text) }).toEqual({
        file,
        crypto: false,
      });
      expect({ file, verify: /\b(crypto|subtle)\.verify\(|\bverify\(\s*['"](sha|RSA)/i.test(text) }).toEqual({
        file,
        verify: false,
      });
    }
  });
});
