/**
 * Per-caller leases on held MCP requests, counted in DynamoDB so the limit holds across every
 * Lambda instance: a caller (`sub` + `client_id`) holds at most `limit` requests at once, each
 * with a lease it releases when the request ends, and that expires by itself when the instance
 * holding it dies (a killed instance never releases anything).
 *
 * Items (one table, shared later with other kinds of state; every key says what the item is):
 *
 * | pk | sk | attributes |
 * | --- | --- | --- |
 * | `caller#<sha256 hex>` | `lease#<slot>` (slot 0 to limit−1) | `leaseId` (random), `expiresAt` (epoch s), `ttl` (epoch s) |
 *
 * The hash is SHA-256 of the JSON array `[sub, client_id]` (unambiguous, whatever either holds):
 * no identity text sits in a key or a log line. It pseudonymises, it does not hide: whoever reads
 * the table and knows a user id can recompute the key. Other kinds (MCP tasks) take their own pk
 * prefix (`task#...`); a lease query reads only `sk` beginning with `lease#`.
 *
 * Acquire: one strongly consistent Query of the caller's lease items, then a conditional PutItem
 * on a slot that is absent or expired (`attribute_not_exists(pk) OR expiresAt < :now`). The
 * condition is what guarantees the limit; the Query only finds a candidate. A lost race (another
 * request took the slot between the two) tries another free slot of the same answer, then queries
 * again, a bounded number of times. A lease expires at the request's own deadline (the function's
 * remaining time, which the caller passes in) plus a margin for clock skew between instances; an
 * expired lease is free whether or not DynamoDB's TTL has deleted it yet (TTL deletes lazily,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html), so `ttl` only
 * keeps the table small.
 *
 * Release: DeleteItem on the slot with `leaseId = :mine`, so a request whose lease expired and was
 * taken over (a zombie) never deletes the new holder's lease. Release never throws: a lease it
 * cannot delete expires by itself, and the reason is logged.
 *
 * Costs per held request: one Query (1 read request unit: the caller's few lease items are far
 * under 4 KB), one PutItem and one DeleteItem (1 write request unit each, items under 1 KB), plus
 * one PutItem per lost race. No Scan, ever.
 *
 * DynamoDB unreachable or slow: the whole acquire is bounded (1 s by default) and then fails
 * closed, with a retryable answer (`unavailable`, `retryAfterSeconds`). Failing open would drop
 * the limit exactly when a flood of held requests may be what slows DynamoDB's callers down, and
 * the limit is the only thing keeping one caller from taking every reserved execution; failing
 * closed refuses held requests for the length of an outage, which a client retries. The caller of
 * this module decides which requests need a lease at all, so requests that hold nothing need not
 * depend on DynamoDB.
 */
import { createHash, randomUUID } from 'node:crypto';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';

/** Who a lease counts against: the token's `sub` and the OAuth client that asked for it. */
export interface LeaseCaller {
  readonly sub: string;
  readonly clientId: string;
}

/** Where the warnings about leases go: the Powertools Logger fits. */
export interface LeaseLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface CallerLeasesOptions {
  /** The table (`pk`, `sk` string keys). */
  readonly tableName: string;
  /** Most requests one caller may hold at once (1 or more). */
  readonly limit: number;
  /**
   * Options of the DynamoDB client (endpoint, region, credentials); unset, the Lambda environment's.
   * `maxAttempts` and the request timeouts are this module's unless given.
   */
  readonly clientConfig?: DynamoDb.DynamoDBClientConfig;
  /** The clock, in epoch milliseconds. */
  readonly now?: () => number;
  /** Longest time one acquire (or release) may take before it gives up; 1000 ms by default. */
  readonly timeoutMs?: number;
  /** Seconds a lease outlives its request's deadline, for clock skew between instances; 5 by default. */
  readonly expiryMarginSeconds?: number;
  /** Queries one acquire may make when it keeps losing races for free slots; 3 by default. */
  readonly maxRounds?: number;
  readonly logger?: LeaseLogger;
}

/** How a release ended: deleted, already gone (released before, or taken over after expiry), or failed (it will expire). */
export type ReleaseOutcome = 'released' | 'not-held' | 'failed';

/** A held slot. `release` is idempotent and never rejects. */
export interface CallerLease {
  readonly slot: number;
  readonly leaseId: string;
  /** Epoch seconds after which another request may take the slot. */
  readonly expiresAt: number;
  release(): Promise<ReleaseOutcome>;
}

export type LeaseAcquisition =
  | { readonly kind: 'held'; readonly lease: CallerLease }
  /** The caller holds `limit` requests already; one of them frees a slot by `retryAfterSeconds` at the latest (capped). */
  | {
      readonly kind: 'limit-reached';
      readonly limit: number;
      readonly held: number;
      readonly retryAfterSeconds: number;
    }
  /** DynamoDB did not answer in time or failed: refused (fail closed), worth retrying. */
  | { readonly kind: 'unavailable'; readonly retryAfterSeconds: number; readonly reason: string };

export interface CallerLeases {
  /**
   * A lease for one request of `caller` that may run `holdForMs` more milliseconds (in Lambda,
   * `context.getRemainingTimeInMillis()`). Never rejects.
   */
  acquire(caller: LeaseCaller, holdForMs: number): Promise<LeaseAcquisition>;
}

/** The partition of a caller's leases: `caller#` and the SHA-256 of `[sub, clientId]`. */
export function callerPartitionKey(caller: LeaseCaller): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([caller.sub, caller.clientId]))
    .digest('hex');
  return `caller#${digest}`;
}

export const LEASE_SORT_KEY_PREFIX = 'lease#';
const leaseSortKey = (slot: number): string => `${LEASE_SORT_KEY_PREFIX}${slot}`;

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_EXPIRY_MARGIN_SECONDS = 5;
const DEFAULT_MAX_ROUNDS = 3;
/** Free slots one round tries before it reads the caller's leases again. */
const PUTS_PER_ROUND = 3;
/** A held lease usually ends long before it expires: a client told more than this would wait for nothing. */
export const MAX_RETRY_AFTER_SECONDS = 30;
/** What a client is told to wait when DynamoDB failed. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

type Sdk = typeof DynamoDb;
const sdkModule = (): Sdk => require('@aws-sdk/client-dynamodb') as Sdk;
interface Store {
  readonly sdk: Sdk;
  readonly client: DynamoDb.DynamoDBClient;
}

/** A slot the caller holds now (taken, unexpired) per the Query; the rest of 0..limit−1 is free. */
interface HeldSlot {
  readonly slot: number;
  readonly expiresAt: number;
}

export function createCallerLeases(options: CallerLeasesOptions): CallerLeases {
  if (!Number.isSafeInteger(options.limit) || options.limit < 1)
    throw new RangeError(`The per-caller limit must be a whole number of at least 1, got ${options.limit}.`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let store: Promise<Store> | undefined;
  // The SDK is loaded on the first lease, not at cold start: a function that never leases never pays
  // for it. With require, not import(): the bundle is CommonJS and keeps the SDK external, and an ES
  // import() of a bare name does not search NODE_PATH, where the Lambda Node.js runtime (and the
  // local stack) provide the AWS SDK (https://nodejs.org/api/esm.html#no-node_path), so it failed
  // there with "Cannot find package".
  const storeOf = (): Promise<Store> => {
    store ??= Promise.resolve()
      .then(() => sdkModule())
      .then((sdk) => ({
        sdk,
        client: new sdk.DynamoDBClient({
          maxAttempts: 2,
          requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
          ...options.clientConfig,
        }),
      }));
    return store;
  };
  const settings = { ...options, timeoutMs, now: options.now ?? Date.now, storeOf };
  return {
    async acquire(caller, holdForMs) {
      try {
        // The time bound starts once the SDK is loaded: loading it is the container's cost, not DynamoDB's.
        const store = await storeOf();
        return await acquireSlot(settings, store, callerPartitionKey(caller), holdForMs);
      } catch (error) {
        const reason = `the lease table could not be read or written: ${describe(error)}`;
        options.logger?.warn('caller lease unavailable', { reason });
        return { kind: 'unavailable', retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, reason };
      }
    },
  };
}

type Settings = CallerLeasesOptions & {
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly storeOf: () => Promise<Store>;
};

async function acquireSlot(
  settings: Settings,
  { sdk, client }: Store,
  pk: string,
  holdForMs: number,
): Promise<LeaseAcquisition> {
  const signal = AbortSignal.timeout(settings.timeoutMs);
  const rounds = settings.maxRounds ?? DEFAULT_MAX_ROUNDS;
  let held: HeldSlot[] = [];
  for (let round = 0; round < rounds; round++) {
    const nowSeconds = Math.floor(settings.now() / 1000);
    held = await heldSlots({ sdk, client }, settings.tableName, pk, nowSeconds, signal);
    if (held.length >= settings.limit) return limitReached(settings.limit, held, nowSeconds);
    const taken = new Set(held.map((h) => h.slot));
    const free = shuffled([...Array(settings.limit).keys()].filter((slot) => !taken.has(slot)));
    for (const slot of free.slice(0, PUTS_PER_ROUND)) {
      const lease = await tryTake(settings, { sdk, client }, { pk, slot, holdForMs }, signal);
      if (lease !== undefined) return { kind: 'held', lease };
    }
  }
  // Every free slot seen went to a concurrent request: the caller is at its limit in all but name.
  return limitReached(settings.limit, held, Math.floor(settings.now() / 1000));
}

function limitReached(limit: number, held: readonly HeldSlot[], nowSeconds: number): LeaseAcquisition {
  const earliest = Math.min(...held.map((h) => h.expiresAt));
  const wait = Number.isFinite(earliest) ? earliest - nowSeconds + 1 : 1;
  return {
    kind: 'limit-reached',
    limit,
    held: held.length,
    retryAfterSeconds: Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, wait)),
  };
}

/** The caller's unexpired leases, read strongly consistent. */
async function heldSlots(
  { sdk, client }: Store,
  tableName: string,
  pk: string,
  nowSeconds: number,
  signal: AbortSignal,
): Promise<HeldSlot[]> {
  const held: HeldSlot[] = [];
  let start: Record<string, DynamoDb.AttributeValue> | undefined;
  do {
    const page = await client.send(
      new sdk.QueryCommand({
        TableName: tableName,
        ConsistentRead: true,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :lease)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':lease': { S: LEASE_SORT_KEY_PREFIX } },
        ProjectionExpression: 'sk, expiresAt',
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
      { abortSignal: signal },
    );
    for (const item of page.Items ?? []) {
      const slot = Number(item.sk?.S?.slice(LEASE_SORT_KEY_PREFIX.length));
      const expiresAt = Number(item.expiresAt?.N);
      // An expired lease is free even while TTL has not deleted it.
      if (Number.isSafeInteger(slot) && expiresAt >= nowSeconds) held.push({ slot, expiresAt });
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return held;
}

/** Takes `slot` if it is still free; `undefined` when another request got there first. */
async function tryTake(
  settings: Settings,
  { sdk, client }: Store,
  target: { readonly pk: string; readonly slot: number; readonly holdForMs: number },
  signal: AbortSignal,
): Promise<CallerLease | undefined> {
  const now = settings.now();
  const expiresAt =
    Math.ceil((now + Math.max(0, target.holdForMs)) / 1000) +
    (settings.expiryMarginSeconds ?? DEFAULT_EXPIRY_MARGIN_SECONDS);
  const leaseId = randomUUID();
  try {
    await client.send(
      new sdk.PutItemCommand({
        TableName: settings.tableName,
        Item: {
          pk: { S: target.pk },
          sk: { S: leaseSortKey(target.slot) },
          leaseId: { S: leaseId },
          expiresAt: { N: String(expiresAt) },
          ttl: { N: String(expiresAt) },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } },
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    if (error instanceof sdk.ConditionalCheckFailedException) return undefined;
    throw error;
  }
  return heldLease(settings, { pk: target.pk, slot: target.slot, leaseId, expiresAt });
}

function heldLease(
  settings: Settings,
  lease: { readonly pk: string; readonly slot: number; readonly leaseId: string; readonly expiresAt: number },
): CallerLease {
  let released: Promise<ReleaseOutcome> | undefined;
  return {
    slot: lease.slot,
    leaseId: lease.leaseId,
    expiresAt: lease.expiresAt,
    release() {
      // A second release asks nothing of DynamoDB: the first one's outcome stands.
      released ??= deleteLease(settings, lease);
      return released;
    },
  };
}

async function deleteLease(
  settings: Settings,
  lease: { readonly pk: string; readonly slot: number; readonly leaseId: string },
): Promise<ReleaseOutcome> {
  try {
    const { sdk, client } = await settings.storeOf();
    try {
      await client.send(
        new sdk.DeleteItemCommand({
          TableName: settings.tableName,
          Key: { pk: { S: lease.pk }, sk: { S: leaseSortKey(lease.slot) } },
          ConditionExpression: 'leaseId = :mine',
          ExpressionAttributeValues: { ':mine': { S: lease.leaseId } },
        }),
        { abortSignal: AbortSignal.timeout(settings.timeoutMs) },
      );
      return 'released';
    } catch (error) {
      if (!(error instanceof sdk.ConditionalCheckFailedException)) throw error;
      settings.logger?.warn('caller lease already gone', {
        slot: lease.slot,
        reason: 'the lease expired and another request took the slot, or TTL deleted it',
      });
      return 'not-held';
    }
  } catch (error) {
    settings.logger?.warn('caller lease not released', {
      slot: lease.slot,
      reason: `the lease will expire by itself: ${describe(error)}`,
    });
    return 'failed';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function shuffled<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
