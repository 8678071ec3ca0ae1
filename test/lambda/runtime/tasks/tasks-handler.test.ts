/**
 * The tasks extension through the public handler: a real task table (dynalite), the local Lambda
 * endpoint (local/aws/lambda.ts) queueing the worker's asynchronous Invoke and handing the event to
 * the same handler in this process, and the real MCP SDK running the tools. Covers the opt-in
 * (-32021), the removed methods (-32601), the binding to the caller (-32602 for another user or
 * client), a task run to completion with its progress, a cancel that stops the worker, a question
 * answered through tasks/update, and a forged worker event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { inputRequired, acceptedContent, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { createMcpLambdaHandler, type McpLambdaHandler } from '../../../../lambda/runtime/handler';
import { defineTool } from '../../../../lambda/runtime/tool-definition';
import { type RunningDynamoDb, startDynalite } from '../../../../local/aws/dynamodb';
import { type LocalLambda, startLocalLambda } from '../../../../local/aws/lambda';
import { type CountedDynamoDb, countingDynamoDbProxy, stateTableSpec } from '../../../../fixtures/dynamodb-counter';
import { callerContext, type JsonRpcReply, mcpEvent, MODERN, PUBLIC_BASE_URL, replyOf } from '../fixtures';

jest.setTimeout(60_000);

const TABLE = 'mcp-state';
const FUNCTION_NAME = 'mcp-function';
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const KEY = 'k'.repeat(32);
const ALICE = callerContext({ sub: 'user_alice' });
const BOB = callerContext({ sub: 'user_bob' });
const ALICE_OTHER_CLIENT = callerContext({ sub: 'user_alice', clientId: 'client_other' });
const silent = new Logger({ serviceName: 'tasks-test', logLevel: 'SILENT' });
const TASKS = 'io.modelcontextprotocol/tasks';

/** Released by a test to let `gated` finish; every cancelled run is counted. */
const gate = { open: false, aborted: 0 };

const steps = defineTool(
  'steps',
  { inputSchema: z.object({ count: z.number() }), task: { support: 'optional' } },
  async ({ count }, ctx) => {
    const progressToken = ctx.mcpReq._meta?.progressToken;
    for (let step = 1; step <= count; step++)
      if (progressToken !== undefined)
        await ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress: step, total: count, message: `step ${step}` },
        });
    return { content: [{ type: 'text', text: `done ${count}` }] };
  },
);

const gated = defineTool('gated', { task: { support: 'required' } }, async (ctx) => {
  const progressToken = ctx.mcpReq._meta?.progressToken ?? 'none';
  while (!gate.open) {
    if (ctx.mcpReq.signal.aborted) {
      gate.aborted += 1;
      return { content: [{ type: 'text', text: 'aborted' }] };
    }
    await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { content: [{ type: 'text', text: 'opened' }] };
});

const answer = z.object({ color: z.string() });
const ask = defineTool('ask', { task: { support: 'optional' } }, async (ctx) => {
  const color = acceptedContent(ctx.mcpReq.inputResponses, 'color', answer);
  if (color === undefined)
    return inputRequired({
      inputRequests: { color: inputRequired.elicit({ message: 'Colour?', requestedSchema: answer }) },
    });
  return { content: [{ type: 'text', text: `You chose ${color.color}.` }] };
});

let dynamo: RunningDynamoDb;
let counted: CountedDynamoDb;
let lambda: LocalLambda;
let handler: McpLambdaHandler;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dynamo = await startDynalite([stateTableSpec(TABLE)]);
  counted = await countingDynamoDbProxy(dynamo.endpoint);
  lambda = await startLocalLambda({
    functions: () =>
      new Map([
        [
          FUNCTION_NAME,
          {
            functionName: FUNCTION_NAME,
            arn: `arn:aws:lambda:${region}:123456789012:function:${FUNCTION_NAME}`,
            maximumRetryAttempts: 0,
            maximumEventAgeSeconds: 60,
            invoke: async (event: unknown, requestId: string) => {
              const payload = await handler(event as never, { awsRequestId: requestId });
              return { ok: true as const, payload: JSON.stringify(payload ?? null) };
            },
          },
        ],
      ]),
    mayInvoke: () => true,
    log: () => undefined,
  });
  Object.assign(process.env, {
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
  handler = createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), {
    tools: [steps, gated, ask],
    publicBaseUrl: PUBLIC_BASE_URL,
    responseTransferMode: 'buffered',
    requestStateKey: KEY,
    stateTableName: TABLE,
    stateTableClientConfig: { endpoint: counted.endpoint, region, credentials },
    maxConcurrentRequestsPerCaller: false,
    logger: silent,
  });
});

afterAll(async () => {
  gate.open = true;
  process.env = savedEnv;
  await lambda.close();
  await counted.close();
  await dynamo.close();
});

function envelope(optIn: boolean) {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'test-client', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': optIn ? { elicitation: {}, extensions: { [TASKS]: {} } } : {},
  };
}

let nextId = 10;
async function rpc(
  method: string,
  params: Record<string, unknown>,
  { optIn = true, caller = ALICE, headers = {} as Record<string, string> } = {},
): Promise<JsonRpcReply> {
  const name = typeof params.taskId === 'string' ? params.taskId : params.name;
  const event = mcpEvent(
    { jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: envelope(optIn) } },
    {
      headers: {
        'MCP-Protocol-Version': MODERN,
        'Mcp-Method': method,
        ...(typeof name === 'string' ? { 'Mcp-Name': name } : {}),
        ...headers,
      },
      authorizer: caller,
    },
  );
  return replyOf(await handler(event));
}

async function settled(taskId: string, until: (status: string) => boolean): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const reply = await rpc('tasks/get', { taskId });
    const status = String(reply.result?.status);
    if (until(status)) return reply.result as Record<string, unknown>;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`task ${taskId} never settled`);
}
const terminal = (status: string) => ['completed', 'failed', 'cancelled'].includes(status);

describe('the tasks extension', () => {
  it('runs an opted-in call as a task: CreateTaskResult at once, the result inlined on tasks/get', async () => {
    const created = await rpc('tools/call', { name: 'steps', arguments: { count: 10 } });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 3_600_000 });
    expect(created.result).not.toHaveProperty('result');
    const taskId = String(created.result?.taskId);
    expect(taskId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const done = await settled(taskId, terminal);
    expect(done).toMatchObject({ resultType: 'complete', status: 'completed', taskId });
    expect(done.result).toMatchObject({ content: [{ type: 'text', text: 'done 10' }] });
    expect(lambda.asyncEvents.get(FUNCTION_NAME)?.accepted).toBeGreaterThanOrEqual(1);
  });

  it('runs the same tool as a plain call for a client that did not opt in', async () => {
    const reply = await rpc('tools/call', { name: 'steps', arguments: { count: 2 } }, { optIn: false });
    expect(reply.result).toMatchObject({ content: [{ type: 'text', text: 'done 2' }] });
    expect(reply.result).not.toHaveProperty('taskId');
  });

  it('refuses the task methods and a required task tool without the extension (-32021)', async () => {
    for (const method of ['tasks/get', 'tasks/cancel'])
      expect((await rpc(method, { taskId: 'x' }, { optIn: false })).error?.code).toBe(-32021);
    const required = await rpc('tools/call', { name: 'gated', arguments: {} }, { optIn: false });
    expect(required.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { extensions: { [TASKS]: {} } } },
    });
  });

  it('answers -32601 for tasks/result and tasks/list, -32020 for an Mcp-Name that does not match the body', async () => {
    expect((await rpc('tasks/result', { taskId: 'x' })).error?.code).toBe(-32601);
    expect((await rpc('tasks/list', {})).error?.code).toBe(-32601);
    const mismatch = await rpc('tasks/get', { taskId: 'x' }, { headers: { 'Mcp-Name': 'y' } });
    expect(mismatch.error?.code).toBe(-32020);
    const call = await rpc(
      'tools/call',
      { name: 'steps', arguments: { count: 1 } },
      { headers: { 'Mcp-Name': 'ask' } },
    );
    expect(call.error?.code).toBe(-32020);
  });

  it('binds a task to its caller: another user or client gets the same -32602 as an unknown id', async () => {
    const created = await rpc('tools/call', { name: 'steps', arguments: { count: 1 } });
    const taskId = String(created.result?.taskId);
    await settled(taskId, terminal);
    const unknown = await rpc('tasks/get', { taskId: 'AAAAAAAAAAAAAAAAAAAAAA' });
    for (const caller of [BOB, ALICE_OTHER_CLIENT]) {
      for (const method of ['tasks/get', 'tasks/cancel']) {
        const reply = await rpc(method, { taskId }, { caller });
        expect(reply.error).toEqual({ ...unknown.error });
      }
      const update = await rpc('tasks/update', { taskId, inputResponses: {} }, { caller });
      expect(update.error?.code).toBe(-32602);
    }
    expect(unknown.error?.code).toBe(-32602);
  });

  it('cancels a running task: the ack is empty, the task reads cancelled, the worker stops the tool', async () => {
    gate.open = false;
    const created = await rpc('tools/call', { name: 'gated', arguments: {} });
    const taskId = String(created.result?.taskId);
    await settled(taskId, (status) => status === 'working');
    const ack = await rpc('tasks/cancel', { taskId });
    expect(ack.result).toEqual({ resultType: 'complete' });
    expect(await settled(taskId, terminal)).toMatchObject({ status: 'cancelled' });
    for (let attempt = 0; attempt < 400 && gate.aborted === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(gate.aborted).toBe(1);
    expect((await rpc('tasks/cancel', { taskId })).result).toEqual({ resultType: 'complete' });
  });

  it('asks a question: input_required with the request, answered by tasks/update, then completed', async () => {
    const created = await rpc('tools/call', { name: 'ask', arguments: {} });
    const taskId = String(created.result?.taskId);
    const waiting = await settled(taskId, (status) => status !== 'working');
    expect(waiting.status).toBe('input_required');
    expect(waiting.inputRequests).toMatchObject({ color: { method: 'elicitation/create' } });
    const ack = await rpc('tasks/update', {
      taskId,
      inputResponses: { color: { action: 'accept', content: { color: 'teal' } } },
    });
    expect(ack.result).toEqual({ resultType: 'complete' });
    const done = await settled(taskId, terminal);
    expect(done).toMatchObject({
      status: 'completed',
      result: { content: [{ type: 'text', text: 'You chose teal.' }] },
    });
  });

  it('refuses a worker event that is not signed with the function key, and runs nothing', async () => {
    const created = await rpc('tools/call', { name: 'gated', arguments: {} });
    const taskId = String(created.result?.taskId);
    await rpc('tasks/cancel', { taskId });
    const forged = { mcpTask: { taskId, round: 1, identity: {}, issuedAt: Date.now() }, mac: 'AAAA' };
    const before = counted.actions.length;
    await handler(forged as never, { awsRequestId: 'forged' });
    expect(counted.actions.length).toBe(before);
  });
});
