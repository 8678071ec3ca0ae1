/**
 * Where MCP clients and services notice the stand-in is AuthKit: Client ID Metadata Documents
 * (a client_id that is an https URL the authorization server fetches) and M2M tokens from the
 * client-credentials grant. AuthKit's documented claims for M2M tokens (WorkOS "Access token
 * claims"): `sub` and `client_id` are the application's client id, `org_id` its organization, no
 * `sid`, and `aud` the environment's client id.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  DEV_USER,
  ENVIRONMENT_CLIENT_ID,
  authorizeHeadlessly,
  startAuthKitStandIn,
  type AuthKitStandIn,
} from '../../../local/authkit/launch';
import { REDIRECT_URI, RESOURCE, authorizationUrl, exchangeCode, pkcePair, tokenRequest } from './oauth-client';

/** Serves one JSON document on loopback over plain http; the stand-in is told to fetch loopback documents that way. */
async function serveDocument(
  path: string,
  document: (clientId: string) => unknown,
): Promise<{ clientId: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let clientId = '';
  const server: Server = createServer((req, res) => {
    requests += 1;
    if (req.url !== path) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document(clientId)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  clientId = `https://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return { clientId, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function registerM2mApplication(issuer: string): Promise<{ clientId: string; clientSecret: string }> {
  const response = await fetch(`${issuer}/oauth2/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Nightly sync',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 201)
    throw new Error(`M2M registration failed with ${response.status}: ${JSON.stringify(body)}`);
  return { clientId: String(body.client_id), clientSecret: String(body.client_secret) };
}

describe('AuthKit stand-in: Client ID Metadata Documents', () => {
  let standIn: AuthKitStandIn;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true, cimdLoopback: true });
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  it('advertises CIMD in its metadata as AuthKit does', async () => {
    // Act
    const metadata = (await (await fetch(`${standIn.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;

    // Assess
    expect(metadata.client_id_metadata_document_supported).toBe(true);
  });

  it('signs a client in by the URL of its metadata document, without registration', async () => {
    // Prepare
    const document = await serveDocument('/oauth/client.json', (clientId) => ({
      client_id: clientId,
      client_name: 'CIMD test client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }));
    const pkce = pkcePair();

    try {
      // Act
      const callback = await authorizeHeadlessly(
        authorizationUrl(standIn.issuer, { client_id: document.clientId, code_challenge: pkce.challenge }),
      );
      const { status, body } = await exchangeCode(standIn.issuer, {
        clientId: document.clientId,
        callback,
        verifier: pkce.verifier,
        resource: RESOURCE,
      });
      const { payload } = await jwtVerify(String(body.access_token), createRemoteJWKSet(new URL(standIn.jwksUrl)), {
        issuer: standIn.issuer,
        audience: RESOURCE,
      });

      // Assess
      expect(status).toBe(200);
      expect(payload).toMatchObject({ sub: DEV_USER.sub, client_id: document.clientId });
      expect(document.requests()).toBeGreaterThanOrEqual(1);
    } finally {
      await document.close();
    }
  });

  it('refuses a document whose client_id is not its own URL', async () => {
    // Prepare
    const document = await serveDocument('/oauth/impostor.json', () => ({
      client_id: 'https://someone-else.example/client.json',
      redirect_uris: [REDIRECT_URI],
    }));

    try {
      // Act
      const response = await fetch(
        authorizationUrl(standIn.issuer, { client_id: document.clientId, code_challenge: pkcePair().challenge }),
        { redirect: 'manual' },
      );

      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    } finally {
      await document.close();
    }
  });
});

describe('AuthKit stand-in: a loopback metadata document without the test allowance', () => {
  it('is not fetched, so a web page cannot make the stand-in call services on this machine', async () => {
    // Prepare
    const standIn = await startAuthKitStandIn({ port: 0, autoApprove: true });
    const document = await serveDocument('/oauth/client.json', (clientId) => ({
      client_id: clientId,
      redirect_uris: [REDIRECT_URI],
    }));

    try {
      // Act
      const response = await fetch(
        authorizationUrl(standIn.issuer, { client_id: document.clientId, code_challenge: pkcePair().challenge }),
        { redirect: 'manual' },
      );

      // Assess
      expect(response.status).toBe(400);
      expect(document.requests()).toBe(0);
    } finally {
      await document.close();
      await standIn.stop();
    }
  });
});

describe('AuthKit stand-in: M2M tokens from the client-credentials grant', () => {
  let standIn: AuthKitStandIn;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0 });
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  it.each([
    ['without a resource', {}],
    ['with a resource, which AuthKit does not put in an M2M token', { resource: RESOURCE }],
  ])(
    "issues an RS256 JWT shaped like AuthKit's M2M tokens when asked %s",
    async (_label, extra: Record<string, string>) => {
      // Prepare
      const application = await registerM2mApplication(standIn.issuer);

      // Act
      const { status, body } = await tokenRequest(standIn.issuer, {
        grant_type: 'client_credentials',
        client_id: application.clientId,
        client_secret: application.clientSecret,
        ...extra,
      });
      const token = String(body.access_token);
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(standIn.jwksUrl)), {
        issuer: standIn.issuer,
        audience: ENVIRONMENT_CLIENT_ID,
      });

      // Assess
      expect(status).toBe(200);
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
      expect(payload).toMatchObject({
        sub: application.clientId,
        client_id: application.clientId,
        org_id: DEV_USER.orgId,
        aud: ENVIRONMENT_CLIENT_ID,
      });
      expect(payload).not.toHaveProperty('sid');
      expect(payload).toEqual(
        expect.objectContaining({ jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) }),
      );
    },
  );

  it("refuses the grant without the application's secret", async () => {
    // Prepare
    const application = await registerM2mApplication(standIn.issuer);

    // Act
    const { status, body } = await tokenRequest(standIn.issuer, {
      grant_type: 'client_credentials',
      client_id: application.clientId,
      client_secret: 'wrong',
    });

    // Assess
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(body.access_token).toBeUndefined();
  });
});
