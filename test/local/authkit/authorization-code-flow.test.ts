import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEV_USER, authorizeHeadlessly, startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import {
  Cookies,
  REDIRECT_URI,
  RESOURCE,
  authorizationUrl,
  exchangeCode,
  pkcePair,
  registeredClientId,
  tokenRequest,
} from './oauth-client';

describe('AuthKit stand-in: authorization code with PKCE, auto-approved', () => {
  let standIn: AuthKitStandIn;
  const logLines: string[] = [];

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true, onLog: (line) => logLines.push(line) });
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  async function codeFor(
    clientId: string,
    challenge: string,
    extra: Record<string, string | undefined> = {},
  ): Promise<URL> {
    return authorizeHeadlessly(
      authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: challenge, ...extra }),
    );
  }

  async function tokensFor(clientId: string) {
    const pkce = pkcePair();
    const callback = await codeFor(clientId, pkce.challenge);
    return exchangeCode(standIn.issuer, { clientId, callback, verifier: pkce.verifier, resource: RESOURCE });
  }

  it('walks authorize → sign-in → resume → redirect_uri with code, state and iss, hop by hop', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const start = authorizationUrl(standIn.issuer, {
      client_id: clientId,
      code_challenge: pkce.challenge,
      state: 'state-123',
    });
    const cookies = new Cookies();

    // Act: the authorization endpoint sends the browser to the sign-in step
    const authorize = await fetch(start, { redirect: 'manual' });
    cookies.take(authorize);
    const signIn = new URL(String(authorize.headers.get('location')), start);
    // auto-approve completes the sign-in and sends the browser back to the authorization endpoint
    const approved = await fetch(signIn, { redirect: 'manual', headers: { cookie: cookies.header } });
    cookies.take(approved);
    const resume = new URL(String(approved.headers.get('location')), signIn);
    const resumed = await fetch(resume, { redirect: 'manual', headers: { cookie: cookies.header } });
    const callback = new URL(String(resumed.headers.get('location')));

    // Assess
    expect(authorize.status).toBe(303);
    expect(signIn.origin).toBe(standIn.issuer);
    expect(signIn.pathname).toMatch(/^\/interaction\/[\w-]+$/);
    expect(approved.status).toBe(303);
    expect(resume.pathname).toMatch(/^\/oauth2\/authorize\/[\w-]+$/);
    expect(resumed.status).toBe(303);
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('code')).toMatch(/^[\w-]{20,}$/);
    expect(callback.searchParams.get('state')).toBe('state-123');
    expect(callback.searchParams.get('iss')).toBe(standIn.issuer);
  });

  it('issues an RS256 JWT access token, verifiable against /oauth2/jwks, whose aud is the requested resource', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);

    // Act
    const { status, body } = await tokensFor(clientId);
    const jwks = createRemoteJWKSet(new URL(standIn.jwksUrl));
    const { payload, protectedHeader } = await jwtVerify(String(body.access_token), jwks, {
      issuer: standIn.issuer,
      audience: RESOURCE,
      algorithms: ['RS256'],
    });

    // Assess
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.stringMatching(/^sso_oidc_key_pair_01/) });
    expect(payload).toEqual({
      iss: standIn.issuer,
      sub: DEV_USER.sub,
      aud: RESOURCE,
      client_id: clientId,
      org_id: DEV_USER.orgId,
      sid: expect.stringMatching(/^session_/),
      scope: expect.stringContaining('openid'),
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: expect.any(Number),
    });
    expect(String(payload.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(Number(payload.exp) - Number(payload.iat)).toBe(300);
  });

  it('puts each requested resource in aud, not a fixed one', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const otherResource = 'https://mcp.example.com/mcp';

    // Act
    const callback = await codeFor(clientId, pkce.challenge, { resource: otherResource });
    const { body } = await exchangeCode(standIn.issuer, {
      clientId,
      callback,
      verifier: pkce.verifier,
      resource: otherResource,
    });
    const { payload } = await jwtVerify(String(body.access_token), createRemoteJWKSet(new URL(standIn.jwksUrl)), {
      audience: otherResource,
    });

    // Assess
    expect(payload.aud).toBe(otherResource);
  });

  it('rejects a resource that is not an http(s) URL', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);

    // Act
    const callback = await codeFor(clientId, pkcePair().challenge, { resource: 'urn:example:mcp' });

    // Assess
    expect(callback.searchParams.get('error')).toBe('invalid_target');
  });

  it.each([
    ['with the resource repeated', { resource: RESOURCE }],
    ['without a resource parameter', {}],
  ])('refreshes %s, keeping the audience and the claims', async (_label, extra: Record<string, string>) => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const first = await tokensFor(clientId);

    // Act
    const refreshed = await tokenRequest(standIn.issuer, {
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: String(first.body.refresh_token),
      ...extra,
    });
    const { payload } = await jwtVerify(
      String(refreshed.body.access_token),
      createRemoteJWKSet(new URL(standIn.jwksUrl)),
      {
        issuer: standIn.issuer,
        audience: RESOURCE,
      },
    );

    // Assess
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect(payload).toMatchObject({ sub: DEV_USER.sub, client_id: clientId, org_id: DEV_USER.orgId, aud: RESOURCE });
    // Public clients get a new refresh token each time; the old one is spent.
    expect(refreshed.body.refresh_token).toEqual(expect.any(String));
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
  });

  it('refuses a spent refresh token, and then revokes what was issued from it', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const first = await tokensFor(clientId);
    const refresh = (refreshToken: string) =>
      tokenRequest(standIn.issuer, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
    const second = await refresh(String(first.body.refresh_token));

    // Act
    const replay = await refresh(String(first.body.refresh_token));
    const afterReplay = await refresh(String(second.body.refresh_token));

    // Assess
    expect(second.status).toBe(200);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(afterReplay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('issues a refresh token to the code grant even without offline_access', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();

    // Act
    const callback = await codeFor(clientId, pkce.challenge, { scope: 'openid' });
    const { body } = await exchangeCode(standIn.issuer, { clientId, callback, verifier: pkce.verifier });

    // Assess
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(decodeProtectedHeader(String(body.access_token)).alg).toBe('RS256');
  });

  it('issues an opaque access token, not a JWT with some default audience, when no resource was named', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();

    // Act
    const callback = await codeFor(clientId, pkce.challenge, { resource: undefined });
    const { status, body } = await exchangeCode(standIn.issuer, { clientId, callback, verifier: pkce.verifier });

    // Assess
    expect(status).toBe(200);
    expect(String(body.access_token).split('.')).toHaveLength(1);
  });

  it.each([
    ['no code_challenge at all', { code_challenge: undefined, code_challenge_method: undefined }],
    ['the plain method', { code_challenge_method: 'plain' }],
    ['a challenge without its method', { code_challenge_method: undefined }],
  ])('refuses an authorization request with %s', async (_label, params: Record<string, string | undefined>) => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();

    // Act
    const callback = await authorizeHeadlessly(
      authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: pkce.verifier, ...params }),
    );

    // Assess
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses to redeem a code with the wrong code_verifier', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const callback = await codeFor(clientId, pkce.challenge);

    // Act
    const { status, body } = await exchangeCode(standIn.issuer, { clientId, callback, verifier: pkcePair().verifier });

    // Assess
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_grant');
    expect(body.access_token).toBeUndefined();
  });

  it('answers introspection for refresh tokens, and refuses JWT access tokens (validate those against the JWKS)', async () => {
    // Prepare: introspection needs an authenticated client
    const registration = await fetch(`${standIn.issuer}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' }),
    });
    const confidential = (await registration.json()) as { client_id: string; client_secret: string };
    const { body } = await tokensFor(await registeredClientId(standIn.issuer));
    const introspect = async (token: string) => {
      const response = await fetch(`${standIn.issuer}/oauth2/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    // Act
    const refreshToken = await introspect(String(body.refresh_token));
    const accessToken = await introspect(String(body.access_token));

    // Assess
    expect(refreshToken.status).toBe(200);
    expect(refreshToken.body).toMatchObject({ active: true, sub: DEV_USER.sub, iss: standIn.issuer });
    expect(accessToken.status).toBe(400);
    expect(accessToken.body.error).toBe('unsupported_token_type');
  });

  it('logs one line per request with method, path and status, and never a token or code', async () => {
    // Prepare
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const before = logLines.length;

    // Act
    const callback = await codeFor(clientId, pkce.challenge);
    const code = String(callback.searchParams.get('code'));
    const { body } = await tokenRequest(standIn.issuer, {
      grant_type: 'authorization_code',
      client_id: clientId,
      code,
      code_verifier: pkce.verifier,
      redirect_uri: REDIRECT_URI,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = logLines.slice(before);

    // Assess
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ GET \/oauth2\/authorize 303 /),
        expect.stringMatching(/ GET \/interaction\/[\w-]+ 303 /),
        expect.stringMatching(/ POST \/oauth2\/token 200 /),
      ]),
    );
    const secrets = [code, pkce.verifier, pkce.challenge, String(body.access_token), String(body.refresh_token)];
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
