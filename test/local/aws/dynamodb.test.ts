/**
 * The local DynamoDB checks every call as IAM would, from the roles of a real synthesized
 * template: a function whose role allows an action on a table may call it there, any other call
 * gets DynamoDB's AccessDeniedException. The tables and grants are read by the same code the
 * local gateway uses (local/gateway/tables.ts, role-grants.ts), and the data lives in dynalite.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type RunningDynamoDb, startLocalDynamoDb, tablesOfRequest } from '../../../local/aws/dynamodb';
import { localAccessKeyId } from '../../../local/gateway/aws-services';
import { UnsupportedFeatureError } from '../../../local/gateway/errors';
import { roleGrantsOf } from '../../../local/gateway/role-grants';
import { tablesOf } from '../../../local/gateway/tables';
import { defined } from '../../../fixtures/defined';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];

function synth() {
  const stack = new Stack(new App(), 'TablesFixture');
  const state = new dynamodb.Table(stack, 'State', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const other = new dynamodb.Table(stack, 'Other', {
    partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const code = lambda.Code.fromInline('exports.handler = async () => ({})');
  const fn = (id: string) =>
    new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code });
  const user = fn('User');
  fn('Bystander');
  const denied = fn('Denied');
  for (const grantee of [user, denied])
    iam.Grant.addToPrincipal({ grantee, actions: ITEM_ACTIONS, resourceArns: [state.tableArn] });
  denied.addToRolePolicy(
    new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['dynamodb:PutItem'], resources: [state.tableArn] }),
  );
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const idOf = (type: string, prefix: string) =>
    defined(
      Object.keys(resources).find((id) => resources[id].Type === type && id.startsWith(prefix)),
      `a ${type} named ${prefix}...`,
    );
  return {
    resources,
    tableIds: [idOf('AWS::DynamoDB::Table', 'State'), idOf('AWS::DynamoDB::Table', 'Other')],
    otherName: () => other.tableName,
    fn: {
      user: idOf('AWS::Lambda::Function', 'User'),
      bystander: idOf('AWS::Lambda::Function', 'Bystander'),
      denied: idOf('AWS::Lambda::Function', 'Denied'),
    },
  };
}

const { resources, tableIds, fn } = synth();
const names = {
  tableName: (logicalId: string) => `TablesFixture-${logicalId}-LOCAL`,
  tableArn: (logicalId: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/TablesFixture-${logicalId}-LOCAL`,
};
// The template's grants name a table by `Fn::GetAtt [table, Arn]`; no other intrinsic needs resolving here.
const resolve = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt?.[1] === 'Arn' && resources[getAtt[0]]?.Type === 'AWS::DynamoDB::Table') return names.tableArn(getAtt[0]);
  if (Object.keys(value).some((k) => k === 'Ref' || k.startsWith('Fn::'))) throw new Error('not resolvable here');
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
};
const [stateTable, otherTable] = tableIds.map(names.tableName);

describe('the local DynamoDB, as each function role sees it', () => {
  let dynamo: RunningDynamoDb;
  const clients: DynamoDBClient[] = [];
  const clientOf = (functionLogicalId: string | undefined) => {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: functionLogicalId === undefined ? 'ASIASTRANGER' : localAccessKeyId(functionLogicalId),
        secretAccessKey: 'local',
      },
    });
    clients.push(client);
    return client;
  };
  const key = { pk: { S: 'caller#abc' }, sk: { S: 'lease#0' } };

  beforeAll(async () => {
    const grants = roleGrantsOf(resources, Object.values(fn), 'dynamodb', resolve);
    const owners = new Map(Object.values(fn).map((id) => [localAccessKeyId(id), id]));
    dynamo = await startLocalDynamoDb(
      tablesOf(resources, names, resolve),
      (accessKeyId, action, arn) => {
        const owner = accessKeyId === undefined ? undefined : owners.get(accessKeyId);
        return owner !== undefined && grants.mayAccess(owner, action, arn);
      },
      'us-east-1',
      '000000000000',
    );
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await dynamo?.close();
  });

  it('lets a role granted item actions on the table put, query, get and delete there', async () => {
    const user = clientOf(fn.user);

    await user.send(new PutItemCommand({ TableName: stateTable, Item: { ...key, leaseId: { S: 'one' } } }));
    const queried = await user.send(
      new QueryCommand({
        TableName: stateTable,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': key.pk },
      }),
    );
    const got = await user.send(new GetItemCommand({ TableName: stateTable, Key: key, ConsistentRead: true }));
    await user.send(new DeleteItemCommand({ TableName: stateTable, Key: key }));
    const gone = await user.send(new GetItemCommand({ TableName: stateTable, Key: key, ConsistentRead: true }));

    expect(queried.Items?.map((item) => item.leaseId.S)).toEqual(['one']);
    expect(got.Item?.leaseId.S).toBe('one');
    expect(gone.Item).toBeUndefined();
  });

  it.each([
    ['a role with no grant on the table', () => fn.bystander, stateTable, 'dynamodb:PutItem'],
    ['a role that denies what another statement allows', () => fn.denied, stateTable, 'dynamodb:PutItem'],
    ['a granted role, on another table', () => fn.user, otherTable, 'dynamodb:PutItem'],
    ['an access key of no function', () => undefined, stateTable, 'dynamodb:PutItem'],
  ])('refuses PutItem to %s with AccessDeniedException', async (_, who, tableName, action) => {
    const item = tableName === stateTable ? key : { id: { S: 'x' } };

    const refused = clientOf(who()).send(new PutItemCommand({ TableName: tableName, Item: item }));

    await expect(refused).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `${action} on resource: arn:aws:dynamodb:us-east-1:000000000000:table/${tableName}`,
      ),
    });
  });

  it('refuses Scan, ListTables and batch writes to a role granted only item actions', async () => {
    const user = clientOf(fn.user);

    await expect(user.send(new ScanCommand({ TableName: stateTable }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('dynamodb:Scan'),
    });
    await expect(user.send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('dynamodb:ListTables on resource: *'),
    });
    await expect(
      user.send(new BatchWriteItemCommand({ RequestItems: { [stateTable]: [{ PutRequest: { Item: key } }] } })),
    ).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('lets the denied role do what is allowed and not denied', async () => {
    const denied = clientOf(fn.denied);

    const queried = await denied.send(
      new QueryCommand({
        TableName: stateTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'nobody' } },
      }),
    );

    expect(queried.Items).toEqual([]);
  });
});

describe('what the local DynamoDB reads from the template and from a request', () => {
  it('creates each table under its physical name with its key schema, key attributes only', () => {
    expect(tablesOf(resources, names, resolve)).toEqual([
      {
        name: stateTable,
        arn: names.tableArn(tableIds[0]),
        keySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        attributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      },
      expect.objectContaining({ name: otherTable, keySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }),
    ]);
  });

  it('refuses at start a table with an index, which the local DynamoDB does not create', () => {
    const withIndex = {
      T: { Type: 'AWS::DynamoDB::Table', Properties: { GlobalSecondaryIndexes: [{ IndexName: 'byOwner' }] } },
    };

    expect(() => tablesOf(withIndex, names, resolve)).toThrow(UnsupportedFeatureError);
  });

  it('finds every table a request names: TableName, batch items and transaction items', () => {
    expect(tablesOfRequest({ TableName: 'a' })).toEqual(['a']);
    expect(tablesOfRequest({ RequestItems: { a: [], b: [] } })).toEqual(['a', 'b']);
    expect(
      tablesOfRequest({ TransactItems: [{ Put: { TableName: 'a' } }, { ConditionCheck: { TableName: 'c' } }] }),
    ).toEqual(['a', 'c']);
    expect(tablesOfRequest({})).toEqual([]);
  });
});
