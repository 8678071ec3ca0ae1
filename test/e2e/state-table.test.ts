/**
 * The synthesized local stack serves the construct's state table from a real DynamoDB (dynalite)
 * behind the local endpoint the functions get in AWS_ENDPOINT_URL_DYNAMODB: the table the MCP
 * function's STATE_TABLE_NAME names exists with its keys, the MCP function's key may use it item by
 * item, and what its role does not grant (Scan, DescribeTable, another function's key) is refused.
 */
import {
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';

// Synth and bundling come first: minutes on a busy machine.
jest.setTimeout(300_000);

describe('the state table on the local stack', () => {
  let stack: LocalStack;
  const clients: DynamoDBClient[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, authkitPort: 0, log: (line) => logLines.push(line) });
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await stack?.stop();
  });

  /** The environments of the functions whose environment has (or lacks) STATE_TABLE_NAME. */
  function environments(withTable: boolean): Readonly<Record<string, string>>[] {
    const envs = Object.keys(stack.gateway.stats().functions).map((id) => stack.gateway.functionEnvironment(id) ?? {});
    return envs.filter((candidate) => (candidate.STATE_TABLE_NAME !== undefined) === withTable);
  }

  function environmentOf(withTable: boolean): Readonly<Record<string, string>> {
    const [env] = environments(withTable);
    if (env === undefined) throw new Error(`no function ${withTable ? 'with' : 'without'} STATE_TABLE_NAME`);
    return env;
  }

  function clientAs(env: Readonly<Record<string, string>>): DynamoDBClient {
    const client = new DynamoDBClient({
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
    });
    clients.push(client);
    return client;
  }

  it("lets the MCP function's key write, query and delete items of the table its environment names", async () => {
    const env = environmentOf(true);
    const mcp = clientAs(env);
    const TableName = env.STATE_TABLE_NAME;
    const key = { pk: { S: 'caller#e2e' }, sk: { S: 'lease#0' } };

    await mcp.send(new PutItemCommand({ TableName, Item: { ...key, leaseId: { S: 'e2e' } } }));
    const queried = await mcp.send(
      new QueryCommand({
        TableName,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :lease)',
        ExpressionAttributeValues: { ':pk': key.pk, ':lease': { S: 'lease#' } },
      }),
    );
    await mcp.send(new DeleteItemCommand({ TableName, Key: key, ConditionExpression: 'attribute_exists(pk)' }));

    expect(env.AWS_ENDPOINT_URL_DYNAMODB).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(logLines).toContainEqual(expect.stringContaining(`DynamoDB table ${TableName}: in memory (dynalite)`));
    expect(queried.Items).toEqual([{ ...key, leaseId: { S: 'e2e' } }]);
  });

  it("refuses the MCP function's key what its role does not grant: Scan and DescribeTable", async () => {
    const env = environmentOf(true);
    const mcp = clientAs(env);

    await expect(mcp.send(new ScanCommand({ TableName: env.STATE_TABLE_NAME }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(mcp.send(new DescribeTableCommand({ TableName: env.STATE_TABLE_NAME }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it("refuses the table to every other function's key (the authorizer's and the metadata function's)", async () => {
    const { STATE_TABLE_NAME: tableName, AWS_ENDPOINT_URL_DYNAMODB: endpoint } = environmentOf(true);
    const others = environments(false);

    const outcomes = await Promise.allSettled(
      others.map((env) =>
        clientAs({ ...env, AWS_ENDPOINT_URL_DYNAMODB: endpoint }).send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: 'caller#e2e' } },
          }),
        ),
      ),
    );

    expect(others).toHaveLength(2);
    for (const outcome of outcomes)
      expect(outcome).toMatchObject({ status: 'rejected', reason: { name: 'AccessDeniedException' } });
  });
});
