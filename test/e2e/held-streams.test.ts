/**
 * One caller cannot take the MCP function from the others. With the stage synthesized with
 * `maxConcurrentRequestsPerCaller=3`, one caller holds 3 `subscriptions/listen` streams: its next
 * held request is refused 429 with `Retry-After` before anything runs (the lease is counted in the
 * local DynamoDB the stack serves, through the MCP role's grants), while another caller is served,
 * and discovery and the authorizer keep answering. Once one of its streams ends (its hold runs out:
 * a client that goes away is not signalled to the function, on AWS as here) the caller is served
 * again. At most 4 invocations of the MCP function run at once here (3 held streams and one more).
 */
import { defined } from '../../fixtures/defined';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(120_000);

const LIMIT = 3;
const HOLD_SECONDS = 20;

/** A 2026-07-28 request from this test's client. */
function modernRequest(token: string, method: string, params: Record<string, unknown>, id: number) {
  return mcpHttpRequest(method, params, { era: 'modern', id, token, clientName: 'held-streams' });
}

const LISTEN = { notifications: { toolsListChanged: true } };

function openListen(stack: LocalStack, token: string, id: number, signal?: AbortSignal): Promise<Response> {
  return fetch(stack.mcpUrl, { method: 'POST', ...modernRequest(token, 'subscriptions/listen', LISTEN, id), signal });
}

/** Opens a listen stream and resolves once its acknowledgement arrived; the stream stays open. */
async function listen(stack: LocalStack, token: string, id: number): Promise<AbortController> {
  const controller = new AbortController();
  const response = await openListen(stack, token, id, controller.signal);
  expect(response.status).toBe(200);
  const reader = defined(response.body, 'a body on the listen stream').getReader();
  let text = '';
  while (!text.includes('notifications/subscriptions/acknowledged')) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the listen stream ended before its acknowledgement: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return controller;
}

async function whoami(stack: LocalStack, token: string): Promise<{ status: number; text: string }> {
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    ...modernRequest(token, 'tools/call', { name: 'whoami', arguments: {} }, 99),
  });
  return { status: response.status, text: await response.text() };
}

describe('one caller holding its limit of held requests', () => {
  let stack: LocalStack;
  let alice: string;
  let bob: string;
  const streams: AbortController[] = [];

  beforeAll(async () => {
    // Streams held 20 s at most, so the test can see a lease come back without waiting 4 minutes.
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: {
        maxConcurrentRequestsPerCaller: String(LIMIT),
        subscriptionMaxDurationSeconds: String(HOLD_SECONDS),
      },
    });
    const controls = authKitTestControls(stack.issuer);
    alice = (await controls.mintToken({ aud: stack.mcpUrl, claims: { sub: 'user_alice' } })).accessToken;
    bob = (await controls.mintToken({ aud: stack.mcpUrl, claims: { sub: 'user_bob' } })).accessToken;
    for (let i = 0; i < LIMIT; i++) streams.push(await listen(stack, alice, i + 1));
  });

  afterAll(async () => {
    for (const stream of streams) stream.abort();
    await stack?.stop();
  });

  it('refuses that caller’s next held request 429 with Retry-After, naming the limit', async () => {
    const refused = await openListen(stack, alice, 10);

    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { message: string; data: Record<string, unknown> } };
    expect(body.error.message).toMatch(
      /^Too many concurrent requests: this caller already holds 3 of 3 \(maxConcurrentRequestsPerCaller\)/,
    );
    expect(body.error.data).toEqual({ limit: LIMIT, retryAfterSeconds: retryAfter });
  });

  it('serves another caller meanwhile, and keeps discovery and the authorizer answering', async () => {
    const served = await whoami(stack, bob);
    expect(served.status).toBe(200);
    expect(served.text).toContain('user_bob');
    const metadata = await fetch(stack.urls.protectedResourceMetadata);
    expect(metadata.status).toBe(200);
    const unauthenticated = await fetch(stack.mcpUrl, {
      method: 'POST',
      ...modernRequest('not.a.token', 'tools/call', { name: 'whoami', arguments: {} }, 7),
    });
    expect(unauthenticated.status).toBe(401);
  });

  it('serves that caller’s held requests again once one of its streams has ended', async () => {
    defined(streams.shift(), 'a held listen stream').abort();
    // The execution, and its lease, end when the stream's hold runs out.
    const deadline = Date.now() + (HOLD_SECONDS + 15) * 1000;
    const controller = new AbortController();
    let response = await openListen(stack, alice, 20, controller.signal);
    while (response.status !== 200 && Date.now() < deadline) {
      await response.text();
      await new Promise((resolve) => setTimeout(resolve, 500));
      response = await openListen(stack, alice, 20, controller.signal);
    }
    expect(response.status).toBe(200);
    controller.abort();
  });
});
