/**
 * Held streams cannot starve the stack: the MCP function's reserved concurrency caps how many
 * executions held `subscriptions/listen` streams (and long tools) take, and the authorizer and
 * the metadata function run outside that reservation. With the MCP function at its cap (here 3,
 * synthesized with `mcpReservedConcurrency=3`), discovery and the authorizer keep answering, one
 * MCP request more is throttled (API Gateway answers 500 for a throttled Lambda proxy integration),
 * and once a stream closes, MCP requests are served again. The local gateway enforces reserved
 * concurrency as Lambda does.
 */
import { defined } from '../../fixtures/defined';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(120_000);

const CAP = 3;
const HOLD_SECONDS = 20;

/** A 2026-07-28 request from this test's client. */
function modernRequest(token: string, method: string, params: Record<string, unknown>, id: number) {
  return mcpHttpRequest(method, params, { era: 'modern', id, token, clientName: 'held-streams' });
}

/** Opens a listen stream and resolves once its acknowledgement arrived; the stream stays open. */
async function listen(stack: LocalStack, token: string, id: number): Promise<AbortController> {
  const controller = new AbortController();
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    ...modernRequest(token, 'subscriptions/listen', { notifications: { toolsListChanged: true } }, id),
    signal: controller.signal,
  });
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

async function whoami(stack: LocalStack, token: string): Promise<number> {
  const response = await fetch(stack.mcpUrl, {
    method: 'POST',
    ...modernRequest(token, 'tools/call', { name: 'whoami', arguments: {} }, 99),
  });
  await response.text();
  return response.status;
}

describe('held streams at the MCP function’s reserved concurrency', () => {
  let stack: LocalStack;
  let token: string;
  const streams: AbortController[] = [];

  beforeAll(async () => {
    // Streams held 20 s at most, so the test can see a slot come back without waiting 4 minutes.
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { mcpReservedConcurrency: String(CAP), subscriptionMaxDurationSeconds: String(HOLD_SECONDS) },
    });
    token = (await authKitTestControls(stack.issuer).mintToken({ aud: stack.mcpUrl })).accessToken;
    for (let i = 0; i < CAP; i++) streams.push(await listen(stack, token, i + 1));
  });

  afterAll(async () => {
    for (const stream of streams) stream.abort();
    await stack?.stop();
  });

  it('keeps serving discovery and the authorizer while every reserved MCP execution holds a stream', async () => {
    const metadata = await fetch(stack.urls.protectedResourceMetadata);
    expect(metadata.status).toBe(200);
    const refused = await fetch(stack.mcpUrl, {
      method: 'POST',
      ...modernRequest('not.a.token', 'tools/call', { name: 'whoami', arguments: {} }, 7),
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata="/);
  });

  it('throttles one MCP request more (500 from API Gateway), and serves MCP again once a stream closes', async () => {
    expect(await whoami(stack, token)).toBe(500);
    defined(streams.shift(), 'a held listen stream').abort();
    // On AWS a function learns nothing of a client that went away (the Node.js runtime emits no
    // event), so the execution ends when its hold runs out; the gateway releases the slot then.
    const deadline = Date.now() + (HOLD_SECONDS + 15) * 1000;
    let status = await whoami(stack, token);
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = await whoami(stack, token);
    }
    expect(status).toBe(200);
  });
});
