/**
 * Long tools through the whole local stack, as deployed (steps of one second, so the first
 * progress is due at 1 s and the 40% mark, 2.4 s, leaves room for a busy machine): after the OAuth flow, an MCP client calls
 * `long_task` and sees its progress and log lines while it runs, over API Gateway's response
 * streaming (the `/mcp` integration's ResponseTransferMode STREAM) and the function's streaming
 * handler. The v2 SDK client speaks 2026-07-28; the 1.x SDK client, which most deployed clients
 * still run, speaks 2025-11-25.
 */
import { Client, LOG_LEVEL_META_KEY, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient } from './headless-oauth-client';

jest.setTimeout(180_000);

interface Timeline {
  readonly progress: number[];
  readonly logs: number[];
  readonly finished: number;
  readonly text: string;
}

describe('long tools stream their progress through the local stack', () => {
  let stack: LocalStack;
  let oauth: HeadlessOAuthClient;
  let client: Client;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, authkitPort: 0, autoApprove: true, testControls: true });
    oauth = new HeadlessOAuthClient();
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth });
    await new Client({ name: 'e2e-streaming', version: '1.0.0' }).connect(first).catch(() => undefined);
    if (oauth.callbackUrl) await first.finishAuth(oauth.callbackUrl.searchParams);
    client = new Client({ name: 'e2e-streaming', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth }));
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await stack?.stop();
  });

  async function longTaskV2(seconds: number, steps: number): Promise<Timeline> {
    const started = Date.now();
    const progress: number[] = [];
    const logs: number[] = [];
    client.setNotificationHandler('notifications/message', () => void logs.push(Date.now() - started));
    const result = await client.callTool(
      { name: 'long_task', arguments: { seconds, steps }, _meta: { [LOG_LEVEL_META_KEY]: 'info' } },
      { onprogress: () => void progress.push(Date.now() - started), timeout: (seconds + 30) * 1000 },
    );
    const text = (result.content as { type: string; text: string }[])[0]?.text ?? '';
    return { progress, logs, finished: Date.now() - started, text };
  }

  it('2026-07-28 (SDK v2): the first progress arrives before 40% of the run, log lines before the result, the result after the run', async () => {
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const run = await longTaskV2(6, 6);
    expect(run.progress).toHaveLength(6);
    expect(run.progress[0]).toBeLessThan(0.4 * 6000);
    expect(run.logs).toHaveLength(6);
    expect(run.logs[0]).toBeLessThan(run.finished);
    expect(run.finished).toBeGreaterThanOrEqual(6000);
    expect(run.text).toMatch(/^Finished 6 step\(s\) in 6\.\d s\.$/);
  });

  it('2025-11-25 (SDK 1.x): the same, on the stateless 2025 transport', async () => {
    const token = oauth.tokens()?.access_token;
    expect(token).toEqual(expect.any(String));
    const legacy = new ClientV1({ name: 'e2e-streaming-v1', version: '1.0.0' });
    await legacy.connect(
      new StreamableHTTPClientTransportV1(new URL(stack.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    expect(legacy.getServerVersion()).toBeDefined();
    const started = Date.now();
    const progress: number[] = [];
    const logs: number[] = [];
    legacy.setNotificationHandler(LoggingMessageNotificationSchema, () => void logs.push(Date.now() - started));
    const result = await legacy.callTool({ name: 'long_task', arguments: { seconds: 6, steps: 6 } }, undefined, {
      onprogress: () => void progress.push(Date.now() - started),
      timeout: 60_000,
    });
    const finished = Date.now() - started;
    expect(progress).toHaveLength(6);
    expect(progress[0]).toBeLessThan(0.4 * 6000);
    expect(logs).toHaveLength(6);
    expect(logs[0]).toBeLessThan(finished);
    expect(finished).toBeGreaterThanOrEqual(6000);
    expect((result.content as { text: string }[])[0].text).toMatch(/^Finished 6 step\(s\) in 6\.\d s\.$/);
    await legacy.close();
  });

  it('completes a tool that runs 60 seconds, past the 29-second limit of a buffered integration', async () => {
    const run = await longTaskV2(60, 4);
    expect(run.progress).toHaveLength(4);
    expect(run.finished).toBeGreaterThanOrEqual(60_000);
    expect(run.text).toMatch(/^Finished 4 step\(s\) in 60\.\d s\.$/);
  }, 150_000);
});
