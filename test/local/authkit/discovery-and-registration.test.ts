import { startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import { REDIRECT_URI, registerPublicClient } from './oauth-client';

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('AuthKit stand-in: discovery and dynamic client registration', () => {
  let standIn: AuthKitStandIn;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, extraScopes: ['mcp:tools'] });
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  it('uses its listening URL, without a trailing slash, as the issuer', () => {
    expect(standIn.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(standIn.jwksUrl).toBe(`${standIn.issuer}/oauth2/jwks`);
  });

  it.each([['/.well-known/oauth-authorization-server'], ['/.well-known/openid-configuration']])(
    'serves %s shaped like AuthKit metadata',
    async (path) => {
      // Act
      const { status, headers, body } = await getJson(`${standIn.issuer}${path}`);

      // Assess
      const issuer = standIn.issuer;
      expect(status).toBe(200);
      expect(headers.get('content-type')).toMatch(/^application\/json/);
      expect(body).toMatchObject({
        issuer,
        authorization_endpoint: `${issuer}/oauth2/authorize`,
        token_endpoint: `${issuer}/oauth2/token`,
        registration_endpoint: `${issuer}/oauth2/register`,
        jwks_uri: `${issuer}/oauth2/jwks`,
        introspection_endpoint: `${issuer}/oauth2/introspection`,
        code_challenge_methods_supported: ['S256'],
        response_types_supported: ['code'],
        grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token']),
        token_endpoint_auth_methods_supported: expect.arrayContaining([
          'none',
          'client_secret_basic',
          'client_secret_post',
        ]),
        scopes_supported: ['email', 'offline_access', 'openid', 'profile', 'mcp:tools'],
        authorization_response_iss_parameter_supported: true,
      });
      // Neither is offered by AuthKit, and DPoP-bound tokens would not pass the bearer-only gateway.
      expect(body).not.toHaveProperty('dpop_signing_alg_values_supported');
      expect(body).not.toHaveProperty('pushed_authorization_request_endpoint');
    },
  );

  it('serves the same document at both metadata locations', async () => {
    // Act
    const rfc8414 = await getJson(`${standIn.issuer}/.well-known/oauth-authorization-server`);
    const openid = await getJson(`${standIn.issuer}/.well-known/openid-configuration`);

    // Assess
    expect(rfc8414.body).toEqual(openid.body);
  });

  it('lets a browser-based client read the metadata cross-origin', async () => {
    // Act
    const response = await fetch(`${standIn.issuer}/.well-known/oauth-authorization-server`, {
      headers: { origin: 'http://localhost:6274' },
    });

    // Assess
    expect(response.headers.get('access-control-allow-origin')).toMatch(/^(\*|http:\/\/localhost:6274)$/);
  });

  it.each([['/oauth2/register'], ['/oauth2/token']])(
    "answers a browser client's CORS preflight on %s",
    async (path) => {
      // Act
      const response = await fetch(`${standIn.issuer}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:6274',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });

      // Assess
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    },
  );

  it('lets a browser client read its registration response', async () => {
    // Act
    const response = await fetch(`${standIn.issuer}/oauth2/register`, {
      method: 'POST',
      headers: { origin: 'http://localhost:6274', 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://localhost:6274/oauth/callback'] }),
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
  });

  it('publishes its RS256 signing key with a kid at /oauth2/jwks, without private parts', async () => {
    // Act
    const { status, body } = await getJson(standIn.jwksUrl);

    // Assess
    expect(status).toBe(200);
    const keys = body.keys as Record<string, unknown>[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({
      kty: 'RSA',
      alg: 'RS256',
      use: 'sig',
      kid: expect.stringMatching(/^sso_oidc_key_pair_01[0-9A-Z]{24}$/),
    });
    for (const privatePart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(privatePart);
  });

  it('registers a public client with no authentication, as MCP clients do', async () => {
    // Act
    const { status, body } = await registerPublicClient(standIn.issuer);

    // Assess
    expect(status).toBe(201);
    expect(body).toMatchObject({
      client_id: expect.any(String),
      token_endpoint_auth_method: 'none',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      client_name: 'Test MCP client',
    });
    expect(body).not.toHaveProperty('client_secret');
  });

  it('defaults a registration without auth method or grant types to a public code + refresh client', async () => {
    // Act
    const { status, body } = await registerPublicClient(standIn.issuer, {
      token_endpoint_auth_method: undefined,
      grant_types: undefined,
      response_types: undefined,
    });

    // Assess
    expect(status).toBe(201);
    expect(body).toMatchObject({
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
  });

  it.each([
    ['http://localhost:33418/callback'],
    ['http://127.0.0.1:9/oauth/callback'],
    ['http://[::1]:5173/cb'],
    ['https://app.example.com/oauth/callback'],
  ])('accepts the redirect URI %s', async (redirectUri) => {
    // Act
    const { status, body } = await registerPublicClient(standIn.issuer, { redirect_uris: [redirectUri] });

    // Assess
    expect({ status, redirect_uris: body.redirect_uris }).toEqual({ status: 201, redirect_uris: [redirectUri] });
  });

  it.each([
    ['plain http on a public host', ['http://app.example.com/callback'], 'invalid_redirect_uri'],
    ['a fragment', ['http://localhost:3000/cb#frag'], 'invalid_redirect_uri'],
    ['no redirect URI at all', [], 'invalid_redirect_uri'],
  ])('refuses a registration with %s', async (_label, redirectUris, error) => {
    // Act
    const { status, body } = await registerPublicClient(standIn.issuer, { redirect_uris: redirectUris });

    // Assess
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    expect(body.error_description).toEqual(expect.any(String));
  });

  it('keeps test controls closed unless enabled', async () => {
    // Act
    const response = await fetch(`${standIn.issuer}/__test/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ aud: 'http://localhost:8787/mcp' }),
    });

    // Assess
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('access_token');
  });
});
