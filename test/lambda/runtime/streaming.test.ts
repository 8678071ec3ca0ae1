/**
 * The runtime's streaming handler, in process: each request the SDK client makes becomes the proxy
 * event API Gateway would deliver, the handler writes its answer to a response stream the way the
 * Lambda runtime's `HttpResponseStream.from` frames it (JSON prelude, eight NUL bytes, body), and
 * the client reads the body as it is written. The wire format itself is pinned by the local
 * gateway's tests; here the runtime's behaviour is: what streams, when, and how it ends.
 */
import { Client, LOG_LEVEL_META_KEY, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Logger } from '@aws-lambda-powertools/logger';
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import {
  createMcpLambdaHandler,
  type McpLambdaHandler,
  type McpLambdaServerFactory,
} from '../../../lambda/runtime/handler';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import { modernRequest, PUBLIC_BASE_URL, RESOURCE, TOKEN } from './fixtures';
import { defined } from '../../../fixtures/defined';
import { httpResponseStreamFrom, invoke } from './streamed-invoke';

const logger = new Logger({ serviceName: 'mcp-streaming-test', logLevel: 'SILENT' });
function streamingHandler(
  factory: McpLambdaServerFactory,
  options: { timeoutMarginMs?: number; listenMaxSeconds?: number; tools?: typeof SAMPLE_TOOLS } = {},
): McpLambdaHandler {
  return createMcpLambdaHandler(factory, {
    publicBaseUrl: PUBLIC_BASE_URL,
    serverInfo: { name: 'sample', version: '0.1.0' },
    logger,
    responseTransferMode: 'stream',
    httpResponseStreamFrom,
    ...options,
  });
}

async function connect(handler: McpLambdaHandler, mode: 'legacy' | 'auto', remainingMs?: number) {
  const contentTypes: string[] = [];
  const client = new Client({ name: 'streaming-client', version: '1.0.0' }, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(new URL(RESOURCE), {
    fetch: async (url, init) => {
      const { response } = await invoke(handler, new Request(url, init), remainingMs);
      // The content type of each tools/call answer (not of the handshake's notifications).
      if (typeof init?.body === 'string' && init.body.includes('"tools/call"'))
        contentTypes.push(response.headers.get('content-type') ?? '');
      return response;
    },
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
  });
  await client.connect(transport);
  return { client, contentTypes };
}

const sample = streamingHandler(createSampleServer, { tools: SAMPLE_TOOLS });

describe.each([
  ['2025-11-25', 'legacy'],
  ['2026-07-28', 'auto'],
] as const)('streaming to an SDK client negotiating %s', (_revision, mode) => {
  it('answers a call that sends nothing mid-way with one JSON body', async () => {
    const { client, contentTypes } = await connect(sample, mode);
    contentTypes.length = 0;
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(contentTypes).toEqual(['application/json']);
    await client.close();
  });

  it('delivers each progress notification and log line of long_task as it happens, before the result', async () => {
    const { client, contentTypes } = await connect(sample, mode);
    // 2026-07-28 negotiates logging per request, in the request's `_meta`; 2025 per session (here: none).
    const logLevel = mode === 'auto' ? { _meta: { [LOG_LEVEL_META_KEY]: 'info' } } : {};
    contentTypes.length = 0;
    const started = Date.now();
    const progress: number[] = [];
    const logs: number[] = [];
    client.setNotificationHandler('notifications/message', () => void logs.push(Date.now() - started));
    const result = await client.callTool(
      { name: 'long_task', arguments: { seconds: 3, steps: 5 }, ...logLevel },
      { onprogress: () => void progress.push(Date.now() - started) },
    );
    const finished = Date.now() - started;
    expect(contentTypes).toEqual(['text/event-stream']);
    expect(progress).toHaveLength(5);
    expect(logs).toHaveLength(5);
    // The first step ends at 0.6 s of 3 s: it must be seen long before the result.
    expect(progress[0]).toBeLessThan(0.4 * 3000);
    expect(logs[0]).toBeLessThan(0.4 * 3000);
    expect(finished).toBeGreaterThanOrEqual(3000);
    expect(result.content).toEqual([
      { type: 'text', text: expect.stringMatching(/^Finished 5 step\(s\) in 3\.\d s\.$/) },
    ]);
    await client.close();
  }, 20_000);
});

/** A server whose one tool waits until it is aborted, and says when it was. */
function abortWatchingServer(aborted: { at?: number; reason?: string }): McpLambdaServerFactory {
  return ({ serverInfo }) => {
    const server = new McpServer(serverInfo, { capabilities: { logging: {} } });
    server.registerTool('wait', { inputSchema: z.object({}) }, async (_args, ctx) => {
      await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data: 'waiting' } });
      await new Promise<void>((resolve) =>
        ctx.mcpReq.signal.addEventListener('abort', () => {
          aborted.at = Date.now();
          aborted.reason = String(ctx.mcpReq.signal.reason);
          resolve();
        }),
      );
      return { content: [{ type: 'text', text: 'aborted' }] };
    });
    return server;
  };
}

/** Waits until `condition` holds, failing after two seconds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the condition did not hold within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function callRequest(name: string, id = 7): Request {
  return new Request(RESOURCE, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } }),
  });
}

it('sends no log line to a 2026-07-28 client that asked for none', async () => {
  const { client } = await connect(sample, 'auto');
  const logs: unknown[] = [];
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n));
  const progress: unknown[] = [];
  await client.callTool(
    { name: 'long_task', arguments: { seconds: 1, steps: 2 } },
    { onprogress: (p) => void progress.push(p) },
  );
  expect(progress).toHaveLength(2);
  expect(logs).toEqual([]);
  await client.close();
});

describe('the limits of a streamed request', () => {
  it('gives up before the time limit with a JSON-RPC error event for the request, and aborts the tool', async () => {
    const aborted: { at?: number } = {};
    const handler = streamingHandler(abortWatchingServer(aborted), { timeoutMarginMs: 1000 });
    const started = Date.now();
    const { response } = await invoke(handler, callRequest('wait', 42), 1800);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    const events = text.split('\n\n').filter((e) => e.includes('data:'));
    const last = JSON.parse(defined(events.at(-1), 'a data event').split('data: ')[1]) as {
      id: number;
      error: { message: string };
    };
    expect(last.id).toBe(42);
    expect(last.error.message).toMatch(/^Request timed out: the server's time limit \(2 s\) was reached/);
    await until(() => aborted.at !== undefined);
    // 1.8 s left, 1 s margin: given up at about 0.8 s, well before Lambda would cut it.
    expect(defined(aborted.at, 'the abort time') - started).toBeLessThan(1800);
  });

  it('aborts the tool when the client goes away mid-stream', async () => {
    const aborted: { at?: number } = {};
    const handler = streamingHandler(abortWatchingServer(aborted));
    const { response, stream } = await invoke(handler, callRequest('wait'));
    const reader = defined(response.body, 'a response body').getReader();
    await reader.read();
    stream.destroy();
    await until(() => aborted.at !== undefined);
  });
});

describe('subscriptions/listen over the stream', () => {
  it('acknowledges the subscription, then closes the stream cleanly after the longest hold', async () => {
    const handler = streamingHandler(createSampleServer, { listenMaxSeconds: 1, tools: SAMPLE_TOOLS });
    const { body, headers } = modernRequest('subscriptions/listen', { notifications: { toolsListChanged: true } }, 9);
    const started = Date.now();
    const { response } = await invoke(
      handler,
      new Request(RESOURCE, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          ...headers,
        },
        body: JSON.stringify(body),
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    const held = Date.now() - started;
    const messages = text
      .split('\n\n')
      .filter((e) => e.includes('data:'))
      .map((e) => JSON.parse(e.slice(e.indexOf('data:') + 5)) as { method?: string; params?: Record<string, unknown> });
    expect(messages[0]?.method).toBe('notifications/subscriptions/acknowledged');
    expect(held).toBeGreaterThanOrEqual(1000);
    expect(held).toBeLessThan(5000);
  });
});
