/**
 * A local DynamoDB for the functions of the local stack: `dynalite` (a DynamoDB implementation,
 * in memory) holding the template's tables, behind an endpoint that checks each call against the
 * calling function's role as IAM would. The AWS SDK in a function reaches it through
 * `AWS_ENDPOINT_URL_DYNAMODB`. Each function signs with its own local access key id; the endpoint
 * reads the action from `X-Amz-Target` (`DynamoDB_20120810.<Action>`) and the tables from the
 * body, and answers DynamoDB's `AccessDeniedException` when the role may not call
 * `dynamodb:<Action>` on every table named (actions that name no table, such as ListTables, are
 * checked against `*`, as IAM does). Request signatures are not verified (the keys are local).
 * dynalite does not run TTL; expired items stay until deleted, as they may on AWS.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

/** A table as the template declares it. */
export interface LocalTable {
  /** The physical name the functions are given (`Ref`). */
  readonly name: string;
  readonly arn: string;
  readonly keySchema: readonly { readonly AttributeName: string; readonly KeyType: 'HASH' | 'RANGE' }[];
  readonly attributeDefinitions: readonly { readonly AttributeName: string; readonly AttributeType: 'S' | 'N' | 'B' }[];
}

/** Whether the function that signs with `accessKeyId` may call `action` (`dynamodb:PutItem`) on `resourceArn`. */
export type TableAccessCheck = (accessKeyId: string | undefined, action: string, resourceArn: string) => boolean;

export interface RunningDynamoDb {
  /** e.g. `http://127.0.0.1:49152`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';

/** dynalite on loopback with `tables` created and active; no access checks. */
export async function startDynalite(tables: readonly LocalTable[]): Promise<RunningDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    for (const table of tables) await createTable(client, table);
  } finally {
    client.destroy();
  }
  return { endpoint, close: () => closeServer(server) };
}

async function createTable(client: DynamoDBClient, table: LocalTable): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: table.name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [...table.keySchema],
      AttributeDefinitions: [...table.attributeDefinitions],
    }),
  );
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table.name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The tables a DynamoDB request body names: `TableName`, or those of a batch or transaction. */
export function tablesOfRequest(body: Record<string, unknown>): string[] {
  const names = new Set<string>();
  if (typeof body.TableName === 'string') names.add(body.TableName);
  const batch = body.RequestItems;
  if (batch !== null && typeof batch === 'object') for (const name of Object.keys(batch)) names.add(name);
  for (const item of Array.isArray(body.TransactItems) ? body.TransactItems : []) {
    for (const operation of Object.values((item ?? {}) as Record<string, { TableName?: unknown }>)) {
      if (typeof operation?.TableName === 'string') names.add(operation.TableName);
    }
  }
  return [...names];
}

/**
 * dynalite with `tables`, behind an endpoint that lets a call through only when `mayAccess`
 * allows its action on every table it names.
 */
export async function startLocalDynamoDb(
  tables: readonly LocalTable[],
  mayAccess: TableAccessCheck,
  region: string,
  accountId: string,
): Promise<RunningDynamoDb> {
  const backend = await startDynalite(tables);
  const arnOf = (name: string): string =>
    tables.find((t) => t.name === name)?.arn ?? `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await bodyOf(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith(TARGET_PREFIX) ? `dynamodb:${target.slice(TARGET_PREFIX.length)}` : undefined;
      const names = tablesOfRequest(parseObject(raw));
      const resources = names.length === 0 ? ['*'] : names.map(arnOf);
      const accessKeyId = /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
      const denied = resources.find((arn) => action === undefined || !mayAccess(accessKeyId, action, arn));
      if (denied !== undefined)
        return accessDenied(res, accessKeyId, action ?? (target || 'an unknown action'), denied);
      await forward(backend.endpoint, req, raw, res);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(error) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      await closeServer(server);
      await backend.close();
    },
  };
}

function accessDenied(res: http.ServerResponse, accessKeyId: string | undefined, action: string, arn: string): void {
  const message = `User: ${accessKeyId ?? 'anonymous'} is not authorized to perform: ${action} on resource: ${arn} because no identity-based policy allows the ${action} action`;
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message, Message: message }));
}

async function bodyOf(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseObject(raw: Buffer): Record<string, unknown> {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Passes the checked request to dynalite as it came, and its answer back. */
async function forward(endpoint: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string' && name !== 'host' && name !== 'content-length' && name !== 'connection')
      headers[name] = value;
  }
  const answer = await fetch(endpoint, { method: req.method ?? 'POST', headers, body: new Uint8Array(body) });
  const answerHeaders: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'content-encoding' && name !== 'connection') answerHeaders[name] = value;
  });
  res.writeHead(answer.status, answerHeaders);
  res.end(Buffer.from(await answer.arrayBuffer()));
}
