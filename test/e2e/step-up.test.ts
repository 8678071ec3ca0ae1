/**
 * The step-up challenge through the local stack (the `local` stage turns `stepUpChallenge` on): the
 * SDK v2 client signs in without `mcp:admin`, calls `server_config`, reads the gateway's 403
 * `insufficient_scope` header, re-authorizes with the larger scope and retries; what a raw
 * 2026-07-28 call and a 2025-era call (no `Mcp-Name`) get when refused.
 */
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient, type RecordedRequest, recordingFetch } from './headless-oauth-client';

jest.setTimeout(180_000);

/**
 * Required by the stage, so the 401 challenge names it and the SDK's first sign-in asks for it
 * alone (a challenge's `scope` comes before the metadata's scopes_supported).
 */
const REQUIRED_SCOPE = 'openid';

function scopesOf(accessToken: string): string[] {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as {
    scope?: string;
  };
  return (payload.scope ?? '').split(' ');
}

describe('the step-up challenge on the local stack', () => {
  let stack: LocalStack;
  let metadataUrl: string;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      autoApprove: true,
      testControls: true,
      context: { requiredScopes: REQUIRED_SCOPE },
    });
    metadataUrl = `${stack.urls.base}/.well-known/oauth-protected-resource/mcp`;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function tokenWithout(): Promise<string> {
    const minted = await authKitTestControls(stack.issuer).mintToken({
      aud: stack.mcpUrl,
      claims: { scope: 'openid' },
    });
    return minted.accessToken;
  }

  /**
   * Registers the client for every scope it may ask for, as a client registered ahead of time (or
   * by a Client ID Metadata Document) is. The SDK's own registration names only the scope of its
   * first sign-in (RFC 7591 `scope`), which the stand-in then holds the client to.
   */
  async function registeredClient(): Promise<HeadlessOAuthClient> {
    const oauth = new HeadlessOAuthClient();
    const metadata = (await (await fetch(`${stack.issuer}/.well-known/oauth-authorization-server`)).json()) as {
      registration_endpoint: string;
    };
    const response = await fetch(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...oauth.clientMetadata, scope: 'openid profile email mcp:admin offline_access' }),
    });
    expect(response.status).toBe(201);
    oauth.saveClientInformation(await response.json());
    return oauth;
  }

  it('SDK v2 (2026-07-28): server_config without mcp:admin gets the 403 challenge, the client steps up and the retry succeeds', async () => {
    const oauth = await registeredClient();
    const requests: RecordedRequest[] = [];
    const transport = () =>
      new StreamableHTTPClientTransport(new URL(stack.mcpUrl), {
        authProvider: oauth,
        fetch: recordingFetch(requests),
      });
    const signIn = transport();
    await new Client({ name: 'e2e-step-up', version: '1.0.0' }).connect(signIn).catch(() => undefined);
    await signIn.finishAuth(oauth.callbackUrl?.searchParams ?? new URLSearchParams());
    expect(scopesOf(oauth.savedTokens[0].access_token)).not.toContain('mcp:admin');

    const client = new Client({ name: 'e2e-step-up', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    const connected = transport();
    await client.connect(connected);
    oauth.callbackUrl = undefined;
    // The SDK answers the 403 by sending the user agent to sign in again with the union of scopes;
    // a redirecting provider ends the call with UnauthorizedError until the code comes back.
    await expect(client.callTool({ name: 'server_config', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
    const refused = requests.find((request) => request.status === 403);
    expect(refused).toMatchObject({ rpcMethod: 'tools/call' });
    expect(refused?.challenge).toBe(
      `Bearer error="insufficient_scope", scope="openid mcp:admin", resource_metadata="${metadataUrl}"`,
    );
    expect(oauth.authorizationRequests).toHaveLength(2);

    // Set again by the step-up's redirect (TypeScript cannot see the callback assign it).
    const callback = oauth.callbackUrl as URL | undefined;
    await connected.finishAuth(callback?.searchParams ?? new URLSearchParams());
    const stepped = oauth.savedTokens[oauth.savedTokens.length - 1];
    expect(scopesOf(stepped.access_token)).toEqual(expect.arrayContaining(['openid', 'mcp:admin']));
    const result = await client.callTool({ name: 'server_config', arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ resource: stack.mcpUrl, protocolVersions: expect.any(Array) });
    await client.close();
  });

  it('a raw 2026-07-28 tools/call gets the header, the missing scope in the body, and the CORS headers', async () => {
    const request = mcpHttpRequest(
      'tools/call',
      { name: 'server_config', arguments: {} },
      { era: 'modern', id: 1, token: await tokenWithout() },
    );
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      ...request,
      headers: { ...request.headers, origin: 'http://localhost:6274' },
    });

    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="openid mcp:admin", resource_metadata="${metadataUrl}"`,
    );
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({ error: 'insufficient_scope', required_scope: 'mcp:admin' });
  });

  it('a 2026-07-28 request without Mcp-Name (tools/list) passes the gateway', async () => {
    const request = mcpHttpRequest('tools/list', {}, { era: 'modern', id: 2, token: await tokenWithout() });
    const response = await fetch(stack.mcpUrl, { method: 'POST', ...request });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { tools: { name: string }[] } };
    expect(body.result.tools.map((tool) => tool.name)).not.toContain('server_config');
  });

  it('a 2025-era call (no Mcp-Name) passes the gateway and gets the runtime 403: the challenge in the body, the header renamed', async () => {
    const request = mcpHttpRequest(
      'tools/call',
      { name: 'server_config', arguments: {} },
      { era: 'legacy', id: 3, token: await tokenWithout() },
    );
    const response = await fetch(stack.mcpUrl, { method: 'POST', ...request });

    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.headers.get('x-amzn-remapped-www-authenticate')).toContain('error="insufficient_scope"');
    const body = (await response.json()) as { error: { data: Record<string, unknown> } };
    expect(body.error.data).toMatchObject({
      error: 'insufficient_scope',
      tool: 'server_config',
      missingScopes: ['mcp:admin'],
    });
  });

  it('a request without a token still gets 401 with the resource metadata, without the authorizer', async () => {
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      ...mcpHttpRequest('tools/list', {}, { era: 'modern', id: 4 }),
    });

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}", scope="openid"`);
  });
});
