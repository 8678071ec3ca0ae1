/**
 * The per-caller limit in the request pipeline, against a real DynamoDB implementation (dynalite,
 * behind a loopback proxy that counts every request the function makes): one caller holding its
 * limit in listen streams or long-running tools is refused before its next held request runs while
 * another caller is served; leases come back whatever ended the request; a short call makes no
 * DynamoDB request; a call that outlives the grace period takes a lease and is ended at the limit;
 * DynamoDB out of reach refuses held requests (fail closed) and leaves short calls alone.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { responseFromProxyResult, type ProxyResult } from '../../../lambda/runtime/adapter';
import {
  createMcpLambdaHandler,
  type McpLambdaHandler,
  type McpLambdaHandlerOptions,
  type McpLambdaServerFactory,
} from '../../../lambda/runtime/handler';
import { defineTool, type ToolDefinition } from '../../../lambda/runtime/tool-definition';
import { type RunningDynamoDb, startDynalite } from '../../../local/aws/dynamodb';
import { type CountedDynamoDb, countingDynamoDbProxy, stateTableSpec } from '../../../fixtures/dynamodb-counter';
import { callerContext, captureLogs, mcpEvent, modernRequest, PUBLIC_BASE_URL, RESOURCE, TOKEN } from './fixtures';
import { httpResponseStreamFrom, invoke } from './streamed-invoke';

jest.setTimeout(30_000);

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ALICE = callerContext({ sub: 'user_alice' });
const BOB = callerContext({ sub: 'user_bob' });
const LISTEN_PARAMS = { notifications: { toolsListChanged: true } };
const silent = new Logger({ serviceName: 'caller-limit-test', logLevel: 'SILENT' });

let dynamo: RunningDynamoDb;
let proxy: CountedDynamoDb;
let raw: DynamoDBClient;
let tables = 0;
let tableName = '';

beforeAll(async () => {
  dynamo = await startDynalite(Array.from({ length: 16 }, (_, i) => stateTableSpec(`mcp-state-${i}`)));
  proxy = await countingDynamoDbProxy(dynamo.endpoint);
  raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials });
});

afterAll(async () => {
  raw.destroy();
  await proxy.close();
  await dynamo.close();
});

beforeEach(() => {
  tableName = `mcp-state-${tables++}`;
  proxy.actions.length = 0;
});

async function leaseCount(): Promise<number> {
  const { Items } = await raw.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (Items ?? []).length;
}

/** Waits until `condition` holds, failing after five seconds. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the tools did: how often each ran, which were aborted; `open` lets every `slow` call finish. */
function toolState() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { ran: {} as Record<string, number>, aborted: [] as string[], gate, open };
}
type ToolState = ReturnType<typeof toolState>;

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * `slow` and `fails` are declared long-running; `quick`, `sleep` (for `ms`) and `wait` (until
 * aborted, after one log line when `notify`) are not.
 */
/** The tools the tests call; those named in `longRunning` declare it in their policy. */
function toolsOf(state: ToolState, longRunning: readonly string[]): ToolDefinition[] {
  const policy = (name: string) => ({ longRunning: longRunning.includes(name) });
  const ran = (name: string) => {
    state.ran[name] = (state.ran[name] ?? 0) + 1;
  };
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  return [
    defineTool('slow', { inputSchema: z.object({}), policy: policy('slow') }, async (_args, ctx) => {
      ran('slow');
      await Promise.race([state.gate, untilAborted(ctx.mcpReq.signal)]);
      return text('slow done');
    }),
    defineTool('fails', { inputSchema: z.object({}), policy: policy('fails') }, async () => {
      ran('fails');
      throw new Error('the tool failed');
    }),
    defineTool('quick', { inputSchema: z.object({}), policy: policy('quick') }, async () => {
      ran('quick');
      return text('quick done');
    }),
    defineTool('sleep', { inputSchema: z.object({ ms: z.number() }), policy: policy('sleep') }, async ({ ms }) => {
      ran('sleep');
      await new Promise((resolve) => setTimeout(resolve, ms));
      return text('slept');
    }),
    defineTool(
      'wait',
      { inputSchema: z.object({ notify: z.boolean() }), policy: policy('wait') },
      async ({ notify }, ctx) => {
        ran('wait');
        if (notify)
          await ctx.mcpReq.notify({ method: 'notifications/message', params: { level: 'info', data: 'waiting' } });
        await untilAborted(ctx.mcpReq.signal);
        state.aborted.push('wait');
        return text('aborted');
      },
    ),
  ];
}

/** The server each request gets; the handler registers the tools on it. */
const bareServer: McpLambdaServerFactory = ({ serverInfo }) =>
  new McpServer(serverInfo, { capabilities: { logging: {} } });

function handlerOf(
  state: ToolState,
  mode: 'stream' | 'buffered',
  options: McpLambdaHandlerOptions = {},
  factory: McpLambdaServerFactory = bareServer,
  longRunning: readonly string[] = ['slow', 'fails'],
): McpLambdaHandler {
  return createMcpLambdaHandler(factory, {
    publicBaseUrl: PUBLIC_BASE_URL,
    serverInfo: { name: 'caller-limit', version: '1.0.0' },
    logger: silent,
    responseTransferMode: mode,
    httpResponseStreamFrom,
    stateTableName: tableName,
    maxConcurrentRequestsPerCaller: 2,
    leaseAfterMs: 60_000,
    stateTableClientConfig: { endpoint: proxy.endpoint, region, credentials },
    tools: toolsOf(state, longRunning),
    ...options,
  });
}

function streamedRequest(method: string, params: Record<string, unknown>, id = 7): Request {
  const { body, headers } = modernRequest(method, params, id);
  return new Request(RESOURCE, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const call = (name: string, args: Record<string, unknown> = {}, id = 7) =>
  streamedRequest('tools/call', { name, arguments: args }, id);

/** A buffered call through the handler, read back as the web Response a client gets. */
async function buffered(
  handler: McpLambdaHandler,
  name: string,
  args: Record<string, unknown> = {},
  authorizer = ALICE,
  remainingMs = 28_000,
): Promise<Response> {
  const { body, headers } = modernRequest('tools/call', { name, arguments: args }, 11);
  const deadline = Date.now() + remainingMs;
  const result = (await handler(mcpEvent(body, { headers, authorizer }), {
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  })) as ProxyResult;
  return responseFromProxyResult(result);
}

interface ErrorBody {
  readonly error: { readonly code: number; readonly message: string; readonly data?: Record<string, unknown> };
}

/** The last JSON-RPC message of an event stream. */
function lastEvent(text: string): ErrorBody & { readonly id: unknown } {
  const events = text.split('\n\n').filter((event) => event.includes('data:'));
  const last = events.at(-1) ?? '';
  return JSON.parse(last.slice(last.indexOf('data:') + 5)) as ErrorBody & { id: unknown };
}

const LIMIT_MESSAGE =
  /^Too many concurrent requests: this caller already holds 2 of 2 \(maxConcurrentRequestsPerCaller\)/;

describe('a caller at its limit', () => {
  it('is refused 429 with Retry-After before its long-running tool runs, while another caller is served', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'stream', { listenMaxSeconds: 60 });
    const listens = [
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 1), 60_000, ALICE),
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 2), 60_000, ALICE),
    ];
    expect(listens.map((listen) => listen.response.status)).toEqual([200, 200]);

    const { response } = await invoke(handler, call('slow'), 60_000, ALICE);

    expect(response.status).toBe(429);
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.message).toMatch(LIMIT_MESSAGE);
    expect(body.error.data).toEqual({ limit: 2, retryAfterSeconds: retryAfter });
    expect(state.ran.slow).toBeUndefined();

    state.open();
    const bob = await invoke(handler, call('slow'), 60_000, BOB);
    expect(bob.response.status).toBe(200);
    expect(await bob.response.text()).toContain('slow done');
    expect(state.ran.slow).toBe(1);

    for (const listen of listens) listen.stream.destroy();
    await until(async () => (await leaseCount()) === 0, 'the release of every lease');
  });

  it('is refused before the tool runs when its held requests are long-running tool calls (buffered), and the refusal is logged', async () => {
    const state = toolState();
    const logs = captureLogs();
    try {
      const logger = new Logger({ serviceName: 'caller-limit-test', logLevel: 'INFO' });
      const handler = handlerOf(state, 'buffered', { logger });
      const held = [buffered(handler, 'slow'), buffered(handler, 'slow')];
      await until(() => state.ran.slow === 2, 'two slow calls running');

      const refused = await buffered(handler, 'slow');

      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as ErrorBody).error.message).toMatch(LIMIT_MESSAGE);
      expect(state.ran.slow).toBe(2);
      state.open();
      expect((await Promise.all(held)).map((response) => response.status)).toEqual([200, 200]);
      expect(await leaseCount()).toBe(0);
      const line = logs.lines().find((entry) => entry.message === 'mcp request' && entry.status === 429);
      expect(line).toMatchObject({
        level: 'WARN',
        sub: 'user_alice',
        reason:
          'per-caller limit reached: the caller holds 2 of 2 (maxConcurrentRequestsPerCaller); refused before dispatch',
      });
      // No identity beyond the sub the line always carries: neither the client id nor the lease key.
      expect(logs.raw()).not.toMatch(/client_01C|caller#/);
    } finally {
      logs.restore();
    }
  });
});

describe('a lease', () => {
  it('is released when the tool succeeds, fails, or the server throws', async () => {
    const state = toolState();
    state.open();
    const handler = handlerOf(state, 'buffered');
    expect((await buffered(handler, 'slow')).status).toBe(200);
    expect(await leaseCount()).toBe(0);

    const failed = await buffered(handler, 'fails');
    expect(failed.status).toBe(200);
    expect(await failed.text()).toContain('the tool failed');
    expect(await leaseCount()).toBe(0);

    const throwing = handlerOf(state, 'buffered', {}, () => {
      throw new Error('the server could not be built');
    });
    expect((await buffered(throwing, 'slow')).status).toBe(500);
    expect(await leaseCount()).toBe(0);

    // Each request took a lease and gave it back.
    expect(proxy.actions.filter((action) => action === 'PutItem')).toHaveLength(3);
    expect(proxy.actions.filter((action) => action === 'DeleteItem')).toHaveLength(3);
  });

  it('is released when the request times out, and when the client goes away', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'stream', { timeoutMarginMs: 1000 });
    const timedOut = await invoke(handler, call('slow'), 2000, ALICE);
    expect(timedOut.response.status).toBe(504);
    expect(((await timedOut.response.json()) as ErrorBody).error.message).toMatch(/^Request timed out/);
    await until(async () => (await leaseCount()) === 0, 'the release after the timeout');

    // `wait` declared long-running here: it holds a lease from the start and streams a log line.
    const holding = handlerOf(state, 'stream', {}, bareServer, ['wait']);
    const gone = await invoke(holding, call('wait', { notify: true }), 60_000, ALICE);
    expect(await leaseCount()).toBe(1);
    gone.stream.destroy();
    await until(() => state.aborted.includes('wait'), 'the abort of the tool');
    await until(async () => (await leaseCount()) === 0, 'the release after the client went away');
  });

  it('expires at the request’s own deadline', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'buffered');
    const pending = buffered(handler, 'slow', {}, ALICE, 20_000);
    await until(() => state.ran.slow === 1, 'the slow call running');
    const { Items } = await raw.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
    const expiresAt = Number(Items?.[0]?.expiresAt?.N);
    const now = Math.floor(Date.now() / 1000);
    // 20 s of invocation left, plus the lease module's margin for clock skew.
    expect(expiresAt).toBeGreaterThanOrEqual(now + 15);
    expect(expiresAt).toBeLessThanOrEqual(now + 20 + 5 + 1);
    state.open();
    await pending;
  });
});

describe('a request that does not hold from the start', () => {
  it('makes no DynamoDB request at all when it is short, buffered or streamed', async () => {
    const state = toolState();
    const bufferedHandler = handlerOf(state, 'buffered', { leaseAfterMs: 5000 });
    const streamedHandler = handlerOf(state, 'stream', { leaseAfterMs: 5000 });
    for (let i = 0; i < 3; i++) expect((await buffered(bufferedHandler, 'quick')).status).toBe(200);
    const streamed = await invoke(streamedHandler, call('quick'), 60_000, ALICE);
    expect(await streamed.response.text()).toContain('quick done');
    const list = await invoke(streamedHandler, streamedRequest('tools/list', {}), 60_000, ALICE);
    expect(list.response.status).toBe(200);
    await list.response.text();
    expect(state.ran.quick).toBe(4);
    expect(proxy.actions).toEqual([]);
  });

  it('takes a lease once it outlives the grace period, logs it, and gives it back at the end', async () => {
    const state = toolState();
    const logs = captureLogs();
    try {
      const logger = new Logger({ serviceName: 'caller-limit-test', logLevel: 'INFO' });
      const handler = handlerOf(state, 'buffered', { leaseAfterMs: 100, logger });
      const pending = buffered(handler, 'sleep', { ms: 1500 });
      await until(async () => (await leaseCount()) === 1, 'a lease after the grace period');
      expect((await pending).status).toBe(200);
      expect(await leaseCount()).toBe(0);
      const line = logs.lines().find((entry) => entry.message === 'mcp request');
      expect(line?.reason).toMatch(/^caller lease taken on slot \d after 100 ms$/);
    } finally {
      logs.restore();
    }
  });

  it('is ended with the limit’s error event and its tool aborted when it outlives the grace period at the limit', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'stream', { leaseAfterMs: 200, listenMaxSeconds: 60 });
    const listens = [
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 1), 60_000, ALICE),
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 2), 60_000, ALICE),
    ];

    const { response } = await invoke(handler, call('wait', { notify: true }, 3), 60_000, ALICE);

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const last = lastEvent(await response.text());
    expect(last.id).toBe(3);
    expect(last.error.message).toMatch(LIMIT_MESSAGE);
    expect(last.error.data).toEqual({ limit: 2, retryAfterSeconds: expect.any(Number) });
    await until(() => state.aborted.includes('wait'), 'the abort of the tool');
    for (const listen of listens) listen.stream.destroy();
    await until(async () => (await leaseCount()) === 0, 'the release of every lease');
  });

  it('is answered 429 when, streamed, it outlives the grace period at the limit before sending anything', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'stream', { leaseAfterMs: 200, listenMaxSeconds: 60 });
    const listens = [
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 1), 60_000, ALICE),
      await invoke(handler, streamedRequest('subscriptions/listen', LISTEN_PARAMS, 2), 60_000, ALICE),
    ];

    const { response } = await invoke(handler, call('wait', { notify: false }, 3), 60_000, ALICE);

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await response.json()) as ErrorBody).error.message).toMatch(LIMIT_MESSAGE);
    await until(() => state.aborted.includes('wait'), 'the abort of the tool');
    for (const listen of listens) listen.stream.destroy();
    await until(async () => (await leaseCount()) === 0, 'the release of every lease');
  });

  it('is answered 429 and its tool aborted when it outlives the grace period at the limit before sending anything', async () => {
    const state = toolState();
    const handler = handlerOf(state, 'buffered', { leaseAfterMs: 200 });
    const held = [buffered(handler, 'slow'), buffered(handler, 'slow')];
    await until(() => state.ran.slow === 2, 'two slow calls running');

    const refused = await buffered(handler, 'wait', { notify: false }, ALICE);

    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as ErrorBody).error.message).toMatch(LIMIT_MESSAGE);
    await until(() => state.aborted.includes('wait'), 'the abort of the tool');
    state.open();
    await Promise.all(held);
    expect(await leaseCount()).toBe(0);
  });
});

describe('the limit without DynamoDB', () => {
  it('refuses held requests 503 with Retry-After when DynamoDB is out of reach, and serves short calls', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const state = toolState();
    const handler = handlerOf(state, 'buffered', {
      stateTableClientConfig: { endpoint: `http://127.0.0.1:${port}`, region, credentials },
    });

    const refused = await buffered(handler, 'slow');

    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.message).toMatch(/^Service unavailable: the per-caller limit \(maxConcurrentRequestsPerCaller\)/);
    expect(body.error.data).toEqual({ retryable: true, retryAfterSeconds: 2 });
    expect(state.ran.slow).toBeUndefined();
    expect((await buffered(handler, 'quick')).status).toBe(200);
  });

  it('takes no lease when the limit is off or no table is configured', async () => {
    const state = toolState();
    state.open();
    const off = handlerOf(state, 'buffered', { maxConcurrentRequestsPerCaller: false });
    const noTable = handlerOf(state, 'buffered', { stateTableName: undefined });
    expect((await buffered(off, 'slow')).status).toBe(200);
    expect((await buffered(noTable, 'slow')).status).toBe(200);
    expect(proxy.actions).toEqual([]);
  });
});
