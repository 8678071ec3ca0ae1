/**
 * Fuzzing of the token verifier, our policy on top of jose's jwtVerify (fast-check, fixed seed):
 * every mutation of a valid AuthKit token (flipped characters, swapped or dropped segments,
 * re-encoded headers and payloads, changed algorithms, forged signatures) must be refused with
 * InvalidTokenError, never accepted and never answered with another kind of error; and a token
 * whose signature does not verify is never refused for a claim. The keys are real RSA keys; the
 * JWKS is local.
 */
import { createHmac, generateKeyPairSync, sign as rsaSign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { loadAuthorizerConfig } from '../../lambda/authorizer/config';
import { InvalidTokenError } from '../../lambda/authorizer/errors';
import { createLocalJwks } from '../../lambda/authorizer/jwks';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../lambda/authorizer/verify-access-token';

const SEED = 20260707;
const ISSUER = 'https://acme.authkit.app';
const PUBLIC_BASE_URL = 'https://mcp.example.com';
const RESOURCE = `${PUBLIC_BASE_URL}/mcp`;
const NOW_S = 1_800_000_000;
const KID = 'key_01FUZZ';

interface RsaKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
  readonly publicPem: string;
}

function rsaKey(kid: string): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

let key: RsaKey;
let attacker: RsaKey;
let verifier: AccessTokenVerifier;
let validToken: string;
const header = { alg: 'RS256', typ: 'at+jwt', kid: KID };
const claims = {
  iss: ISSUER,
  sub: 'user_01FUZZUSER',
  aud: RESOURCE,
  client_id: 'client_01FUZZ',
  org_id: 'org_01FUZZ',
  sid: 'session_01FUZZ',
  scope: 'openid profile email',
  jti: 'jti_01FUZZ',
  iat: NOW_S - 60,
  exp: NOW_S + 3600,
};

/** An RS256 compact JWS of exactly these header and payload objects (jose would refuse some of the broken claims). */
async function sign(
  withKey: KeyObject,
  protectedHeader: Record<string, unknown>,
  payload: Record<string, unknown>,
): Promise<string> {
  const input = `${b64(protectedHeader)}.${b64(payload)}`;
  return `${input}.${rsaSign('sha256', Buffer.from(input), withKey).toString('base64url')}`;
}

beforeAll(async () => {
  key = rsaKey(KID);
  attacker = rsaKey(KID);
  const config = loadAuthorizerConfig({ PUBLIC_BASE_URL, AUTHKIT_ISSUER: ISSUER });
  verifier = createAccessTokenVerifier(config, {
    jwks: createLocalJwks({ keys: [key.publicJwk] }),
    now: () => NOW_S * 1000,
  });
  validToken = await sign(key.privateKey, header, claims);
});

/** Resolves with `accepted`, or with the refusal reason; rejects if the error is not an InvalidTokenError. */
async function verdictOf(token: string): Promise<string> {
  try {
    await verifier.verifyAccessToken(token);
    return 'accepted';
  } catch (error) {
    if (error instanceof InvalidTokenError) return error.reason;
    throw error;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Mutation = (token: string) => string | Promise<string>;

/** Replaces one character with another (base64url or not). */
const characterFlip = fc
  .tuple(fc.nat(), fc.oneof(fc.constantFrom(...ALPHABET), fc.constantFrom('.', '=', '+', '/', ' ', '%', '\u00e9')))
  .map(
    ([at, replacement]): Mutation =>
      (token) => {
        const index = at % token.length;
        return token.slice(0, index) + replacement + token.slice(index + 1);
      },
  );

/** Flips one bit of one decoded byte in one segment and re-encodes it. */
const bitFlip = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.nat(), fc.integer({ min: 0, max: 7 })).map(
  ([part, at, bit]): Mutation =>
    (token) => {
      const parts = token.split('.');
      const bytes = Buffer.from(parts[part], 'base64url');
      bytes[at % bytes.length] ^= 1 << bit;
      parts[part] = bytes.toString('base64url');
      return parts.join('.');
    },
);

/** Reorders, drops, duplicates or adds segments. */
const segmentShuffle = fc.constantFrom<Mutation>(
  (t) => t.split('.').reverse().join('.'),
  (t) => {
    const [h, p, s] = t.split('.');
    return [p, h, s].join('.');
  },
  (t) => {
    const [h, p, s] = t.split('.');
    return [h, s, p].join('.');
  },
  (t) => t.split('.').slice(0, 2).join('.'),
  (t) => `${t.split('.').slice(0, 2).join('.')}.`,
  (t) => `${t}.${t.split('.')[2]}`,
  (t) => `${t.split('.')[0]}.${t}`,
  (t) => `${t}..`,
  (t) => {
    const [h, p] = t.split('.');
    return `${h}.${p}.${p}`;
  },
  (t) => {
    const [h, , s] = t.split('.');
    return `${h}.${h}.${s}`;
  },
  // A JWE-shaped token: five segments.
  (t) => `${t}.${b64('iv')}.${b64('tag')}`,
);

/** Header changes: other algorithms, embedded keys, other kids, or the same header spelled differently. */
const headerChange = fc.constantFrom<Record<string, unknown> | string>(
  { ...header, alg: 'none' },
  { ...header, alg: 'None' },
  { ...header, alg: 'HS256' },
  { ...header, alg: 'RS384' },
  { ...header, alg: 'PS256' },
  { ...header, alg: 'ES256' },
  { ...header, alg: 'EdDSA' },
  { ...header, alg: 'rs256' },
  { ...header, kid: 'key_OTHER' },
  { alg: 'RS256', typ: 'at+jwt' },
  { ...header, jku: 'https://attacker.example.com/jwks' },
  { ...header, jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
  { ...header, x5u: 'https://attacker.example.com/cert.pem' },
  { ...header, enc: 'A256GCM' },
  { ...header, crit: ['exp'] },
  { ...header, b64: false },
  { kid: KID, typ: 'at+jwt', alg: 'RS256' },
  JSON.stringify(header, null, 1),
  ` ${JSON.stringify(header)}`,
  JSON.stringify([header]),
  'null',
  '"RS256"',
  '{"alg":"RS256","alg":"none","kid":"key_01FUZZ"}',
);

/** Payload changes: the claims an attacker would like to change, and the same claims spelled differently. */
const payloadChange = fc.oneof(
  fc.constantFrom<Record<string, unknown> | string>(
    { ...claims, sub: 'user_01ADMIN' },
    { ...claims, exp: NOW_S + 10 * 365 * 86400 },
    { ...claims, aud: 'https://other.example.com/mcp' },
    { ...claims, aud: [RESOURCE] },
    { ...claims, iss: `${ISSUER}/` },
    { ...claims, scope: 'openid profile email admin' },
    JSON.stringify(claims, null, 2),
    JSON.stringify(Object.fromEntries(Object.entries(claims).reverse())),
    `${JSON.stringify(claims)} `,
  ),
  fc
    .record({ sub: fc.string(), exp: fc.integer(), aud: fc.oneof(fc.string(), fc.constant(RESOURCE)) })
    .map((changes) => ({ ...claims, ...changes })),
);

const reencode =
  (part: 0 | 1) =>
  (value: Record<string, unknown> | string): Mutation =>
  (token) => {
    const parts = token.split('.');
    parts[part] = b64(value);
    return parts.join('.');
  };

const base64Variants = fc.constantFrom<Mutation>(
  // Padding, the standard alphabet, and whitespace are not base64url as JWS defines it.
  (t) =>
    t
      .split('.')
      .map((p, i) => (i === 2 ? `${p}==` : p))
      .join('.'),
  (t) => {
    const [h, p, s] = t.split('.');
    return [h, p, Buffer.from(s, 'base64url').toString('base64')].join('.');
  },
  (t) => {
    const [h, p, s] = t.split('.');
    return [Buffer.from(h, 'base64url').toString('base64'), p, s].join('.');
  },
  (t) => t.replace('.', ' .'),
  (t) => `${t}\n`,
  (t) => t.slice(0, -1),
  (t) => `${t}A`,
);

/** Signatures that are not the key's: another key with the same kid, HMAC with the public key, nothing. */
const forgedSignature = fc.constantFrom<Mutation>(
  async () => sign(attacker.privateKey, header, { ...claims, sub: 'user_01ADMIN' }),
  async () => sign(attacker.privateKey, header, claims),
  // Algorithm confusion: HS256 with the RSA public key as the shared secret.
  (t) => {
    const forgedHeader = b64({ ...header, alg: 'HS256' });
    const payload = t.split('.')[1];
    return `${forgedHeader}.${payload}.${createHmac('sha256', key.publicPem).update(`${forgedHeader}.${payload}`).digest('base64url')}`;
  },
  (t) => {
    const forgedHeader = b64({ ...header, alg: 'none' });
    return `${forgedHeader}.${t.split('.')[1]}.`;
  },
  (t) => `${t.split('.').slice(0, 2).join('.')}.${Buffer.alloc(256).toString('base64url')}`,
  (t) =>
    `${t.split('.').slice(0, 2).join('.')}.${Buffer.from(t.split('.')[2], 'base64url').subarray(0, 128).toString('base64url')}`,
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  characterFlip,
  bitFlip,
  segmentShuffle,
  headerChange.map(reencode(0)),
  payloadChange.map(reencode(1)),
  base64Variants,
  forgedSignature,
);

describe('verifyAccessToken under fuzzing', () => {
  it('accepts the untouched token (the mutations below start from a token that verifies)', async () => {
    expect(await verdictOf(validToken)).toBe('accepted');
  });

  it('refuses every mutation of a valid token with InvalidTokenError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let token = validToken;
        for (const mutate of mutations) token = await mutate(token);
        fc.pre(token !== validToken);
        expect(await verdictOf(token)).not.toBe('accepted');
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  it('never gives a claim reason to a token whose signature was not made by the published key', async () => {
    const claimReasons = [
      'expired',
      'not_yet_valid',
      'wrong_issuer',
      'wrong_audience',
      'not_an_access_token',
      'insufficient_scope',
    ];
    const notSignedByTheKey = fc.oneof(
      characterFlip,
      bitFlip,
      segmentShuffle,
      headerChange.map(reencode(0)),
      payloadChange.map(reencode(1)),
      forgedSignature,
    );
    await fc.assert(
      fc.asyncProperty(
        notSignedByTheKey,
        fc.constantFrom<Record<string, unknown>>(
          { exp: 1 },
          { aud: 'https://other.example.com/mcp' },
          { iss: 'https://evil.example' },
        ),
        async (mutate, badClaim) => {
          // A payload that fails a claim, under the real signature of the good payload: the signature no longer covers it.
          const [h, , s] = validToken.split('.');
          const token = await mutate(`${h}.${b64({ ...claims, ...badClaim })}.${s}`);
          expect(claimReasons).not.toContain(await verdictOf(token));
        },
      ),
      { seed: SEED, numRuns: 600 },
    );
  });

  it('refuses tokens re-signed with the real key whenever a checked claim is wrong', async () => {
    const wrongClaim = fc.oneof(
      fc.record({ iss: fc.string().filter((iss) => iss !== ISSUER) }),
      fc.record({ aud: fc.string().filter((aud) => aud !== RESOURCE) }),
      fc.record({ aud: fc.array(fc.string(), { minLength: 2, maxLength: 3 }).map((extra) => [RESOURCE, ...extra]) }),
      fc.record({ exp: fc.integer({ min: 0, max: NOW_S - 30 }) }),
      fc.record({ nbf: fc.integer({ min: NOW_S + 31, max: NOW_S + 10 ** 6 }) }),
      fc.record({ sub: fc.constantFrom(undefined, 42, '', null) }),
      fc.record({ exp: fc.constantFrom(undefined, '9999999999', null, Number.NaN) }),
    );
    await fc.assert(
      fc.asyncProperty(wrongClaim, async (changes) => {
        const payload: Record<string, unknown> = { ...claims, ...changes };
        for (const [name, value] of Object.entries(changes)) if (value === undefined) delete payload[name];
        const token = await sign(key.privateKey, header, payload);
        expect(await verdictOf(token)).not.toBe('accepted');
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('refuses random three-part strings without throwing anything but InvalidTokenError', async () => {
    const part = fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 400 });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(part, part, part).map((p) => p.join('.')),
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        async (token) => {
          expect(await verdictOf(token)).not.toBe('accepted');
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });
});
