/**
 * The task store of the MCP tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663,
 * https://modelcontextprotocol.io/seps/2663-tasks-extension) on DynamoDB: a task outlives the
 * request that created it, its work runs elsewhere (an asynchronous invocation), and every poll
 * may reach another Lambda instance, so the task's whole state lives in one item.
 *
 * What the extension asks of the state (read in the scenarios `tasks-lifecycle`,
 * `tasks-wire-fields`, `tasks-mrtr-input`, `tasks-dispatch-and-envelope`,
 * `tasks-capability-negotiation`, `tasks-required-task-error` and `tasks-status-notifications`
 * of `@modelcontextprotocol/conformance` 0.2.0-alpha.12, and in the extension's overview,
 * https://modelcontextprotocol.github.io/ext-tasks/):
 * - A task is `taskId`, `status` (`working`, `input_required`, `completed`, `failed`, `cancelled`),
 *   optional `statusMessage`, `createdAt` and `lastUpdatedAt` (ISO 8601), `ttlMs` and optional
 *   `pollIntervalMs` (integer milliseconds; the 2025-11-25 names `ttl`/`pollInterval` must not
 *   appear). A task stays readable for its `ttlMs` at least.
 * - `tasks/get` inlines the outcome: `result` (the tool's `CallToolResult`) when `completed`,
 *   `error` (a JSON-RPC error object) when `failed`, never both; a tool's own error is
 *   `completed` with `result.isError`, `failed` is for protocol-level failures. An
 *   `input_required` task carries `inputRequests`, a map of server-minted keys to requests
 *   (`elicitation/create`, ...). There is no `tasks/result` and no `tasks/list` (`-32601`).
 * - `tasks/update` carries `inputResponses` keyed like `inputRequests`; a client may answer part
 *   of them; the task stays `input_required` until every key is answered, and answered keys leave
 *   `inputRequests`. `tasks/update` and `tasks/cancel` answer an empty ack; the new state is seen
 *   on the next `tasks/get`; cancelling a finished task is an idempotent ack.
 * - An unknown `taskId` is `-32602`; the task methods from a client that did not declare the
 *   extension are `-32021` (MissingRequiredClientCapability; the ext-tasks overview page still
 *   says `-32003`, the conformance suite and the 2026-07-28 schema say `-32021`).
 * - A `CreateTaskResult` may be returned only once `tasks/get` would find the task: `create`
 *   resolves after a PutItem DynamoDB acknowledged, and `get` reads strongly consistent.
 * Mapping outcomes to those codes and shapes is the caller's work; this module keeps the state.
 *
 * Items (the state table; every key says what the item is):
 *
 * | pk | sk | attributes |
 * | --- | --- | --- |
 * | `task#<taskId>` | `task` | `caller`, `status`, `statusMessage`, `createdAt`, `lastUpdatedAt` (epoch ms), `ttlMs`, `pollIntervalMs`, `deadline` (epoch ms), `worker`, `call` (JSON text, the worker's), `inputRequests`, `answers` (maps of JSON text), `requestState` (the tool's), `result`/`error` (JSON text), `ttl` (epoch s) |
 *
 * The id is 16 random bytes (128 bits) in base64url: a key no one guesses, and the only thing a
 * client sends. The task is bound to its caller by the `caller` attribute (the same SHA-256 of
 * `[sub, client_id]` as the per-caller leases), compared on every read and in the condition of
 * every write. Keying by the caller instead (`pk = caller#...`, `sk = task#<id>`) would bind as
 * well, but would put every progress write of a caller's tasks on that caller's lease partition
 * (one partition takes at most 1000 writes a second), and the lease module reserves `caller#`
 * partitions for leases. A read by another caller, of an unknown id, or of an expired task takes
 * the same path (one consistent GetItem, then the same comparison) and answers `undefined`; a
 * write by another caller fails the same condition as a write to an unknown id.
 *
 * Transitions (each a conditional UpdateItem, so concurrent writers serialize in DynamoDB):
 * - `working` ⇄ `input_required`: the worker asks (`requestInput`), the client answers
 *   (`answer`); the last answer puts the task back to `working`.
 * - `working`/`input_required` → `completed` | `failed` (the worker) | `cancelled` (the client).
 * - A terminal status never changes: the first terminal write wins. A cancel that DynamoDB
 *   applied before the worker's `complete` makes the task `cancelled` and the late result is
 *   dropped (`complete` answers `cancelled`); a `complete` applied first makes the cancel an ack
 *   that changes nothing (`already-terminal`).
 * - The worker's time runs out at `deadline` (the invocation's own timeout): a task still
 *   `working` or `input_required` after it reads as `failed` (lazily, on read), and every write
 *   is conditional on `deadline >= now`, so nothing a reader saw as failed changes later. The
 *   clocks of the instances must agree to within the margin the caller adds to the deadline.
 * - A worker claims the task first (`claim`, conditional on no earlier claim): Lambda may deliver
 *   an asynchronous event twice, and the second delivery must run nothing. A worker that ends
 *   while the task waits for answers sets the client's time to answer as the deadline
 *   (`answerWithinMs`); the last answer sets the next round's (`runForMs`) and frees the claim.
 * - Cooperative cancellation: every worker write answers `cancelled` once the task was
 *   cancelled, so a worker learns of it at its next progress report without an extra read.
 * - The TTL counts from creation: `ttl` = creation + `ttlMs` (DynamoDB deletes expired items
 *   lazily, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html, so a read
 *   past that instant answers `undefined` whether or not the item is gone).
 *
 * Costs: create 1 PutItem; the claim, each progress report, question, answer and outcome 1
 * UpdateItem (the last answer of a round 2); each poll 1 GetItem. No Scan, no Query. Results are kept inline up
 * to `maxResultBytes` (350 000 bytes of JSON by default, under DynamoDB's 400 KB item limit,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html); a
 * larger one is refused with `TaskResultTooLargeError` and the task stays as it was.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import { callerPartitionKey, type LeaseCaller } from '../caller-leases';
import { TaskResultTooLargeError, TaskStoreUnavailableError } from './errors';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** Who a task belongs to: the token's `sub` and the OAuth client that asked for it. */
export type TaskCaller = LeaseCaller;

/** A JSON-RPC error object, as `tasks/get` inlines it for a `failed` task. */
export interface TaskError {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** A task as `tasks/get` shows it (without `resultType`, which the caller adds). */
export interface TaskView {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly statusMessage?: string;
  readonly createdAt: string;
  readonly lastUpdatedAt: string;
  readonly ttlMs: number;
  readonly pollIntervalMs?: number;
  readonly inputRequests?: Readonly<Record<string, unknown>>;
  readonly result?: unknown;
  readonly error?: TaskError;
}

export interface NewTask {
  /** How long the task stays readable, from creation. */
  readonly ttlMs: number;
  readonly pollIntervalMs?: number;
  /** How long the worker may run, from creation (its timeout plus a margin); at most `ttlMs`. */
  readonly runForMs: number;
  readonly statusMessage?: string;
  /** What the worker needs to run the call again in a later round (JSON; never shown to the client). */
  readonly call?: unknown;
}

/** How a worker's write ended: applied, refused because the task was cancelled, refused because it had ended (or its deadline passed), or no such task for this caller. */
export type WorkerWrite = 'recorded' | 'cancelled' | 'ended' | 'unknown';
/**
 * How `tasks/update` ended: the answers to pending questions kept (some still open; answers to keys
 * nothing asks for are ignored), all answered (the task works again, in the round `resumed` names),
 * the task waits for nothing, or no such task.
 */
export type AnswerOutcome = 'accepted' | { readonly resumed: number } | 'not-waiting' | 'unknown';
export type CancelOutcome = 'cancelled' | 'already-terminal' | 'unknown';
/** How a claim ended: this worker holds the task, another one does, or the worker writes' refusals. */
export type ClaimOutcome = 'claimed' | 'taken' | Exclude<WorkerWrite, 'recorded'>;

export interface InputRequestOptions {
  readonly statusMessage?: string;
  /**
   * How long the client has to answer, from now: the new deadline. Set it when the worker ends while
   * the task waits (nothing runs until the answers come); unset, the worker's deadline stands.
   */
  readonly answerWithinMs?: number;
  /** The tool's sealed multi-round-trip state, handed back to it with the answers (never shown to the client). */
  readonly requestState?: string;
}

/** What the worker reads while it waits for answers. */
export interface TaskAnswers {
  readonly status: TaskStatus;
  readonly answers: Readonly<Record<string, unknown>>;
  /** The `call` kept at creation. */
  readonly call?: unknown;
  /** The `requestState` kept with the questions. */
  readonly requestState?: string;
}

export interface TaskStore {
  create(caller: TaskCaller, task: NewTask): Promise<TaskView>;
  get(caller: TaskCaller, taskId: string): Promise<TaskView | undefined>;
  cancel(caller: TaskCaller, taskId: string): Promise<CancelOutcome>;
  /** `tasks/update`; when the last answer resumes the task, its worker gets `runForMs` from now (unchanged if unset). */
  answer(
    caller: TaskCaller,
    taskId: string,
    responses: Readonly<Record<string, unknown>>,
    options?: { readonly runForMs?: number },
  ): Promise<AnswerOutcome>;
  /**
   * The worker, first: takes the task for one invocation of its current round (1 at creation, one
   * more each time the answers resume it), so a duplicate delivery of an event (Lambda may deliver an
   * asynchronous event twice), even one of an earlier round, finds it `taken` and runs nothing.
   */
  claim(caller: TaskCaller, taskId: string, workerId: string, round: number): Promise<ClaimOutcome>;
  /** The worker: a new status message. */
  progress(caller: TaskCaller, taskId: string, statusMessage: string): Promise<WorkerWrite>;
  /** The worker: questions for the client (replacing the answers of an earlier round). */
  requestInput(
    caller: TaskCaller,
    taskId: string,
    requests: Readonly<Record<string, unknown>>,
    options?: InputRequestOptions,
  ): Promise<WorkerWrite>;
  answers(caller: TaskCaller, taskId: string): Promise<TaskAnswers | undefined>;
  complete(caller: TaskCaller, taskId: string, result: unknown): Promise<WorkerWrite>;
  fail(caller: TaskCaller, taskId: string, error: TaskError): Promise<WorkerWrite>;
}

export interface TaskStoreOptions {
  /** The state table (`pk`, `sk` string keys, TTL on `ttl`). */
  readonly tableName: string;
  /** A client to use; unset, one is built from `clientConfig` on first use. */
  readonly client?: DynamoDb.DynamoDBClient;
  readonly clientConfig?: DynamoDb.DynamoDBClientConfig;
  /** The clock, in epoch milliseconds. */
  readonly now?: () => number;
  /** Largest result kept inline, in bytes of JSON; 350 000 by default, at most 380 000. */
  readonly maxResultBytes?: number;
}

export const DEFAULT_MAX_RESULT_BYTES = 350_000;
const MAX_RESULT_BYTES_LIMIT = 380_000;
const SORT_KEY = 'task';
const TASK_ID = /^[A-Za-z0-9_-]{22}$/;
/** What a task whose worker stopped without an outcome reports (JSON-RPC internal error). */
export const WORKER_LOST_ERROR: TaskError = {
  code: -32603,
  message: "The task's worker stopped before it finished: its time ran out.",
};

/** 128 random bits, base64url (22 characters). */
export function newTaskId(): string {
  return randomBytes(16).toString('base64url');
}

const taskKey = (taskId: string) => ({ pk: { S: `task#${taskId}` }, sk: { S: SORT_KEY } });

type Item = Record<string, DynamoDb.AttributeValue>;
interface Context {
  readonly sdk: typeof DynamoDb;
  readonly client: DynamoDb.DynamoDBClient;
  readonly tableName: string;
  readonly now: () => number;
}

export function createTaskStore(options: TaskStoreOptions): TaskStore {
  const maxResultBytes = options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  if (!Number.isSafeInteger(maxResultBytes) || maxResultBytes < 1 || maxResultBytes > MAX_RESULT_BYTES_LIMIT)
    throw new RangeError(`maxResultBytes must be 1 to ${MAX_RESULT_BYTES_LIMIT}, got ${maxResultBytes}.`);
  let context: Promise<Context> | undefined;
  // Loaded on the first task operation: a function that never runs a task never pays for the SDK.
  // With require, not import(): the bundle is CommonJS and keeps the SDK external, and an ES import()
  // of a bare name does not search NODE_PATH, where Lambda's Node.js runtime provides the AWS SDK
  // (https://nodejs.org/api/esm.html#no-node_path).
  const contextOf = (): Promise<Context> => {
    context ??= Promise.resolve()
      .then(() => require('@aws-sdk/client-dynamodb') as typeof DynamoDb)
      .then((sdk) => ({
        sdk,
        client: options.client ?? new sdk.DynamoDBClient({ maxAttempts: 3, ...options.clientConfig }),
        tableName: options.tableName,
        now: options.now ?? Date.now,
      }));
    return context;
  };
  const run = async <T>(operation: (context: Context) => Promise<T>): Promise<T> => {
    const ctx = await contextOf();
    try {
      return await operation(ctx);
    } catch (error) {
      if (error instanceof TaskResultTooLargeError || error instanceof RangeError) throw error;
      throw new TaskStoreUnavailableError(`The task table could not be read or written: ${describe(error)}`, {
        cause: error,
      });
    }
  };
  return {
    create: (caller, task) => run((ctx) => createTask(ctx, caller, task)),
    get: (caller, taskId) => run(async (ctx) => viewOf(await readOwn(ctx, caller, taskId), ctx.now())),
    cancel: (caller, taskId) => run((ctx) => cancelTask(ctx, caller, taskId)),
    answer: (caller, taskId, responses, options) =>
      run((ctx) => answerTask(ctx, caller, taskId, responses, options?.runForMs)),
    claim: (caller, taskId, workerId, round) => run((ctx) => claimTask(ctx, caller, taskId, workerId, round)),
    progress: (caller, taskId, statusMessage) =>
      run((ctx) =>
        workerWrite(ctx, caller, taskId, {
          set: { statusMessage: { S: statusMessage } },
          from: ['working', 'input_required'],
        }),
      ),
    requestInput: (caller, taskId, requests, options) =>
      run((ctx) => requestTaskInput(ctx, caller, taskId, requests, options)),
    answers: (caller, taskId) => run((ctx) => answersOf(ctx, caller, taskId)),
    complete: (caller, taskId, result) =>
      run((ctx) => {
        const json = JSON.stringify(result ?? null);
        const bytes = Buffer.byteLength(json, 'utf8');
        if (bytes > maxResultBytes) throw new TaskResultTooLargeError(bytes, maxResultBytes);
        return finish(ctx, caller, taskId, 'completed', { result: { S: json } });
      }),
    fail: (caller, taskId, error) =>
      run((ctx) => finish(ctx, caller, taskId, 'failed', { error: { S: boundedError(error) } })),
  };
}

async function createTask(ctx: Context, caller: TaskCaller, task: NewTask): Promise<TaskView> {
  const { ttlMs, runForMs, pollIntervalMs } = task;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}.`);
  if (!Number.isSafeInteger(runForMs) || runForMs < 1 || runForMs > ttlMs)
    throw new RangeError(`runForMs must be a positive integer no larger than ttlMs (${ttlMs}), got ${runForMs}.`);
  if (pollIntervalMs !== undefined && (!Number.isSafeInteger(pollIntervalMs) || pollIntervalMs < 1))
    throw new RangeError(`pollIntervalMs must be a positive integer, got ${pollIntervalMs}.`);
  const now = ctx.now();
  const taskId = newTaskId();
  const item: Item = {
    ...taskKey(taskId),
    caller: { S: callerPartitionKey(caller) },
    status: { S: 'working' },
    round: { N: '1' },
    createdAt: { N: String(now) },
    lastUpdatedAt: { N: String(now) },
    ttlMs: { N: String(ttlMs) },
    deadline: { N: String(now + runForMs) },
    inputRequests: { M: {} },
    answers: { M: {} },
    ttl: { N: String(Math.ceil((now + ttlMs) / 1000)) },
    ...(pollIntervalMs === undefined ? {} : { pollIntervalMs: { N: String(pollIntervalMs) } }),
    ...(task.statusMessage === undefined ? {} : { statusMessage: { S: task.statusMessage } }),
    ...(task.call === undefined ? {} : { call: { S: JSON.stringify(task.call) } }),
  };
  await ctx.client.send(
    new ctx.sdk.PutItemCommand({
      TableName: ctx.tableName,
      Item: item,
      // 128 random bits do not collide; the condition makes sure of it.
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  return viewOf(item, now) as TaskView;
}

/** The item if it exists, is the caller's and has not expired; otherwise undefined, by one path. */
async function readOwn(ctx: Context, caller: TaskCaller, taskId: string): Promise<Item | undefined> {
  if (!TASK_ID.test(taskId)) return undefined;
  const { Item } = await ctx.client.send(
    new ctx.sdk.GetItemCommand({ TableName: ctx.tableName, Key: taskKey(taskId), ConsistentRead: true }),
  );
  return ownedLiveItem(Item, callerPartitionKey(caller), ctx.now());
}

function ownedLiveItem(item: Item | undefined, callerKey: string, now: number): Item | undefined {
  const owner = Buffer.from(item?.caller?.S ?? '');
  const mine = Buffer.from(callerKey);
  const same = owner.length === mine.length && timingSafeEqual(owner, mine);
  if (item === undefined || !same) return undefined;
  const expiresAt = numberOf(item.createdAt) + numberOf(item.ttlMs);
  return now < expiresAt ? item : undefined;
}

const numberOf = (value: DynamoDb.AttributeValue | undefined): number => Number(value?.N ?? Number.NaN);
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

function parsedMap(value: DynamoDb.AttributeValue | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, json] of Object.entries(value?.M ?? {})) out[key] = JSON.parse(json.S ?? 'null');
  return out;
}

/** The status a reader sees: a live status past the deadline is a lost worker. */
function effectiveStatus(item: Item, now: number): TaskStatus {
  const stored = item.status?.S as TaskStatus;
  return TERMINAL_STATUSES.includes(stored) || now <= numberOf(item.deadline) ? stored : 'failed';
}

function viewOf(item: Item | undefined, now: number): TaskView | undefined {
  if (item === undefined) return undefined;
  const status = effectiveStatus(item, now);
  const lost = status === 'failed' && item.status?.S !== 'failed';
  const pollIntervalMs = item.pollIntervalMs === undefined ? undefined : numberOf(item.pollIntervalMs);
  return {
    taskId: (item.pk?.S ?? '').slice('task#'.length),
    status,
    ...(item.statusMessage?.S === undefined ? {} : { statusMessage: item.statusMessage.S }),
    createdAt: iso(numberOf(item.createdAt)),
    lastUpdatedAt: iso(lost ? numberOf(item.deadline) : numberOf(item.lastUpdatedAt)),
    ttlMs: numberOf(item.ttlMs),
    ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
    ...(status === 'input_required' ? { inputRequests: parsedMap(item.inputRequests) } : {}),
    ...(status === 'completed' ? { result: JSON.parse(item.result?.S ?? 'null') } : {}),
    ...(status === 'failed'
      ? { error: lost ? WORKER_LOST_ERROR : (JSON.parse(item.error?.S ?? '{}') as TaskError) }
      : {}),
  };
}

interface Write {
  readonly set?: Item;
  readonly remove?: readonly string[];
  /** SET clauses on paths of maps (`#answers.#k0 = :a0`), with their names and values in `names`/`values`. */
  readonly setPaths?: readonly string[];
  /** The statuses the write applies to. */
  readonly from: readonly TaskStatus[];
  readonly status?: TaskStatus;
  /** Extra condition and the names/values it uses. */
  readonly condition?: string;
  readonly names?: Record<string, string>;
  readonly values?: Item;
}

/** A conditional UpdateItem on a live task of the caller; undefined when the condition failed. */
async function conditionalUpdate(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  write: Write,
): Promise<Item | undefined> {
  if (!TASK_ID.test(taskId)) return undefined;
  const now = ctx.now();
  const set: Item = { ...write.set, lastUpdatedAt: { N: String(now) } };
  if (write.status !== undefined) set.status = { S: write.status };
  const names: Record<string, string> = { '#status': 'status', ...write.names };
  const values: Item = { ':caller': { S: callerPartitionKey(caller) }, ':now': { N: String(now) }, ...write.values };
  const assignments = Object.entries(set).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  assignments.push(...(write.setPaths ?? []));
  const froms = write.from.map((status, i) => {
    values[`:from${i}`] = { S: status };
    return `:from${i}`;
  });
  const remove = write.remove?.length ? ` REMOVE ${write.remove.join(', ')}` : '';
  try {
    const { Attributes } = await ctx.client.send(
      new ctx.sdk.UpdateItemCommand({
        TableName: ctx.tableName,
        Key: taskKey(taskId),
        UpdateExpression: `SET ${assignments.join(', ')}${remove}`,
        ConditionExpression: `caller = :caller AND deadline >= :now AND #status IN (${froms.join(', ')})${write.condition ? ` AND ${write.condition}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes;
  } catch (error) {
    if (error instanceof ctx.sdk.ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** Why a worker's write was refused: read once, after the fact. */
async function refusal(ctx: Context, caller: TaskCaller, taskId: string): Promise<WorkerWrite> {
  const item = await readOwn(ctx, caller, taskId);
  if (item === undefined) return 'unknown';
  return item.status?.S === 'cancelled' ? 'cancelled' : 'ended';
}

async function workerWrite(ctx: Context, caller: TaskCaller, taskId: string, write: Write): Promise<WorkerWrite> {
  const applied = await conditionalUpdate(ctx, caller, taskId, write);
  return applied === undefined ? refusal(ctx, caller, taskId) : 'recorded';
}

function finish(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  status: 'completed' | 'failed',
  outcome: Item,
): Promise<WorkerWrite> {
  return workerWrite(ctx, caller, taskId, {
    set: outcome,
    status,
    from: ['working', 'input_required'],
    remove: ['inputRequests', 'answers'],
  });
}

function jsonMap(entries: Readonly<Record<string, unknown>>): DynamoDb.AttributeValue {
  return { M: Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, { S: JSON.stringify(value) }])) };
}

function requestTaskInput(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  requests: Readonly<Record<string, unknown>>,
  { statusMessage, answerWithinMs, requestState }: InputRequestOptions = {},
): Promise<WorkerWrite> {
  if (Object.keys(requests).length === 0) throw new RangeError('requestInput needs at least one input request.');
  positive(answerWithinMs, 'answerWithinMs');
  return workerWrite(ctx, caller, taskId, {
    set: {
      inputRequests: jsonMap(requests),
      answers: { M: {} },
      ...(statusMessage === undefined ? {} : { statusMessage: { S: statusMessage } }),
      ...(answerWithinMs === undefined ? {} : { deadline: { N: String(ctx.now() + answerWithinMs) } }),
      ...(requestState === undefined ? {} : { requestState: { S: requestState } }),
    },
    ...(requestState === undefined ? { remove: ['requestState'] } : {}),
    status: 'input_required',
    from: ['working'],
  });
}

async function answersOf(ctx: Context, caller: TaskCaller, taskId: string): Promise<TaskAnswers | undefined> {
  const item = await readOwn(ctx, caller, taskId);
  if (item === undefined) return undefined;
  return {
    status: effectiveStatus(item, ctx.now()),
    answers: parsedMap(item.answers),
    ...(item.call?.S === undefined ? {} : { call: JSON.parse(item.call.S) }),
    ...(item.requestState?.S === undefined ? {} : { requestState: item.requestState.S }),
  };
}

/**
 * `tasks/update`: the answers to pending questions are kept, answers to keys nothing asks for (or
 * asked for no more: a retried update whose first try landed) are ignored; the last answer resumes
 * the task in its next round. The common case, every key pending, is one UpdateItem; otherwise one
 * read finds which keys are.
 */
async function answerTask(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  responses: Readonly<Record<string, unknown>>,
  runForMs?: number,
): Promise<AnswerOutcome> {
  positive(runForMs, 'runForMs');
  let keys = Object.keys(responses);
  let applied = keys.length === 0 ? undefined : await keepAnswers(ctx, caller, taskId, responses, keys);
  if (applied === undefined) {
    const item = await readOwn(ctx, caller, taskId);
    if (item === undefined) return 'unknown';
    if (effectiveStatus(item, ctx.now()) !== 'input_required') return keys.length === 0 ? 'accepted' : 'not-waiting';
    const pending = item.inputRequests?.M ?? {};
    keys = keys.filter((key) => Object.hasOwn(pending, key));
    if (keys.length === 0) return 'accepted';
    // Another update may have answered some of them since the read: then this one keeps nothing.
    applied = await keepAnswers(ctx, caller, taskId, responses, keys);
    if (applied === undefined) return 'accepted';
  }
  if (Object.keys(applied.inputRequests?.M ?? {}).length > 0) return 'accepted';
  const resumed = await conditionalUpdate(ctx, caller, taskId, {
    from: ['input_required'],
    status: 'working',
    // The next round is another invocation, which claims the task anew.
    remove: ['#worker'],
    ...(runForMs === undefined ? {} : { set: { deadline: { N: String(ctx.now() + runForMs) } } }),
    setPaths: ['#round = #round + :one'],
    condition: 'size(#requests) = :zero',
    names: { '#requests': 'inputRequests', '#worker': 'worker', '#round': 'round' },
    values: { ':zero': { N: '0' }, ':one': { N: '1' } },
  });
  return resumed === undefined ? 'accepted' : { resumed: Number(resumed.round?.N) };
}

/** Keeps the answers to `keys`, each of which must still be pending; undefined when one is not. */
function keepAnswers(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  responses: Readonly<Record<string, unknown>>,
  keys: readonly string[],
): Promise<Item | undefined> {
  const names: Record<string, string> = { '#requests': 'inputRequests', '#answers': 'answers' };
  const values: Item = {};
  keys.forEach((key, i) => {
    names[`#k${i}`] = key;
    values[`:a${i}`] = { S: JSON.stringify(responses[key]) };
  });
  return conditionalUpdate(ctx, caller, taskId, {
    from: ['input_required'],
    setPaths: keys.map((_, i) => `#answers.#k${i} = :a${i}`),
    remove: keys.map((_, i) => `#requests.#k${i}`),
    condition: keys.map((_, i) => `attribute_exists(#requests.#k${i})`).join(' AND '),
    names,
    values,
  });
}

/** The error as JSON, its `data` left out and its message cut when they would make the item large. */
function boundedError({ code, message, data }: TaskError): string {
  const whole = JSON.stringify({ code, message, ...(data === undefined ? {} : { data }) });
  if (whole.length <= MAX_ERROR_CHARS) return whole;
  return JSON.stringify({ code, message: message.slice(0, MAX_ERROR_CHARS - 100) });
}
const MAX_ERROR_CHARS = 10_000;

function positive(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
    throw new RangeError(`${name} must be a positive integer, got ${value}.`);
}

async function claimTask(
  ctx: Context,
  caller: TaskCaller,
  taskId: string,
  workerId: string,
  round: number,
): Promise<ClaimOutcome> {
  const applied = await conditionalUpdate(ctx, caller, taskId, {
    set: { worker: { S: workerId } },
    from: ['working'],
    condition: 'attribute_not_exists(#worker) AND #round = :round',
    names: { '#worker': 'worker', '#round': 'round' },
    values: { ':round': { N: String(round) } },
  });
  if (applied !== undefined) return 'claimed';
  const item = await readOwn(ctx, caller, taskId);
  if (item === undefined) return 'unknown';
  const status = effectiveStatus(item, ctx.now());
  if (status === 'cancelled') return 'cancelled';
  if (status !== 'working') return 'ended';
  // The same invocation asking again (its first answer was lost) still holds the task; an event of
  // another round (a late duplicate) or a second delivery of this one does not.
  return item.worker?.S === workerId && item.round?.N === String(round) ? 'claimed' : 'taken';
}

async function cancelTask(ctx: Context, caller: TaskCaller, taskId: string): Promise<CancelOutcome> {
  const applied = await conditionalUpdate(ctx, caller, taskId, {
    set: { statusMessage: { S: 'Cancelled at the client’s request.' } },
    status: 'cancelled',
    from: ['working', 'input_required'],
    remove: ['inputRequests', 'answers'],
  });
  if (applied !== undefined) return 'cancelled';
  return (await readOwn(ctx, caller, taskId)) === undefined ? 'unknown' : 'already-terminal';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
