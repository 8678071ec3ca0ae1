import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { type AuthKitStandIn, AuthKitStandInStartError, startAuthKitStandIn } from '../../../local/authkit/launch';

describe('startAuthKitStandIn', () => {
  it('signs with a fixed key when given one, and publishes it under its kid', async () => {
    // Prepare
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), kid: 'fixed-test-key' };
    const standIn = await startAuthKitStandIn({ port: 0, signingKey });

    try {
      // Act
      const jwks = (await (await fetch(standIn.jwksUrl)).json()) as { keys: Record<string, unknown>[] };

      // Assess
      expect(jwks.keys).toEqual([
        expect.objectContaining({ kid: 'fixed-test-key', n: signingKey.n, e: signingKey.e, alg: 'RS256' }),
      ]);
    } finally {
      await standIn.stop();
    }
  });

  it('stops listening once stopped', async () => {
    // Prepare
    const standIn = await startAuthKitStandIn({ port: 0 });

    // Act
    await standIn.stop();

    // Assess
    await expect(fetch(standIn.jwksUrl)).rejects.toThrow('fetch failed');
  });

  it('fails with a readable error when the port is taken', async () => {
    // Prepare
    const occupant: Server = createServer();
    await new Promise<void>((resolve) => occupant.listen(0, '127.0.0.1', resolve));
    const { port } = occupant.address() as AddressInfo;

    try {
      // Act
      const starting = startAuthKitStandIn({ port });

      // Assess
      await expect(starting).rejects.toBeInstanceOf(AuthKitStandInStartError);
      await expect(starting).rejects.toThrow(/exited before it was ready[\s\S]*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => occupant.close(resolve));
    }
  });

  it('refuses a fixed key without a kid, saying what to add', async () => {
    // Prepare
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });

    // Act
    const starting = startAuthKitStandIn({ port: 0, signingKey: await exportJWK(privateKey) });

    // Assess
    await expect(starting).rejects.toThrow(/AUTHKIT_SIGNING_KEY has no "kid"/);
  });

  it('ignores stand-in settings in its own environment: only the options count', async () => {
    // Prepare
    process.env.AUTHKIT_TEST_CONTROLS = '1';
    process.env.AUTHKIT_AUTO_APPROVE = '1';
    let standIn: AuthKitStandIn;
    try {
      standIn = await startAuthKitStandIn({ port: 0 });
    } finally {
      delete process.env.AUTHKIT_TEST_CONTROLS;
      delete process.env.AUTHKIT_AUTO_APPROVE;
    }

    try {
      // Act
      const response = await fetch(`${standIn.issuer}/__test/jwks-requests`);

      // Assess
      expect(response.status).toBe(404);
    } finally {
      await standIn.stop();
    }
  });
});
