import { MAX_AUTHORIZATION_HEADER_BYTES, parseBearerHeader } from '../../../lambda/authorizer/bearer';
import { InvalidTokenError } from '../../../lambda/authorizer/errors';

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
