/**
 * Durable tasks (the MCP tasks extension):
 * - `tasks/get` latency through the local stack (real `cdk synth`, the local API Gateway and
 *   authorizer, the sample MCP function's bundle in its own process, the task in the local
 *   DynamoDB behind the role checks): a `long_task` task polled one request at a time, medians
 *   and p90, against `tools/list` on the same stack (a request that never touches DynamoDB).
 * - The table operations of one task of 10 progress steps, counted by a loopback proxy in front of
 *   dynalite: the handler in this process, its worker started by the local Lambda endpoint's
 *   asynchronous Invoke, a tool that reports 10 steps 1.1 s apart (the worker writes progress at
 *   most once a second, so each step is one write).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { McpServer } from '@modelcontextprotocol/server';
import { mcpHttpRequest } from '../fixtures/mcp-requests';
import { countingDynamoDbProxy, stateTableSpec } from '../fixtures/dynamodb-counter';
import { startDynalite } from '../local/aws/dynamodb';
import { startLocalLambda } from '../local/aws/lambda';
import { startAuthKitStandIn } from '../local/authkit/launch';
import { startLocalStack } from '../local/stack';
import { createMcpLambdaHandler, type McpLambdaHandler } from '../lambda/runtime/handler';
import { defineTool } from '../lambda/runtime/tool-definition';
import { mcpProxyEvent } from '../fixtures/events';
import { BENCH_AUTHORIZER_CONTEXT, benchClaims, benchSigningJwk, LOAD_THROTTLING, signBenchToken } from './fixtures';
import { type BenchRow, median, percentile } from './harness';

const GROUP = 'durable tasks';
const TASKS = 'io.modelcontextprotocol/tasks';
const POLLS = 40;
const STEPS = 10;
const capabilities = { extensions: { [TASKS]: {} } };

async function timed(url: string, method: string, params: Record<string, unknown>, token: string) {
  const request = mcpHttpRequest(method, params, { era: 'modern', id: 1, token, clientCapabilities: capabilities });
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', ...request });
  const body = (await response.json()) as { result?: Record<string, unknown>; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return { ms: performance.now() - started, result: body.result ?? {} };
}

async function latencyRows(): Promise<BenchRow[]> {
  const standIn = await startAuthKitStandIn({ port: 0, signingKey: benchSigningJwk() });
  const silent = () => undefined;
  const stack = await startLocalStack({
    port: 0,
    authkitDomain: standIn.issuer,
    throttlingLimits: LOAD_THROTTLING,
    log: silent,
    onFunctionOutput: silent,
  }).catch(async (error: unknown) => {
    await standIn.stop();
    throw error;
  });
  try {
    const token = signBenchToken(benchClaims({ iss: standIn.issuer, aud: stack.mcpUrl }));
    const created = await timed(stack.mcpUrl, 'tools/call', { name: 'long_task', arguments: { seconds: 60 } }, token);
    const taskId = String(created.result.taskId);
    const gets: number[] = [];
    const lists: number[] = [];
    for (let i = 0; i < POLLS + 2; i++) {
      const get = await timed(stack.mcpUrl, 'tasks/get', { taskId }, token);
      const list = await timed(stack.mcpUrl, 'tools/list', {}, token);
      if (i >= 2) gets.push(get.ms);
      if (i >= 2) lists.push(list.ms);
    }
    await timed(stack.mcpUrl, 'tasks/cancel', { taskId }, token);
    return [
      {
        group: GROUP,
        name: 'tasks/get through the local stack, median',
        value: median(gets),
        unit: 'ms',
        note: `${POLLS} polls of a working long_task task, p90 ${percentile(gets, 90).toFixed(1)} ms`,
      },
      {
        group: GROUP,
        name: 'tasks/get vs tools/list, medians',
        value: median(gets) / median(lists),
        unit: 'x',
        baseline: `tools/list on the same stack (median ${median(lists).toFixed(1)} ms), interleaved`,
        note: 'the difference is the one strongly consistent GetItem',
      },
    ];
  } finally {
    await stack.stop();
    await standIn.stop();
  }
}

const tenSteps = defineTool('ten_steps', { task: { support: 'required' } }, async (ctx) => {
  const progressToken = ctx.mcpReq._meta?.progressToken ?? 'none';
  for (let step = 1; step <= STEPS; step++) {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await ctx.mcpReq.notify({
      method: 'notifications/progress',
      params: { progressToken, progress: step, total: STEPS },
    });
  }
  return { content: [{ type: 'text', text: 'done' }] };
});

function rpc(handler: McpLambdaHandler, method: string, params: Record<string, unknown>) {
  const { headers, body } = mcpHttpRequest(method, params, { era: 'modern', id: 1, clientCapabilities: capabilities });
  const event = mcpProxyEvent({
    headers: { ...headers, authorization: 'Bearer bench' },
    body,
    authorizer: BENCH_AUTHORIZER_CONTEXT,
  });
  return handler(event).then((result) => (JSON.parse(result.body) as { result: Record<string, unknown> }).result);
}

async function operationRows(): Promise<BenchRow[]> {
  const dynamo = await startDynalite([stateTableSpec('bench-state')]);
  const counted = await countingDynamoDbProxy(dynamo.endpoint);
  let handler: McpLambdaHandler | undefined;
  const lambda = await startLocalLambda({
    functions: () =>
      new Map([
        [
          'bench-mcp',
          {
            functionName: 'bench-mcp',
            arn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-mcp',
            maximumRetryAttempts: 0,
            maximumEventAgeSeconds: 60,
            invoke: async (event: unknown, requestId: string) => ({
              ok: true as const,
              payload: JSON.stringify((await handler?.(event as never, { awsRequestId: requestId })) ?? null),
            }),
          },
        ],
      ]),
    mayInvoke: () => true,
    log: () => undefined,
  });
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_LAMBDA_FUNCTION_NAME: 'bench-mcp',
    AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  });
  try {
    handler = createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), {
      tools: [tenSteps],
      publicBaseUrl: 'https://abc123def4.execute-api.us-east-1.amazonaws.com/prod',
      responseTransferMode: 'buffered',
      requestStateKey: 'b'.repeat(32),
      stateTableName: 'bench-state',
      stateTableClientConfig: {
        endpoint: counted.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
      },
      maxConcurrentRequestsPerCaller: false,
      logger: new Logger({ serviceName: 'bench', logLevel: 'SILENT' }),
    });
    const created = await rpc(handler, 'tools/call', { name: 'ten_steps', arguments: {} });
    const taskId = String(created.taskId);
    let polls = 0;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      polls += 1;
      const task = await rpc(handler, 'tasks/get', { taskId });
      if (task.status !== 'working') break;
    }
    const writes = counted.actions.filter((action) => action === 'PutItem' || action === 'UpdateItem').length;
    const reads = counted.actions.filter((action) => action === 'GetItem').length;
    const other = counted.actions.filter((action) => !['PutItem', 'UpdateItem', 'GetItem'].includes(action));
    return [
      {
        group: GROUP,
        name: `table writes per task of ${STEPS} progress steps`,
        value: writes,
        unit: 'writes',
        note: `PutItem + UpdateItem (create, claim, progress, outcome); ${other.length} other operations (${[...new Set(other)].join(', ') || 'no Query, no Scan'})`,
      },
      {
        group: GROUP,
        name: 'table reads of that task',
        value: reads,
        unit: 'GetItem',
        note: `${polls} tasks/get polls, one a second, one consistent GetItem each`,
      },
    ];
  } finally {
    process.env = saved;
    await lambda.close();
    await counted.close();
    await dynamo.close();
  }
}

export default async function tasksBench(): Promise<BenchRow[]> {
  return [...(await operationRows()), ...(await latencyRows())];
}
