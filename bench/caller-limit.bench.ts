/**
 * What the per-caller limit adds to a request. A held request (a `tools/call` of `format_json`
 * declared long-running, so the tool itself costs almost nothing and the lease is most of what
 * differs) through the MCP handler in process with the limit on, its leases in dynalite on
 * loopback, against the same handler with the limit off, in interleaved rounds (A B A B ...),
 * medians. Also counted, at a proxy in front of dynalite: the DynamoDB requests of one held
 * request, and of short calls (which must make none).
 *
 * The same request through the local stack is caller-limit-stack.bench.ts. On AWS the lease's three
 * DynamoDB calls are network round trips of single-digit milliseconds each; here they are loopback
 * HTTP to dynalite.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { countingDynamoDbProxy, stateTableSpec } from '../fixtures/dynamodb-counter';
import { mcpHttpRequest } from '../fixtures/mcp-requests';
import type { ProxyResult } from '../lambda/runtime/adapter';
import { createMcpLambdaHandler, type McpLambdaHandler } from '../lambda/runtime/handler';
import type { ToolDefinition } from '../lambda/runtime/tool-definition';
import { createSampleServer, SAMPLE_TOOLS } from '../lambda/mcp/server';
import { startDynalite } from '../local/aws/dynamodb';
import { BENCH_BASE_URL, FORMAT_JSON_ARGS, mcpRequestEvent, signBenchToken } from './fixtures';
import type { BenchRow } from './harness';
import { median } from './harness';

const GROUP = 'per-caller limit';
const ROUNDS = 101;
const WARMUP = 10;
const SHORT_CALLS = 50;
const TABLE = 'bench-state';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/** The sample's tools with `name` declared long-running, so that a call of it takes its lease before it runs. */
function declaredLongRunning(name: string): (tool: ToolDefinition) => ToolDefinition {
  return (tool) => (tool.name === name ? { ...tool, policy: { ...tool.policy, longRunning: true } } : tool);
}

function handlerWith(limit: number | false, endpoint: string, heldTool: boolean): McpLambdaHandler {
  return createMcpLambdaHandler(createSampleServer, {
    publicBaseUrl: BENCH_BASE_URL,
    logger: new Logger({ logLevel: 'SILENT' }),
    responseTransferMode: 'buffered',
    stateTableName: TABLE,
    maxConcurrentRequestsPerCaller: limit,
    stateTableClientConfig: { endpoint, region: 'us-east-1', credentials },
    tools: heldTool ? SAMPLE_TOOLS.map(declaredLongRunning('format_json')) : SAMPLE_TOOLS,
  });
}

/** The lease's three calls made directly with the SDK: what dynalite itself takes for them. */
function rawLeaseCalls(client: DynamoDBClient): () => Promise<void> {
  const key = { pk: { S: 'caller#raw' }, sk: { S: 'lease#0' } };
  return async () => {
    await client.send(
      new QueryCommand({
        TableName: TABLE,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': key.pk },
      }),
    );
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key, leaseId: { S: 'raw' } } }));
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: key }));
  };
}

async function elapsedMs(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export default async function callerLimitBench(): Promise<BenchRow[]> {
  const dynamo = await startDynalite([stateTableSpec(TABLE)]);
  const proxy = await countingDynamoDbProxy(dynamo.endpoint);
  try {
    const request = mcpHttpRequest(
      'tools/call',
      { name: 'format_json', arguments: FORMAT_JSON_ARGS },
      { era: 'modern', id: 2, token: signBenchToken(), clientName: 'bench' },
    );
    const call = async (handler: McpLambdaHandler) => {
      const result = (await handler(mcpRequestEvent(request), {
        awsRequestId: 'bench',
        getRemainingTimeInMillis: () => 28_000,
      })) as ProxyResult;
      if (result.statusCode !== 200) throw new Error(`bench request failed: ${result.statusCode} ${result.body}`);
    };
    // Timed straight against dynalite; counted through the proxy, which adds a hop of its own.
    const on = handlerWith(10, dynamo.endpoint, true);
    const off = handlerWith(false, dynamo.endpoint, true);
    const counted = handlerWith(10, proxy.endpoint, true);
    const short = handlerWith(10, proxy.endpoint, false);

    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
    const raw = rawLeaseCalls(client);

    for (let i = 0; i < WARMUP; i += 1) await Promise.all([call(on), call(off), raw()]);
    proxy.actions.length = 0;
    await call(counted);
    const perHeld = [...proxy.actions];

    const withLimit: number[] = [];
    const without: number[] = [];
    const store: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      withLimit.push(await elapsedMs(() => call(on)));
      without.push(await elapsedMs(() => call(off)));
      store.push(await elapsedMs(raw));
    }
    client.destroy();

    proxy.actions.length = 0;
    for (let i = 0; i < SHORT_CALLS; i += 1) await call(short);
    const shortActions = proxy.actions.length;

    const onMedian = median(withLimit);
    const offMedian = median(without);
    return [
      {
        group: GROUP,
        name: 'held request (long-running tools/call), limit on, median',
        value: onMedian,
        unit: 'ms',
        note: `in process, leases in dynalite on loopback, ${ROUNDS} interleaved rounds`,
      },
      { group: GROUP, name: 'the same request, limit off, median', value: offMedian, unit: 'ms' },
      {
        group: GROUP,
        name: 'held request: limit on vs off',
        value: onMedian / offMedian,
        unit: 'x',
        baseline: 'the same handler with maxConcurrentRequestsPerCaller off',
        note: `+${(onMedian - offMedian).toFixed(2)} ms per held request`,
      },
      {
        group: GROUP,
        name: 'Query + PutItem + DeleteItem straight to dynalite, median',
        value: median(store),
        unit: 'ms',
        note: 'what the local DynamoDB itself takes for the three calls a lease makes',
      },
      {
        group: GROUP,
        name: 'DynamoDB requests per held request',
        value: perHeld.length,
        unit: 'requests',
        note: perHeld.join(', '),
      },
      {
        group: GROUP,
        name: 'DynamoDB requests per short call (under the grace period)',
        value: shortActions / SHORT_CALLS,
        unit: 'requests',
        target: { max: 0 },
        note: `${SHORT_CALLS} calls, limit on`,
      },
    ];
  } finally {
    await proxy.close();
    await dynamo.close();
  }
}
