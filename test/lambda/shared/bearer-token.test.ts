/**
 * The one definition of Bearer header syntax and its three readers: API Gateway's validation
 * expression, the authorizer's parser and the runtime's extraction. Each keeps the language it had;
 * what ties them is that every header a stricter reader accepts, a laxer one accepts too and reads
 * the same token from.
 */
import fc from 'fast-check';
import {
  BEARER_TOKEN_VALIDATION_REGEX,
  bearerAuthorization,
  bearerCredentialsOf,
  bearerJwsOf,
  isBearerScheme,
} from '../../../lambda/shared/bearer-token';

const SEED = 20260707;
const gateway = new RegExp(BEARER_TOKEN_VALIDATION_REGEX);
const JWS = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';

describe('the gateway validation expression', () => {
  it('is the expression API Gateway has been deployed with (changing it changes the deployed API)', () => {
    expect(BEARER_TOKEN_VALIDATION_REGEX).toBe(
      '^[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$',
    );
  });
});

describe('the three readers', () => {
  // [header, gateway lets it through, the authorizer's token, the runtime's token]
  it.each<[string, boolean, string | undefined, string | undefined]>([
    [`Bearer ${JWS}`, true, JWS, JWS],
    [`bEaReR   ${JWS}`, true, JWS, JWS],
    ['Bearer a.b.', true, undefined, 'a.b.'],
    [`Bearer\t${JWS}`, false, undefined, JWS],
    [`Bearer ${JWS} `, false, undefined, JWS],
    ['Bearer opaque-token', false, undefined, 'opaque-token'],
    ['Bearer a.b', false, undefined, 'a.b'],
    ['Bearer a.b.c.d.e', false, undefined, 'a.b.c.d.e'],
    ['Bearer a+b.c.d', false, undefined, 'a+b.c.d'],
    [`Bearer ${JWS}, Bearer ${JWS}`, false, undefined, undefined],
    ['Bearer', false, undefined, undefined],
    [`Basic ${JWS}`, false, undefined, undefined],
    [`Bearerx ${JWS}`, false, undefined, undefined],
    [JWS, false, undefined, undefined],
  ])('read %j as the gateway: %s, the authorizer: %s, the runtime: %s', (header, atGateway, jws, credentials) => {
    expect(gateway.test(header)).toBe(atGateway);
    expect(bearerJwsOf(header)).toBe(jws);
    expect(bearerCredentialsOf(header)).toBe(credentials);
  });

  const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');
  const segment = (minLength: number) => fc.string({ unit: base64url, minLength, maxLength: 20 });
  const scheme = fc
    .array(fc.boolean(), { minLength: 6, maxLength: 6 })
    .map((upper) => [...'bearer'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
  /** Near misses as well as valid headers, so that each implication is tested on both sides. */
  const header = fc
    .tuple(
      fc.oneof(scheme, fc.constantFrom('Basic', 'Token', 'Bearerx', '')),
      fc.constantFrom(' ', '  ', '\t', ''),
      fc.array(fc.oneof(segment(0), fc.constantFrom('+', '=', ' ', '\t')), { minLength: 1, maxLength: 5 }),
    )
    .map(([name, space, parts]) => `${name}${space}${parts.join('.')}`);

  it('lets every header through the gateway that the authorizer accepts, and the runtime reads the same token', () => {
    fc.assert(
      fc.property(header, (value) => {
        const jws = bearerJwsOf(value);
        if (jws === undefined) return;
        expect(gateway.test(value)).toBe(true);
        expect(bearerCredentialsOf(value)).toBe(jws);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('has the runtime read every header the gateway lets through, as the text after the scheme', () => {
    fc.assert(
      fc.property(header, (value) => {
        if (!gateway.test(value)) return;
        expect(bearerCredentialsOf(value)).toBe(value.replace(/^\S+ +/, ''));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('reads the token back from the header bearerAuthorization writes', () => {
    fc.assert(
      fc.property(segment(1), segment(1), segment(1), (h, p, s) => {
        const jws = `${h}.${p}.${s}`;
        const value = bearerAuthorization(jws);
        expect(gateway.test(value)).toBe(true);
        expect(bearerJwsOf(value)).toBe(jws);
        expect(bearerCredentialsOf(value)).toBe(jws);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('isBearerScheme', () => {
  it.each(['Bearer', 'bearer', 'BEARER'])('accepts %j', (word) => {
    expect(isBearerScheme(word)).toBe(true);
  });

  it.each(['Basic', 'Bearerx', 'Beare', ''])('refuses %j', (word) => {
    expect(isBearerScheme(word)).toBe(false);
  });
});

describe("bearerCredentialsOf, the runtime's extraction", () => {
  it.each(['Bearer abc', 'bearer abc', 'BEARER   abc  '])(
    'reads the token of %j (scheme is case-insensitive)',
    (header) => {
      expect(bearerCredentialsOf(header)).toBe('abc');
    },
  );

  it.each([undefined, '', 'Bearer', 'Bearer a b', 'Token abc'])('finds none in %j', (header) => {
    expect(bearerCredentialsOf(header)).toBeUndefined();
  });
});
