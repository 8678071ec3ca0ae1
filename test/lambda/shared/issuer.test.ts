import { authkitIssuer, InvalidAuthKitDomainError, jwksUrlOf } from '../../../lambda/shared/issuer';

describe('authkitIssuer', () => {
  it.each([
    ['acme.authkit.app', 'https://acme.authkit.app'],
    ['https://acme.authkit.app', 'https://acme.authkit.app'],
    ['https://acme.authkit.app/', 'https://acme.authkit.app'],
    ['  https://ACME.AuthKit.app  ', 'https://acme.authkit.app'],
    ['https://Acme.authkit.app/', 'https://acme.authkit.app'],
    ['https://acme.authkit.app:443', 'https://acme.authkit.app'],
    ['auth.example.com', 'https://auth.example.com'],
    ['http://localhost:8788', 'http://localhost:8788'],
    ['http://127.0.0.1:8788/', 'http://127.0.0.1:8788'],
    ['http://[::1]:8788', 'http://[::1]:8788'],
  ])('normalises %j to the issuer %j', (input, issuer) => {
    expect(authkitIssuer(input)).toBe(issuer);
  });

  it.each([
    ['', /it is empty/],
    ['http://acme.authkit.app', /scheme must be https/],
    ['http://10.0.0.1:8788', /scheme must be https/],
    ['ftp://acme.authkit.app', /scheme "ftp:" is not https/],
    ['https://acme.authkit.app/oauth2', /without a path/],
    ['https://acme.authkit.app?x=1', /query or fragment/],
    ['https://acme.authkit.app#top', /query or fragment/],
    ['https://user:pass@acme.authkit.app', /credentials/],
    ['https://acme', /not a DNS host name/],
    ['acme authkit app', /not a host name or URL/],
  ])('rejects %j, saying what to write instead', (input, reason) => {
    expect(() => authkitIssuer(input)).toThrow(InvalidAuthKitDomainError);
    expect(() => authkitIssuer(input)).toThrow(reason);
    expect(() => authkitIssuer(input)).toThrow(/e\.g\. "acme\.authkit\.app"/);
  });
});

describe('jwksUrlOf', () => {
  it("points at AuthKit's key set below the issuer", () => {
    expect(jwksUrlOf(authkitIssuer('acme.authkit.app'))).toBe('https://acme.authkit.app/oauth2/jwks');
  });
});
