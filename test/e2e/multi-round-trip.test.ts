/**
 * Multi-round-trip requests through the whole local stack as deployed: the MCP function reads its
 * requestState key from the stack's generated Secrets Manager secret (the local Secrets Manager,
 * reached by the function's AWS SDK as on AWS, with its role checked), and an MCP client answers
 * the `confirm` tool's question after the OAuth flow. A state sealed for one user or client is
 * refused for any other, and a tampered one for everyone.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { defined } from '../../fixtures/defined';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient } from './headless-oauth-client';

jest.setTimeout(120_000);

interface Reply {
  result?: { resultType?: string; requestState?: string; structuredContent?: unknown };
  error?: { code: number; message: string };
}

describe('multi-round-trip requests through the local stack', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, authkitPort: 0, autoApprove: true, testControls: true });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('confirm: the SDK client answers the elicitation after the OAuth flow, and the tool returns the answer', async () => {
    const oauth = new HeadlessOAuthClient();
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth });
    await new Client({ name: 'e2e-confirm', version: '1.0.0' }).connect(first).catch(() => undefined);
    if (oauth.callbackUrl) await first.finishAuth(oauth.callbackUrl.searchParams);
    const asked: string[] = [];
    const client = new Client(
      { name: 'e2e-confirm', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } },
    );
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth }));
    const result = await client.callTool({ name: 'confirm', arguments: { question: 'Release 1.2?' } });
    expect(asked).toEqual(['Release 1.2?']);
    expect(result.structuredContent).toEqual({ question: 'Release 1.2?', answer: 'yes' });
    await client.close();
  });

  async function tokenFor(sub: string, clientId: string): Promise<string> {
    const minted = await authKitTestControls(stack.issuer).mintToken({
      aud: stack.mcpUrl,
      claims: { sub, client_id: clientId },
    });
    return minted.accessToken;
  }

  async function confirmCall(token: string, extra: Record<string, unknown> = {}): Promise<Reply> {
    const request = mcpHttpRequest(
      'tools/call',
      { name: 'confirm', arguments: { question: 'Pay 100 EUR?' }, ...extra },
      { era: 'modern', id: 1, token, clientName: 'raw-client', clientCapabilities: { elicitation: { form: {} } } },
    );
    const response = await fetch(stack.mcpUrl, { method: 'POST', ...request });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    return (await response.json()) as Reply;
  }

  const answer = { inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } };

  it('seals the question in a requestState that the same caller can bring back', async () => {
    const alice = await tokenFor('user_alice', 'client_app');
    const first = await confirmCall(alice);
    expect(first.result?.resultType).toBe('input_required');
    expect(first.result?.requestState).toMatch(/^v1\./);
    const second = await confirmCall(alice, { ...answer, requestState: first.result?.requestState });
    expect(second.result?.structuredContent).toEqual({ question: 'Pay 100 EUR?', answer: 'yes' });
  });

  it.each([
    ['another user', 'user_bob', 'client_app'],
    ['another client of the same user', 'user_alice', 'client_other'],
  ])('refuses a state captured from user A and replayed by %s', async (_who, sub, clientId) => {
    const state = (await confirmCall(await tokenFor('user_alice', 'client_app'))).result?.requestState;
    const replayed = await confirmCall(await tokenFor(sub, clientId), { ...answer, requestState: state });
    expect(replayed.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });

  it('refuses a tampered state', async () => {
    const alice = await tokenFor('user_alice', 'client_app');
    const state = defined((await confirmCall(alice)).result?.requestState, 'a requestState in the first answer');
    const [version, body, mac] = state.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: { question: string } };
    payload.p.question = 'Pay 1 EUR?';
    const tampered = [version, Buffer.from(JSON.stringify(payload)).toString('base64url'), mac].join('.');
    const reply = await confirmCall(alice, { ...answer, requestState: tampered });
    expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });
});
