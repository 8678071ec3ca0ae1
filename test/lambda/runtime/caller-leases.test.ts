/**
 * Per-caller leases against a real DynamoDB implementation (dynalite, started here): the limit,
 * the refusal, release, expiry of a dead instance's lease, zombies, concurrent instances, and
 * DynamoDB out of reach.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  type CallerLease,
  callerPartitionKey,
  type CallerLeasesOptions,
  createCallerLeases,
  type LeaseAcquisition,
  MAX_RETRY_AFTER_SECONDS,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from '../../../lambda/runtime/caller-leases';
import { stateTableSpec } from '../../../fixtures/dynamodb-counter';
import { type RunningDynamoDb, startDynalite } from '../../../local/aws/dynamodb';

const TABLE = 'mcp-state';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const alice = { sub: 'user_alice', clientId: 'client_1' };
const bob = { sub: 'user_bob', clientId: 'client_1' };
const MINUTE = 60_000;

let dynamo: RunningDynamoDb;
let raw: DynamoDBClient;
let table = 0;

beforeAll(async () => {
  const tables = Array.from({ length: 12 }, (_, i) => stateTableSpec(`${TABLE}-${i}`));
  dynamo = await startDynalite(tables);
  raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  raw.destroy();
  await dynamo.close();
});

/** A fresh table per test, so no test sees another's leases. */
let tableName = '';
beforeEach(() => {
  tableName = `${TABLE}-${table++}`;
});

/** One "container": its own store and client, sharing the table. */
function container(options: Partial<CallerLeasesOptions> = {}) {
  const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
  const leases = createCallerLeases({
    tableName,
    limit: 3,
    clientConfig: { endpoint: dynamo.endpoint, region: 'us-east-1', credentials },
    logger: { warn: (message, attributes) => warnings.push({ message, attributes }) },
    ...options,
  });
  return { leases, warnings };
}

function held(result: LeaseAcquisition): CallerLease {
  if (result.kind !== 'held') throw new Error(`expected a lease, got ${JSON.stringify(result)}`);
  return result.lease;
}

async function leaseItems(caller = alice) {
  const { Items } = await raw.send(
    new QueryCommand({
      TableName: tableName,
      ConsistentRead: true,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: callerPartitionKey(caller) } },
    }),
  );
  return Items ?? [];
}

describe('caller leases', () => {
  it('grants leases up to the limit, on distinct slots, and refuses the next with a retry-after', async () => {
    const { leases } = container();
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(held(await leases.acquire(alice, MINUTE)));
    expect(new Set(taken.map((lease) => lease.slot))).toEqual(new Set([0, 1, 2]));

    const refused = await leases.acquire(alice, MINUTE);

    // Every lease expires about a minute from now: longer than the cap, so the cap is what a client is told.
    expect(refused).toEqual({ kind: 'limit-reached', limit: 3, held: 3, retryAfterSeconds: MAX_RETRY_AFTER_SECONDS });
    expect(await leaseItems()).toHaveLength(3);
  });

  it('tells a refused caller when the earliest lease expires, when that is sooner than the cap', async () => {
    const clock = { now: 1_700_000_000_000 };
    const { leases } = container({ limit: 2, now: () => clock.now, expiryMarginSeconds: 2 });
    const first = held(await leases.acquire(alice, 4_000));
    held(await leases.acquire(alice, MINUTE));

    const refused = await leases.acquire(alice, MINUTE);

    expect(first.expiresAt).toBe(1_700_000_000 + 4 + 2);
    expect(refused).toMatchObject({ kind: 'limit-reached', retryAfterSeconds: 4 + 2 + 1 });
  });

  it('keeps items free of identity text: the key is a hash, and only lease fields are stored', async () => {
    const { leases } = container();
    held(await leases.acquire(alice, MINUTE));

    const [item] = await leaseItems();

    expect(item.pk.S).toMatch(/^caller#[0-9a-f]{64}$/);
    expect(item.sk.S).toMatch(/^lease#\d+$/);
    expect(Object.keys(item).sort()).toEqual(['expiresAt', 'leaseId', 'pk', 'sk', 'ttl']);
    expect(item.ttl.N).toBe(item.expiresAt.N);
    expect(JSON.stringify(item)).not.toMatch(/alice|client_1/);
  });

  it('does not count one caller against another, nor the same user through another client', async () => {
    const { leases } = container({ limit: 1 });
    held(await leases.acquire(alice, MINUTE));
    expect((await leases.acquire(alice, MINUTE)).kind).toBe('limit-reached');

    expect((await leases.acquire(bob, MINUTE)).kind).toBe('held');
    expect((await leases.acquire({ ...alice, clientId: 'client_2' }, MINUTE)).kind).toBe('held');
  });

  it('frees a slot on release, and a second release of the same lease changes nothing', async () => {
    const { leases } = container({ limit: 1 });
    const lease = held(await leases.acquire(alice, MINUTE));

    expect(await lease.release()).toBe('released');
    const next = held(await leases.acquire(alice, MINUTE));
    expect(await lease.release()).toBe('released');

    // The second release did not delete the slot's new holder.
    expect((await leases.acquire(alice, MINUTE)).kind).toBe('limit-reached');
    expect(await next.release()).toBe('released');
    expect(await leaseItems()).toHaveLength(0);
  });

  it("takes over a killed instance's lease once it expires, and that instance's late release leaves the new holder alone", async () => {
    const clock = { now: 1_700_000_000_000 };
    const killed = container({ limit: 1, now: () => clock.now, expiryMarginSeconds: 1 });
    const survivor = container({ limit: 1, now: () => clock.now, expiryMarginSeconds: 1 });
    const zombie = held(await killed.leases.acquire(alice, 2_000));
    expect((await survivor.leases.acquire(alice, 2_000)).kind).toBe('limit-reached');

    clock.now += 2_000 + 1_000 + 1_000; // the request's deadline, the margin, and past it
    const takeover = held(await survivor.leases.acquire(alice, MINUTE));
    const zombieRelease = await zombie.release();

    expect(takeover.slot).toBe(zombie.slot);
    expect(zombieRelease).toBe('not-held');
    expect(killed.warnings).toEqual([
      expect.objectContaining({
        message: 'caller lease already gone',
        attributes: expect.objectContaining({ slot: 0 }),
      }),
    ]);
    const { Item } = await raw.send(
      new GetItemCommand({
        TableName: tableName,
        ConsistentRead: true,
        Key: { pk: { S: callerPartitionKey(alice) }, sk: { S: 'lease#0' } },
      }),
    );
    expect(Item?.leaseId?.S).toBe(takeover.leaseId);
  });

  it('counts leases on slots above a lowered limit, and refuses until they end', async () => {
    const before = container({ limit: 3 });
    const leases = [];
    for (let i = 0; i < 3; i++) leases.push(held(await before.leases.acquire(alice, MINUTE)));
    await leases.find((lease) => lease.slot === 0)?.release();

    const after = container({ limit: 2 });

    expect(await after.leases.acquire(alice, MINUTE)).toMatchObject({ kind: 'limit-reached', held: 2 });
  });

  it('never lets two containers racing for the same caller hold more than the limit', async () => {
    const limit = 5;
    // dynalite serialises writes: sixteen at once on a busy machine may take longer than the production bound.
    const one = container({ limit, timeoutMs: 20_000 });
    const two = container({ limit, timeoutMs: 20_000 });
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? one : two).leases.acquire(alice, MINUTE)),
      );
      const granted = results.flatMap((r) => (r.kind === 'held' ? [r.lease] : []));
      const refused = results.filter((r) => r.kind === 'limit-reached');

      expect(granted.length).toBeLessThanOrEqual(limit);
      expect(granted.length).toBeGreaterThan(0);
      expect(granted.length + refused.length).toBe(results.length);
      expect(new Set(granted.map((lease) => lease.slot)).size).toBe(granted.length);
      expect(await leaseItems()).toHaveLength(granted.length);
      await Promise.all(granted.map((lease) => lease.release()));
      expect(await leaseItems()).toHaveLength(0);
    }
  });

  it('refuses (fails closed) with a retryable answer when nothing listens at the endpoint', async () => {
    const port = await freePort();
    const { leases, warnings } = container({
      clientConfig: { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials },
    });

    const result = await leases.acquire(alice, MINUTE);

    expect(result).toMatchObject({ kind: 'unavailable', retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS });
    expect(warnings[0]).toMatchObject({ message: 'caller lease unavailable' });
  });

  it('gives up within its time bound and refuses when DynamoDB accepts connections but never answers', async () => {
    const silent = await silentServer();
    try {
      const { leases } = container({
        timeoutMs: 200,
        clientConfig: { endpoint: silent.endpoint, region: 'us-east-1', credentials },
      });

      const result = await leases.acquire(alice, MINUTE);

      expect(result.kind).toBe('unavailable');
      expect(result.kind === 'unavailable' && result.reason).toMatch(/could not be read or written/);
    } finally {
      await silent.close();
    }
  });

  it('reports a release whose lease is already gone as not held', async () => {
    const { leases } = container();
    const lease = held(await leases.acquire(alice, MINUTE));
    await raw.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { pk: { S: callerPartitionKey(alice) }, sk: { S: `lease#${lease.slot}` } },
      }),
    );

    expect(await lease.release()).toBe('not-held');
  });

  it('does not throw when DynamoDB goes out of reach before a release: it reports a failure and the lease expires', async () => {
    const link = await cuttableLink(dynamo.endpoint);
    try {
      const { leases, warnings } = container({
        timeoutMs: 300,
        clientConfig: { endpoint: link.endpoint, region: 'us-east-1', credentials },
      });
      const lease = held(await leases.acquire(alice, MINUTE));

      link.cut();
      const outcome = await lease.release();

      expect(outcome).toBe('failed');
      expect(warnings).toEqual([
        expect.objectContaining({
          message: 'caller lease not released',
          attributes: expect.objectContaining({ reason: expect.stringMatching(/expire by itself/) }),
        }),
      ]);
      expect(await leaseItems()).toHaveLength(1);
    } finally {
      await link.close();
    }
  });

  it('refuses a limit below 1 when it is built', () => {
    expect(() => container({ limit: 0 })).toThrow(/at least 1/);
  });
});

/** A TCP link to `endpoint` that can be cut: after `cut`, it accepts connections and never answers. */
async function cuttableLink(endpoint: string): Promise<{ endpoint: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(endpoint);
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!open) return;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      open = false;
      destroyAll();
    },
    close: () => {
      destroyAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
