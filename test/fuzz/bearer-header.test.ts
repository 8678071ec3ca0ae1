/**
 * Fuzzing of the Authorization-header parser (fast-check, fixed seed): whatever a client sends,
 * the parser either returns a compact JWS taken from a Bearer header or refuses with
 * InvalidTokenError, and its refusal never repeats the credentials into the logs.
 */
import fc from 'fast-check';
import { MAX_AUTHORIZATION_HEADER_BYTES, parseBearerHeader } from '../../lambda/authorizer/bearer';
import { InvalidTokenError } from '../../lambda/authorizer/errors';

const SEED = 20260707;
const RUNS = 1500;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const segment = (min = 1, max = 80) =>
  fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: min, maxLength: max });
const compactJws = fc.tuple(segment(), segment(), segment()).map((parts) => parts.join('.'));
/** "bearer" in any letter case. */
const bearerScheme = fc
  .array(fc.boolean(), { minLength: 6, maxLength: 6 })
  .map((upper) => [...'bearer'].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));
const optionalWhitespace = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 3 });

/** Header values a hostile or broken client might send: near misses of the Bearer form and plain noise. */
const hostileHeader = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .tuple(
      fc.constantFrom('Bearer', 'bearer', 'Basic', 'DPoP', 'Token', 'Bearer:', 'Bearer\t', ''),
      fc.string({ maxLength: 120 }),
    )
    .map(([scheme, rest]) => `${scheme} ${rest}`),
  fc
    .tuple(bearerScheme, compactJws, fc.constantFrom('.', '..', '.x.y', ' x', ',', '\u0000', '=', '+', '/', '\n'))
    .map(([scheme, jws, tail]) => `${scheme} ${jws}${tail}`),
  fc
    .tuple(bearerScheme, fc.array(segment(0, 20), { minLength: 1, maxLength: 7 }))
    .map(([scheme, parts]) => `${scheme} ${parts.join('.')}`),
  fc.tuple(bearerScheme, compactJws).map(([scheme, jws]) => `${scheme}${jws}`),
);

function outcomeOf(value: string): { token: string } | { error: unknown } {
  try {
    return { token: parseBearerHeader(value) };
  } catch (error) {
    return { error };
  }
}

describe('parseBearerHeader under fuzzing', () => {
  it('returns the token of every well-formed Bearer header, whatever the case of the scheme and the surrounding spaces', () => {
    fc.assert(
      fc.property(
        optionalWhitespace,
        bearerScheme,
        fc.integer({ min: 1, max: 4 }),
        compactJws,
        optionalWhitespace,
        (before, scheme, spaces, jws, after) => {
          expect(parseBearerHeader(`${before}${scheme}${' '.repeat(spaces)}${jws}${after}`)).toBe(jws);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('only ever returns three non-empty base64url segments that the header carried after a Bearer scheme, or refuses with InvalidTokenError', () => {
    fc.assert(
      fc.property(hostileHeader, (value) => {
        const outcome = outcomeOf(value);
        if ('token' in outcome) {
          expect(outcome.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
          expect(value.trim()).toMatch(/^bearer +/i);
          expect(value.trim().endsWith(outcome.token)).toBe(true);
        } else {
          expect(outcome.error).toBeInstanceOf(InvalidTokenError);
          expect(['missing', 'malformed']).toContain((outcome.error as InvalidTokenError).reason);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('never repeats the credentials of a refused header in its message', () => {
    // A credential long enough to matter, with a character that makes the header malformed somewhere.
    const credentials = fc
      .tuple(
        fc.string({ unit: fc.constantFrom(...BASE64URL, '.'), minLength: 21, maxLength: 120 }),
        fc.constantFrom('', '.', '..', ' extra', '=', '/x'),
      )
      .map(([text, tail]) => `${text}${tail}`);
    fc.assert(
      fc.property(fc.constantFrom('Bearer ', 'bearer  ', 'Basic ', 'Token ', ''), credentials, (scheme, secret) => {
        const outcome = outcomeOf(`${scheme}${secret}`);
        if ('error' in outcome) {
          const message = (outcome.error as Error).message;
          expect(message).not.toContain(secret.trim());
          expect(message).not.toContain(secret.trim().slice(0, 21));
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('refuses any header longer than the limit before looking at it', () => {
    fc.assert(
      fc.property(compactJws, fc.integer({ min: 1, max: 64 }), (jws, extra) => {
        const value = `Bearer ${jws}${'A'.repeat(MAX_AUTHORIZATION_HEADER_BYTES)}`.slice(
          0,
          MAX_AUTHORIZATION_HEADER_BYTES + extra,
        );
        const outcome = outcomeOf(value);
        expect('error' in outcome && (outcome.error as InvalidTokenError).reason).toBe('malformed');
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
