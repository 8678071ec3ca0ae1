import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizeHeadlessly, startAuthKitStandIn } from '../../../local/authkit/launch';
import { RESOURCE, authorizationUrl, exchangeCode, pkcePair, registeredClientId, tokenRequest } from './oauth-client';

/** An MCP client caches its registration; after the stand-in restarts, that client id must still sign in. */
describe('AuthKit stand-in: registered clients survive a restart', () => {
  let folder: string;

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'authkit-clients-'));
  });

  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('signs in a client registered before the restart, with the client id it cached', async () => {
    // Prepare
    const clientsFile = join(folder, 'clients.json');
    const first = await startAuthKitStandIn({ port: 0, autoApprove: true, clientsFile });
    const clientId = await registeredClientId(first.issuer);
    await first.stop();

    // Act
    const second = await startAuthKitStandIn({ port: 0, autoApprove: true, clientsFile });
    try {
      const pkce = pkcePair();
      const callback = await authorizeHeadlessly(
        authorizationUrl(second.issuer, { client_id: clientId, code_challenge: pkce.challenge }),
      );
      const { status, body } = await exchangeCode(second.issuer, {
        clientId,
        callback,
        verifier: pkce.verifier,
        resource: RESOURCE,
      });

      // Assess
      expect(status).toBe(200);
      expect(body.access_token).toEqual(expect.any(String));
    } finally {
      await second.stop();
    }
  });

  it("keeps an M2M application's secret working after the restart, in a file only its owner can read", async () => {
    // Prepare
    const clientsFile = join(folder, 'nested', 'clients.json');
    const first = await startAuthKitStandIn({ port: 0, clientsFile });
    const registration = await fetch(`${first.issuer}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      }),
    });
    const { client_id: clientId, client_secret: clientSecret } = (await registration.json()) as {
      client_id: string;
      client_secret: string;
    };
    await first.stop();

    // Act
    const second = await startAuthKitStandIn({ port: 0, clientsFile });
    try {
      const { status } = await tokenRequest(second.issuer, {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      });

      // Assess
      expect(status).toBe(200);
      expect(statSync(clientsFile).mode & 0o777).toBe(0o600);
    } finally {
      await second.stop();
    }
  });

  it('does not know a client registered without a clients file, after a restart', async () => {
    // Prepare
    const first = await startAuthKitStandIn({ port: 0, autoApprove: true });
    const clientId = await registeredClientId(first.issuer);
    await first.stop();

    // Act
    const second = await startAuthKitStandIn({ port: 0, autoApprove: true });
    try {
      const response = await fetch(
        authorizationUrl(second.issuer, { client_id: clientId, code_challenge: pkcePair().challenge }),
        { redirect: 'manual' },
      );

      // Assess
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('invalid_client');
    } finally {
      await second.stop();
    }
  });

  it('refuses to start on a clients file it cannot read, saying what to do', async () => {
    // Prepare
    const clientsFile = join(folder, 'clients.json');
    writeFileSync(clientsFile, 'not json');

    // Act
    const starting = startAuthKitStandIn({ port: 0, clientsFile });

    // Assess
    await expect(starting).rejects.toThrow(/clients file .* is not JSON: delete it/);
  });
});
