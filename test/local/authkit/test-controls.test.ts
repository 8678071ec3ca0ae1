import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  DEV_USER,
  authKitTestControls,
  authorizeHeadlessly,
  startAuthKitStandIn,
  type AuthKitStandIn,
  type AuthKitTestControls,
} from '../../../local/authkit/launch';
import { RESOURCE, authorizationUrl, exchangeCode, pkcePair, registeredClientId, tokenRequest } from './oauth-client';

describe('AuthKit stand-in: test controls', () => {
  let standIn: AuthKitStandIn;
  let controls: AuthKitTestControls;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true, testControls: true, extraScopes: ['mcp:tools'] });
    controls = authKitTestControls(standIn.issuer);
  });

  afterEach(async () => {
    await controls.setJwksMode('normal');
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  async function publishedKeys(): Promise<JSONWebKeySet> {
    return (await (await fetch(standIn.jwksUrl)).json()) as JSONWebKeySet;
  }

  async function verify(token: string) {
    return jwtVerify(token, createLocalJWKSet(await publishedKeys()), {
      issuer: standIn.issuer,
      audience: RESOURCE,
      algorithms: ['RS256'],
    });
  }

  async function codeFlowAccessToken(): Promise<string> {
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const callback = await authorizeHeadlessly(
      authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: pkce.challenge }),
    );
    const { body } = await exchangeCode(standIn.issuer, {
      clientId,
      callback,
      verifier: pkce.verifier,
      resource: RESOURCE,
    });
    return String(body.access_token);
  }

  describe('minting tokens', () => {
    it('mints an AuthKit-shaped token for a resource, signed by the published key', async () => {
      // Act
      const minted = await controls.mintToken({ aud: RESOURCE });
      const { payload, protectedHeader } = await verify(minted.accessToken);

      // Assess
      expect(payload).toEqual({
        iss: standIn.issuer,
        sub: DEV_USER.sub,
        aud: RESOURCE,
        client_id: expect.stringMatching(/^client_01/),
        org_id: DEV_USER.orgId,
        sid: expect.stringMatching(/^session_01/),
        scope: 'email offline_access openid profile mcp:tools',
        jti: expect.any(String),
        iat: expect.any(Number),
        exp: Number(payload.iat) + 300,
      });
      expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: (await publishedKeys()).keys[0].kid });
      expect(minted.claims).toEqual(payload);
    });

    it('takes chosen claims, and removes a claim given as null', async () => {
      // Act
      const minted = await controls.mintToken({
        aud: RESOURCE,
        claims: { scope: 'openid', sub: 'user_01OTHER', org_id: null, sid: null },
      });
      const { payload } = await verify(minted.accessToken);

      // Assess
      expect(payload).toMatchObject({ scope: 'openid', sub: 'user_01OTHER' });
      expect(payload).not.toHaveProperty('org_id');
      expect(payload).not.toHaveProperty('sid');
    });

    it('mints a token for several audiences', async () => {
      // Act
      const minted = await controls.mintToken({ aud: [RESOURCE, 'https://other.example.com/mcp'] });
      const { payload } = await verify(minted.accessToken);

      // Assess
      expect(payload.aud).toEqual([RESOURCE, 'https://other.example.com/mcp']);
    });

    it('mints an expired token', async () => {
      // Act
      const minted = await controls.mintToken({ aud: RESOURCE, expiresInSeconds: -120 });

      // Assess
      await expect(verify(minted.accessToken)).rejects.toBeInstanceOf(errors.JWTExpired);
    });

    it('mints a token signed by a key the JWKS does not publish', async () => {
      // Act
      const minted = await controls.mintToken({ aud: RESOURCE, signWith: 'unknown' });

      // Assess
      const kid = decodeProtectedHeader(minted.accessToken).kid;
      expect((await publishedKeys()).keys.map((key) => key.kid)).not.toContain(kid);
      await expect(verify(minted.accessToken)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    });

    it.each([
      ['no audience', {}],
      ['a numeric audience', { aud: 42 }],
      ['a non-numeric lifetime', { aud: RESOURCE, expiresInSeconds: 'soon' }],
      ['an unknown signing key choice', { aud: RESOURCE, signWith: 'mine' }],
    ])('answers 400 to a mint request with %s', async (_label, body) => {
      // Act
      const response = await fetch(`${standIn.issuer}/__test/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    });
  });

  describe('rotating the signing key', () => {
    it('signs with the new key and keeps the previous one published', async () => {
      // Prepare
      const before = await codeFlowAccessToken();
      const previousKid = decodeProtectedHeader(before).kid;

      // Act
      const rotation = await controls.rotateSigningKey();
      const after = await codeFlowAccessToken();
      const minted = await controls.mintToken({ aud: RESOURCE });

      // Assess
      expect(rotation.kid).not.toBe(previousKid);
      expect(rotation.publishedKids).toEqual([rotation.kid, previousKid]);
      expect((await publishedKeys()).keys.map((key) => key.kid)).toEqual([rotation.kid, previousKid]);
      expect(decodeProtectedHeader(after).kid).toBe(rotation.kid);
      expect(decodeProtectedHeader(minted.accessToken).kid).toBe(rotation.kid);
      await expect(verify(before)).resolves.toBeDefined();
      await expect(verify(after)).resolves.toBeDefined();
    });

    it('drops the previous keys when asked, so older tokens no longer verify', async () => {
      // Prepare
      const before = await codeFlowAccessToken();

      // Act
      const rotation = await controls.rotateSigningKey({ keepPrevious: false });
      const after = await codeFlowAccessToken();

      // Assess
      expect((await publishedKeys()).keys.map((key) => key.kid)).toEqual([rotation.kid]);
      await expect(verify(before)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      await expect(verify(after)).resolves.toBeDefined();
    });

    it('keeps registered clients and refresh tokens working across a rotation', async () => {
      // Prepare
      const clientId = await registeredClientId(standIn.issuer);
      const pkce = pkcePair();
      const callback = await authorizeHeadlessly(
        authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: pkce.challenge }),
      );
      const first = await exchangeCode(standIn.issuer, {
        clientId,
        callback,
        verifier: pkce.verifier,
        resource: RESOURCE,
      });

      // Act
      const rotation = await controls.rotateSigningKey();
      const refreshed = await tokenRequest(standIn.issuer, {
        grant_type: 'refresh_token',
        client_id: clientId,
        refresh_token: String(first.body.refresh_token),
      });

      // Assess
      expect(refreshed).toMatchObject({ status: 200, body: { token_type: 'Bearer' } });
      expect(decodeProtectedHeader(String(refreshed.body.access_token)).kid).toBe(rotation.kid);
      await expect(verify(String(refreshed.body.access_token))).resolves.toBeDefined();
    });
  });

  describe('breaking the JWKS', () => {
    it('answers 500 in error mode', async () => {
      // Act
      await controls.setJwksMode('error');
      const response = await fetch(standIn.jwksUrl);

      // Assess
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ error: 'server_error' });
    });

    it('drops the connection in down mode', async () => {
      // Act
      await controls.setJwksMode('down');

      // Assess
      await expect(fetch(standIn.jwksUrl)).rejects.toThrow('fetch failed');
    });

    it('holds the answer back in slow mode, past a caller that gives up sooner', async () => {
      // Act
      await controls.setJwksMode('slow', { delayMs: 5000 });

      // Assess
      await expect(fetch(standIn.jwksUrl, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
    });

    it('answers a slow request in full once the delay has passed', async () => {
      // Act
      await controls.setJwksMode('slow', { delayMs: 50 });
      const response = await fetch(standIn.jwksUrl);

      // Assess
      expect(response.status).toBe(200);
      expect(((await response.json()) as JSONWebKeySet).keys.length).toBeGreaterThan(0);
    });

    it('serves the keys again in normal mode', async () => {
      // Prepare
      await controls.setJwksMode('error');

      // Act
      await controls.setJwksMode('normal');
      const response = await fetch(standIn.jwksUrl);

      // Assess
      expect(response.status).toBe(200);
    });

    it('counts requests to /oauth2/jwks, failed ones included', async () => {
      // Prepare
      const before = await controls.jwksRequestCount();
      await controls.setJwksMode('error');

      // Act
      await fetch(standIn.jwksUrl);
      await controls.setJwksMode('normal');
      await fetch(standIn.jwksUrl);

      // Assess
      expect(await controls.jwksRequestCount()).toBe(before + 2);
    });

    it('refuses an unknown mode', async () => {
      // Act
      const response = await fetch(`${standIn.issuer}/__test/jwks-mode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mode: 'flaky' }),
      });

      // Assess
      expect(response.status).toBe(400);
    });
  });

  describe('requests from web pages on other sites', () => {
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${standIn.issuer}/__test${path}`, { method: 'POST', headers, body });

    it.each([
      [
        'a text/plain POST from https://evil.example (the reported attack)',
        { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      ],
      ['a text/plain POST without Origin', { 'content-type': 'text/plain' }],
      [
        'a form POST from a loopback page',
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:6274' },
      ],
      ['a JSON POST from https://evil.example', { 'content-type': 'application/json', origin: 'https://evil.example' }],
      ['a JSON POST from the opaque null origin', { 'content-type': 'application/json', origin: 'null' }],
      [
        'a JSON POST the browser marks as cross-site',
        { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      ],
    ])('refuses %s with 403 and a reason, leaving the JWKS working', async (_case, headers) => {
      // Act
      const response = await post('/jwks-mode', headers, JSON.stringify({ mode: 'error' }));

      // Assess
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error: 'access_denied',
        error_description: expect.stringMatching(/^test controls (take|refuse|that change state take)/),
      });
      expect((await fetch(standIn.jwksUrl)).status).toBe(200);
    });

    it('refuses a cross-site token mint, so a page cannot obtain a token for the dev user', async () => {
      // Act
      const response = await post(
        '/tokens',
        { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        JSON.stringify({ aud: RESOURCE }),
      );

      // Assess
      expect(response.status).toBe(403);
      expect(await response.text()).not.toContain('access_token');
    });

    it('accepts a same-origin JSON POST from a loopback page', async () => {
      // Act
      const response = await post(
        '/jwks-mode',
        {
          'content-type': 'application/json; charset=utf-8',
          origin: new URL(standIn.issuer).origin,
          'sec-fetch-site': 'same-origin',
        },
        JSON.stringify({ mode: 'error' }),
      );

      // Assess
      expect(response.status).toBe(200);
      expect((await fetch(standIn.jwksUrl)).status).toBe(500);
    });
  });
});
