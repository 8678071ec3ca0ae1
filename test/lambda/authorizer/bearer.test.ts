import { MAX_AUTHORIZATION_HEADER_BYTES, parseBearerHeader } from '../../../lambda/authorizer/bearer';
import { InvalidTokenError } from '../../../lambda/authorizer/errors';
import { BEARER_TOKEN_VALIDATION_REGEX } from '../../../lambda/shared/bearer-token';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl';

describe('parseBearerHeader', () => {
  it.each([
    ['Bearer', `Bearer ${JWT}`],
    ['bearer', `bearer ${JWT}`],
    ['BEARER', `BEARER ${JWT}`],
    ['several spaces', `Bearer    ${JWT}`],
    ['surrounding whitespace', ` \tBearer ${JWT}\t `],
  ])('returns the token for %s', (_name, header) => {
    expect(parseBearerHeader(header)).toBe(JWT);
  });

  it.each([
    ['undefined', undefined, 'missing', 'No Authorization header value'],
    ['null', null, 'missing', 'No Authorization header value'],
    ['empty', '', 'missing', 'No Authorization header value'],
    ['Basic', 'Basic dXNlcjpwYXNz', 'malformed', 'Authorization scheme is Basic, expected Bearer'],
    ['DPoP', `DPoP ${JWT}`, 'malformed', 'Authorization scheme is DPoP, expected Bearer'],
    ['no scheme', JWT, 'malformed', 'Authorization header is not a Bearer header'],
    [
      'a short API key without scheme',
      'sk_live_4f9a8b7c6d5e',
      'malformed',
      'Authorization header is not a Bearer header',
    ],
    ['a very short credential without scheme', 'k3y_8chr', 'malformed', 'Authorization header is not a Bearer header'],
    [
      'a long scheme-like word before credentials',
      `${'x'.repeat(21)} abc`,
      'malformed',
      'Authorization header is not a Bearer header',
    ],
    ['a comma list', `Bearer ${JWT}, Bearer ${JWT}`, 'malformed', 'Bearer header carries more than one value'],
    ['no token', 'Bearer ', 'malformed', 'Bearer header carries no token'],
    ['a tab separator', `Bearer\t${JWT}`, 'malformed', 'Bearer scheme must be followed by a space'],
    ['a JWE', 'Bearer a.b.c.d.e', 'malformed', 'Token is an encrypted JWT (JWE); only signed tokens are accepted'],
    ['two segments', 'Bearer a.b', 'malformed', 'Token has 2 segments, expected 3 (header.payload.signature)'],
    [
      'an empty signature',
      'Bearer a.b.',
      'malformed',
      'Token contains characters outside base64url or an empty segment',
    ],
    [
      'base64 padding',
      `Bearer ${JWT}==`,
      'malformed',
      'Token contains characters outside base64url or an empty segment',
    ],
    [
      'standard base64 characters',
      'Bearer a+b.c/d.e',
      'malformed',
      'Token contains characters outside base64url or an empty segment',
    ],
    [
      'a header field separator',
      `Bearer ${JWT}\r\nX-Evil: 1`,
      'malformed',
      'Bearer header carries more than one value',
    ],
    [
      'an oversized value',
      `Bearer ${'a'.repeat(MAX_AUTHORIZATION_HEADER_BYTES)}`,
      'malformed',
      `Authorization header is longer than ${MAX_AUTHORIZATION_HEADER_BYTES} bytes`,
    ],
  ])('rejects %s with a readable reason', (_name, header, reason, message) => {
    const error = (() => {
      try {
        parseBearerHeader(header);
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error).toMatchObject({ reason, message });
  });

  it.each([
    'x'.repeat(40),
    'sk_live_4f9a8b7c6d5e',
    'ghp_0123456789abcdef',
    'abc',
    'Basic',
    'sk_live_4f9a8b7c6d5e,more',
  ])('does not echo %j, a word with no credentials after it, into the reason', (secret) => {
    expect(() => parseBearerHeader(secret)).toThrow('Authorization header is not a Bearer header');
  });
});

describe('the spellings of one token, each its own authorizer-cache key', () => {
  // API Gateway keys a TOKEN authorizer's cache by the header value as sent, with no normalisation
  // (https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html), so every spelling the
  // validation expression admits is one authorizer run. SECURITY.md 9 documents the count and cost.
  const token = `${'h'.repeat(36)}.${'p'.repeat(800)}.${'s'.repeat(342)}`;
  const gateway = new RegExp(BEARER_TOKEN_VALIDATION_REGEX);
  const caseSpellings = Array.from({ length: 64 }, (_, bits) =>
    [...'bearer'].map((letter, i) => ((bits >> i) & 1 ? letter.toUpperCase() : letter)).join(''),
  );

  it('admits the 64 letter cases of the scheme (RFC 7235: case-insensitive), so clients sending bearer or BEARER keep working', () => {
    expect(new Set(caseSpellings).size).toBe(64);
    for (const scheme of caseSpellings) {
      expect(gateway.test(`${scheme} ${token}`)).toBe(true);
      expect(parseBearerHeader(`${scheme} ${token}`)).toBe(token);
    }
  });

  it('admits 64 × (8192 − 6 − token length) spellings that the authorizer allows: 64 × 7006 for a 1,180-byte token', () => {
    const longestRun = MAX_AUTHORIZATION_HEADER_BYTES - 'Bearer'.length - token.length;
    for (const spaces of [1, 2, 100, longestRun]) {
      const header = `Bearer${' '.repeat(spaces)}${token}`;
      expect(gateway.test(header)).toBe(true);
      expect(parseBearerHeader(header)).toBe(token);
    }
    const oneTooLong = `Bearer${' '.repeat(longestRun + 1)}${token}`;
    expect(gateway.test(oneTooLong)).toBe(true);
    expect(() => parseBearerHeader(oneTooLong)).toThrow('longer than 8192 bytes');
    expect(caseSpellings.length * longestRun).toBe(64 * 7006);
  });

  it('reads a header padded with thousands of spaces and tabs around the token the same as a plain one', () => {
    const padded = `${' \t'.repeat(500)}Bearer${' '.repeat(4000)}${token}${'\t '.repeat(500)}`;
    expect(parseBearerHeader(padded)).toBe(token);
    expect(() => parseBearerHeader(`Bearer${' '.repeat(4000)}${token}${' '.repeat(3000)}x`)).toThrow(
      'Bearer header carries more than one value',
    );
  });

  it.each([
    ['a tab after the scheme', `Bearer\t${'x'}`],
    ['a leading space', ` Bearer ${'x'}`],
    ['a trailing space', `Bearer ${'x'} `],
  ])('admits no other variation through the gateway: %s', (_case, shape) => {
    expect(gateway.test(shape.replace('x', token))).toBe(false);
  });
});
