/**
 * The deployed gateway's behaviour over HTTP, on the local stack synthesized with a required scope:
 * challenges, scope denial, the JWKS outage answer, CORS on every error and on the preflight,
 * unknown routes, and the authorizer's result cache.
 */
import { authKitTestControls, type AuthKitTestControls } from '../../local/authkit/launch';
import type { GatewayStats } from '../../local/gateway';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(120_000);

const REQUIRED_SCOPE = 'mcp:tools';
/** A browser-based client on another origin, e.g. MCP Inspector's dev server. */
const CLIENT_ORIGIN = 'http://localhost:6274';

const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

function postMcp(stack: LocalStack, authorization?: string): Promise<Response> {
  return fetch(stack.mcpUrl, {
    method: 'POST',
    headers: {
      origin: CLIENT_ORIGIN,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...(authorization ? { authorization } : {}),
    },
    body: toolsList,
  });
}

/** A browser may read the status, the body and the challenge of this response. */
function expectCorsExposingChallenge(response: Response): void {
  expect([CLIENT_ORIGIN, '*']).toContain(response.headers.get('access-control-allow-origin'));
  const exposed = (response.headers.get('access-control-expose-headers') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  expect(exposed).toEqual(expect.arrayContaining(['www-authenticate', 'mcp-protocol-version']));
}

function functionStats(stats: GatewayStats, prefix: string) {
  const entry = Object.entries(stats.functions).find(([logicalId]) => logicalId.startsWith(prefix));
  if (!entry)
    throw new Error(
      `No function whose logical id starts with ${prefix}; functions: ${Object.keys(stats.functions).join(', ')}`,
    );
  return entry[1];
}

async function waitFor<T>(attempt: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("The local stack's API Gateway over HTTP (stage local, requiredScopes mcp:tools)", () => {
  let stack: LocalStack;
  let controls: AuthKitTestControls;
  let challenge: string;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      // The default gate, the TOKEN authorizer and its cache: the local stage's step-up challenge is turned off.
      context: { requiredScopes: REQUIRED_SCOPE, stepUpChallenge: 'false' },
    });
    controls = authKitTestControls(stack.issuer);
    challenge = `Bearer resource_metadata="${stack.urls.base}/.well-known/oauth-protected-resource/mcp", scope="${REQUIRED_SCOPE}"`;
  });

  afterAll(async () => {
    await controls?.setJwksMode('normal').catch(() => undefined);
    await stack?.stop();
  });

  // First on purpose: the authorizer has never fetched the JWKS, so any token needs a fetch. Once it
  // holds keys, an unknown kid refetches only once per 30 s cooldown, which would turn this into a 401.
  describe("while AuthKit's JWKS is unreachable", () => {
    let outage: Response;
    let outageBody: Record<string, unknown>;

    beforeAll(async () => {
      const stranger = await controls.mintToken({ aud: stack.mcpUrl, signWith: 'unknown' });
      await controls.setJwksMode('down');
      outage = await postMcp(stack, `Bearer ${stranger.accessToken}`);
      outageBody = (await outage.json()) as Record<string, unknown>;
      await controls.setJwksMode('normal');
    });

    it('answers 503 with Retry-After, not 401: the token could not be checked, it was not found bad', () => {
      // Assess
      expect(outage.status).toBe(503);
      expect(Number(outage.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(outage.headers.get('cache-control')).toBe('no-store');
      expect(outage.headers.get('content-type')).toMatch(/^application\/json/);
      expect(outageBody).toMatchObject({ error: 'temporarily_unavailable' });
      expectCorsExposingChallenge(outage);
    });

    it('recovers once the JWKS is back: a valid token passes again', async () => {
      // Prepare
      const valid = await controls.mintToken({ aud: stack.mcpUrl });

      // Act: the authorizer waits a moment after a failed fetch before it tries AuthKit again.
      const response = await waitFor(
        () => postMcp(stack, `Bearer ${valid.accessToken}`),
        (r) => r.status !== 503,
        10_000,
      );

      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: 1, result: { tools: expect.any(Array) } });
    });
  });

  describe('401: no token, or a token this server must not accept', () => {
    it.each([
      ['no Authorization header', async () => undefined],
      ['a token that is not a JWT', async () => 'Bearer not-a-jwt'],
      [
        'a token for another resource',
        async () => `Bearer ${(await controls.mintToken({ aud: 'https://other.example.com/mcp' })).accessToken}`,
      ],
      [
        'an expired token',
        async () => `Bearer ${(await controls.mintToken({ aud: stack.mcpUrl, expiresInSeconds: -600 })).accessToken}`,
      ],
    ])('%s gets 401 with the exact challenge pointing at the path-form PRM', async (_case, authorization) => {
      // Act
      const response = await postMcp(stack, await authorization());
      const body = (await response.json()) as Record<string, unknown>;

      // Assess
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(challenge);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(body).toMatchObject({ error: 'unauthorized', error_description: expect.any(String) });
      expectCorsExposingChallenge(response);
    });

    it('serves the PRM the challenge points at, naming this resource and AuthKit', async () => {
      // Act
      const response = await fetch(`${stack.urls.base}/.well-known/oauth-protected-resource/mcp`, {
        headers: { origin: CLIENT_ORIGIN },
      });

      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        resource: stack.mcpUrl,
        authorization_servers: [stack.issuer],
        bearer_methods_supported: ['header'],
      });
    });
  });

  it('answers 403 insufficient_scope to a valid token that lacks the required scope', async () => {
    // Prepare
    const narrow = await controls.mintToken({ aud: stack.mcpUrl, claims: { scope: 'openid profile email' } });

    // Act
    const response = await postMcp(stack, `Bearer ${narrow.accessToken}`);
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(403);
    const header = response.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain('error="insufficient_scope"');
    expect(header).toContain(`scope="${REQUIRED_SCOPE}"`);
    expect(header).toContain(`resource_metadata="${stack.urls.protectedResourceMetadata}"`);
    expect(body).toMatchObject({ error: 'insufficient_scope' });
    expectCorsExposingChallenge(response);
  });

  it('answers an unknown route with 404 JSON that names the MCP endpoint, with CORS', async () => {
    // Act
    const response = await fetch(`${stack.urls.base}/no/such/route`, { headers: { origin: CLIENT_ORIGIN } });
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body).toMatchObject({ error: 'not_found' });
    expect(String(body.error_description)).toContain(stack.mcpUrl);
    expectCorsExposingChallenge(response);
  });

  it('answers the CORS preflight for /mcp without invoking the authorizer', async () => {
    // Prepare
    const before = functionStats(stack.gateway.stats(), 'McpServerAuthorizer').invocations;

    // Act
    const response = await fetch(stack.mcpUrl, {
      method: 'OPTIONS',
      headers: {
        origin: CLIENT_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, mcp-protocol-version',
      },
    });

    // Assess
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(300);
    expect([CLIENT_ORIGIN, '*']).toContain(response.headers.get('access-control-allow-origin'));
    const allowedMethods = (response.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim());
    expect(allowedMethods).toEqual(expect.arrayContaining(['POST', 'GET', 'DELETE']));
    const allowedHeaders = (response.headers.get('access-control-allow-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase());
    expect(allowedHeaders).toEqual(
      expect.arrayContaining([
        'authorization',
        'content-type',
        'mcp-protocol-version',
        'mcp-session-id',
        'last-event-id',
      ]),
    );
    const exposed = (response.headers.get('access-control-expose-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase());
    expect(exposed).toContain('www-authenticate');
    expect(functionStats(stack.gateway.stats(), 'McpServerAuthorizer').invocations).toBe(before);
  });

  it("caches the authorizer's answer per token: a second request with the same token does not invoke it again", async () => {
    // Prepare
    const token = await controls.mintToken({ aud: stack.mcpUrl });
    const other = await controls.mintToken({ aud: stack.mcpUrl });
    const before = stack.gateway.stats();

    // Act
    const statuses = [
      (await postMcp(stack, `Bearer ${token.accessToken}`)).status,
      (await postMcp(stack, `Bearer ${token.accessToken}`)).status,
      (await postMcp(stack, `Bearer ${other.accessToken}`)).status,
    ];
    const after = stack.gateway.stats();

    // Assess
    expect(statuses).toEqual([200, 200, 200]);
    const authorizerCalls =
      functionStats(after, 'McpServerAuthorizer').invocations -
      functionStats(before, 'McpServerAuthorizer').invocations;
    expect(authorizerCalls).toBe(2); // the first token once, the other token once
    expect(after.authorizerCache.hits - before.authorizerCache.hits).toBe(1);
    expect(functionStats(after, 'McpServerMcp').invocations - functionStats(before, 'McpServerMcp').invocations).toBe(
      3,
    );
  });
});
