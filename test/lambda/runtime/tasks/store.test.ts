/**
 * The task store against a real DynamoDB implementation (dynalite, started here): every
 * transition, the binding to the caller, the ids, the inline result bound, the TTL, a lost worker,
 * and a cancel racing a completion.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { callerPartitionKey } from '../../../../lambda/runtime/caller-leases';
import { TaskResultTooLargeError, TaskStoreUnavailableError } from '../../../../lambda/runtime/tasks/errors';
import {
  createTaskStore,
  newTaskId,
  type TaskStore,
  type TaskStoreOptions,
  WORKER_LOST_ERROR,
} from '../../../../lambda/runtime/tasks/store';
import { stateTableSpec } from '../../../../fixtures/dynamodb-counter';
import { type RunningDynamoDb, startDynalite } from '../../../../local/aws/dynamodb';

const TABLE = 'mcp-state';
const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const alice = { sub: 'user_alice', clientId: 'client_1' };
const aliceOtherClient = { sub: 'user_alice', clientId: 'client_2' };
const bob = { sub: 'user_bob', clientId: 'client_1' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = Date.UTC(2026, 6, 28, 12, 0, 0);

let dynamo: RunningDynamoDb;
let raw: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynalite([stateTableSpec(TABLE)]);
  raw = new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials });
});

afterAll(async () => {
  raw.destroy();
  await dynamo.close();
});

/** A store on its own clock (`clock.now` moves only when a test moves it). */
function storeAt(options: Partial<TaskStoreOptions> = {}) {
  const clock = { now: START };
  const store = createTaskStore({
    tableName: TABLE,
    clientConfig: { endpoint: dynamo.endpoint, region, credentials },
    now: () => clock.now,
    ...options,
  });
  return { store, clock };
}

const newTask = { ttlMs: HOUR, runForMs: 15 * MINUTE, pollIntervalMs: 1000 };

async function rawItem(taskId: string) {
  const { Item } = await raw.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `task#${taskId}` }, sk: { S: 'task' } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

async function working(store: TaskStore) {
  return (await store.create(alice, newTask)).taskId;
}

describe('creating and reading a task', () => {
  it('creates a working task that a get finds at once, with the wire fields of the extension', async () => {
    const { store } = storeAt();
    const created = await store.create(alice, { ...newTask, statusMessage: 'Queued' });
    expect(created).toEqual({
      taskId: created.taskId,
      status: 'working',
      statusMessage: 'Queued',
      createdAt: new Date(START).toISOString(),
      lastUpdatedAt: new Date(START).toISOString(),
      ttlMs: HOUR,
      pollIntervalMs: 1000,
    });
    await expect(store.get(alice, created.taskId)).resolves.toEqual(created);
  });

  it('keys the item by what it is and stores the caller as a hash, never the identity', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    const item = await rawItem(taskId);
    expect(item?.pk).toEqual({ S: `task#${taskId}` });
    expect(item?.sk).toEqual({ S: 'task' });
    expect(item?.caller).toEqual({ S: callerPartitionKey(alice) });
    expect(JSON.stringify(item)).not.toContain('user_alice');
  });

  it('sets the TTL attribute to creation plus ttlMs, in epoch seconds', async () => {
    const { store } = storeAt();
    const taskId = (await store.create(alice, { ttlMs: 90_500, runForMs: 60_000 })).taskId;
    expect((await rawItem(taskId))?.ttl).toEqual({ N: String(Math.ceil((START + 90_500) / 1000)) });
  });

  it('keeps a task readable for its ttlMs and answers unknown once it has passed, deleted or not', async () => {
    const { store, clock } = storeAt();
    const taskId = (await store.create(alice, { ttlMs: 10 * MINUTE, runForMs: MINUTE })).taskId;
    await store.complete(alice, taskId, { content: [] });
    clock.now = START + 10 * MINUTE - 1;
    expect((await store.get(alice, taskId))?.status).toBe('completed');
    clock.now = START + 10 * MINUTE;
    await expect(store.get(alice, taskId)).resolves.toBeUndefined();
    expect(await rawItem(taskId)).toBeDefined();
  });

  it('mints ids of 128 random bits in base64url, all different', async () => {
    const ids = Array.from({ length: 10_000 }, newTaskId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const { store } = storeAt();
    const created = await Promise.all([store.create(alice, newTask), store.create(alice, newTask)]);
    expect(created[0].taskId).not.toBe(created[1].taskId);
  });

  it.each([
    ['a ttlMs of zero', { ttlMs: 0, runForMs: 1 }],
    ['a worker time longer than the TTL', { ttlMs: MINUTE, runForMs: MINUTE + 1 }],
    ['a fractional poll interval', { ttlMs: MINUTE, runForMs: MINUTE, pollIntervalMs: 1.5 }],
  ])('refuses %s', async (_, task) => {
    const { store } = storeAt();
    await expect(store.create(alice, task)).rejects.toThrow(RangeError);
  });
});

describe('binding to the caller', () => {
  it.each([
    ['another user', bob],
    ['the same user through another client', aliceOtherClient],
  ])('answers %s exactly as for an unknown id, on every method', async (_, stranger) => {
    const { store } = storeAt();
    const taskId = await working(store);
    const unknownId = newTaskId();
    for (const id of [taskId, unknownId, 'not-a-task-id']) {
      await expect(store.get(stranger, id)).resolves.toBeUndefined();
      await expect(store.cancel(stranger, id)).resolves.toBe('unknown');
      await expect(store.answer(stranger, id, { q: 'yes' })).resolves.toBe('unknown');
      await expect(store.progress(stranger, id, 'hijack')).resolves.toBe('unknown');
      await expect(store.complete(stranger, id, { content: [] })).resolves.toBe('unknown');
      await expect(store.answers(stranger, id)).resolves.toBeUndefined();
    }
    expect(await store.get(alice, taskId)).toMatchObject({ status: 'working' });
    expect((await store.get(alice, taskId))?.statusMessage).toBeUndefined();
  });
});

describe('transitions', () => {
  it('records progress as the status message and moves lastUpdatedAt', async () => {
    const { store, clock } = storeAt();
    const taskId = await working(store);
    clock.now += 2000;
    await expect(store.progress(alice, taskId, 'Step 1 of 3')).resolves.toBe('recorded');
    expect(await store.get(alice, taskId)).toMatchObject({
      status: 'working',
      statusMessage: 'Step 1 of 3',
      lastUpdatedAt: new Date(START + 2000).toISOString(),
    });
  });

  it('completes with the result inline and keeps it through a later cancel', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    const result = { content: [{ type: 'text', text: 'done' }], isError: false };
    await expect(store.complete(alice, taskId, result)).resolves.toBe('recorded');
    await expect(store.cancel(alice, taskId)).resolves.toBe('already-terminal');
    const view = await store.get(alice, taskId);
    expect(view).toMatchObject({ status: 'completed', result });
    expect(view).not.toHaveProperty('error');
  });

  it('fails with the error inline and no result', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await expect(store.fail(alice, taskId, { code: -32603, message: 'tool crashed' })).resolves.toBe('recorded');
    const view = await store.get(alice, taskId);
    expect(view).toMatchObject({ status: 'failed', error: { code: -32603, message: 'tool crashed' } });
    expect(view).not.toHaveProperty('result');
  });

  it('keeps a large error readable: its data left out, its message cut', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await store.fail(alice, taskId, { code: -32603, message: 'm'.repeat(20_000), data: { trace: 't'.repeat(20_000) } });
    const error = (await store.get(alice, taskId))?.error;
    expect(error?.code).toBe(-32603);
    expect(error?.message).toMatch(/^m+$/);
    expect(error?.message.length).toBeLessThan(10_000);
    expect(error).not.toHaveProperty('data');
  });

  it('never changes a terminal status', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await store.fail(alice, taskId, { code: -32603, message: 'first' });
    await expect(store.complete(alice, taskId, { content: [] })).resolves.toBe('ended');
    await expect(store.progress(alice, taskId, 'late')).resolves.toBe('ended');
    await expect(store.requestInput(alice, taskId, { q: { method: 'elicitation/create' } })).resolves.toBe('ended');
    await expect(store.cancel(alice, taskId)).resolves.toBe('already-terminal');
    expect(await store.get(alice, taskId)).toMatchObject({ status: 'failed', error: { message: 'first' } });
  });

  it('cancels a working task, tells the worker at its next write, and drops its late result', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await expect(store.cancel(alice, taskId)).resolves.toBe('cancelled');
    await expect(store.progress(alice, taskId, 'still going')).resolves.toBe('cancelled');
    await expect(store.complete(alice, taskId, { content: [] })).resolves.toBe('cancelled');
    const view = await store.get(alice, taskId);
    expect(view?.status).toBe('cancelled');
    expect(view).not.toHaveProperty('result');
    await expect(store.cancel(alice, taskId)).resolves.toBe('already-terminal');
  });

  it('lets exactly one of a concurrent cancel and completion win, and the outcome agrees with both answers', async () => {
    const { store } = storeAt();
    const rounds = 20;
    const winners = { cancelled: 0, completed: 0 };
    for (let i = 0; i < rounds; i++) {
      const taskId = await working(store);
      const [cancel, complete] = await Promise.all([
        store.cancel(alice, taskId),
        store.complete(alice, taskId, { content: [{ type: 'text', text: 'r' }] }),
      ]);
      const status = (await store.get(alice, taskId))?.status;
      if (status === 'cancelled') {
        expect([cancel, complete]).toEqual(['cancelled', 'cancelled']);
        winners.cancelled++;
      } else {
        expect(status).toBe('completed');
        expect([cancel, complete]).toEqual(['already-terminal', 'recorded']);
        winners.completed++;
      }
    }
    expect(winners.cancelled + winners.completed).toBe(rounds);
  });
});

describe('input_required and tasks/update', () => {
  const questions = {
    name: { method: 'elicitation/create', params: { message: 'Your name?' } },
    confirm: { method: 'elicitation/create', params: { message: 'Delete?' } },
  };

  it('parks the task with its questions, takes partial answers, and resumes on the last one', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await expect(store.requestInput(alice, taskId, questions, { statusMessage: 'Waiting for you' })).resolves.toBe(
      'recorded',
    );
    expect(await store.get(alice, taskId)).toMatchObject({ status: 'input_required', inputRequests: questions });

    await expect(store.answer(alice, taskId, { name: { action: 'accept', content: { name: 'Ada' } } })).resolves.toBe(
      'accepted',
    );
    const partial = await store.get(alice, taskId);
    expect(partial?.status).toBe('input_required');
    expect(partial?.inputRequests).toEqual({ confirm: questions.confirm });

    await expect(store.answer(alice, taskId, { confirm: { action: 'accept' } })).resolves.toEqual({ resumed: 2 });
    const resumed = await store.get(alice, taskId);
    expect(resumed?.status).toBe('working');
    expect(resumed).not.toHaveProperty('inputRequests');
    await expect(store.answers(alice, taskId)).resolves.toEqual({
      status: 'working',
      answers: { name: { action: 'accept', content: { name: 'Ada' } }, confirm: { action: 'accept' } },
    });
  });

  it('keeps the answers to pending keys beside answers to keys nothing asks for, and refuses a task that asked nothing', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await expect(store.answer(alice, taskId, { name: 'x' })).resolves.toBe('not-waiting');
    await store.requestInput(alice, taskId, questions);
    await expect(store.answer(alice, taskId, { name: 'Ada', other: 'x' })).resolves.toBe('accepted');
    expect((await store.get(alice, taskId))?.inputRequests).toEqual({ confirm: questions.confirm });
    // A retried update whose first try landed keeps nothing more and is acknowledged.
    await expect(store.answer(alice, taskId, { name: 'Ada' })).resolves.toBe('accepted');
    await expect(store.answer(alice, taskId, { other: 'x' })).resolves.toBe('accepted');
    await expect(store.answer(alice, taskId, {})).resolves.toBe('accepted');
    await expect(store.answer(alice, taskId, { confirm: 'yes', other: 'x' })).resolves.toEqual({ resumed: 2 });
    await expect(store.answers(alice, taskId)).resolves.toEqual({
      status: 'working',
      answers: { name: 'Ada', confirm: 'yes' },
    });
  });

  it('lets the worker finish or the client cancel while a question is open', async () => {
    const { store } = storeAt();
    const first = await working(store);
    await store.requestInput(alice, first, questions);
    await expect(store.cancel(alice, first)).resolves.toBe('cancelled');
    await expect(store.answer(alice, first, { name: 'Ada' })).resolves.toBe('not-waiting');
    const second = await working(store);
    await store.requestInput(alice, second, questions);
    await expect(store.fail(alice, second, { code: -32603, message: 'gave up waiting' })).resolves.toBe('recorded');
    expect((await store.get(alice, second))?.status).toBe('failed');
  });
});

describe('claims of a worker', () => {
  it('lets one invocation take the task; a duplicate delivery finds it taken', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    await expect(store.claim(alice, taskId, 'request-1', 1)).resolves.toBe('claimed');
    await expect(store.claim(alice, taskId, 'request-1', 1)).resolves.toBe('claimed');
    await expect(store.claim(alice, taskId, 'request-2', 1)).resolves.toBe('taken');
    await expect(store.claim(bob, taskId, 'request-3', 1)).resolves.toBe('unknown');
  });

  it('tells a worker that starts late that the task was cancelled or has ended', async () => {
    const { store } = storeAt();
    const cancelled = await working(store);
    await store.cancel(alice, cancelled);
    await expect(store.claim(alice, cancelled, 'late', 1)).resolves.toBe('cancelled');
    const failed = await working(store);
    await store.fail(alice, failed, { code: -32603, message: 'x' });
    await expect(store.claim(alice, failed, 'late', 1)).resolves.toBe('ended');
  });

  it('gives the client its own time to answer once the worker ends, and the next round a new deadline and a new claim', async () => {
    const { store, clock } = storeAt();
    const taskId = (await store.create(alice, { ttlMs: HOUR, runForMs: MINUTE })).taskId;
    await store.claim(alice, taskId, 'round-1', 1);
    const question = { q: { method: 'elicitation/create' } };
    await store.requestInput(alice, taskId, question, { answerWithinMs: 30 * MINUTE });
    clock.now = START + 10 * MINUTE;
    expect((await store.get(alice, taskId))?.status).toBe('input_required');
    await expect(store.answer(alice, taskId, { q: 'yes' }, { runForMs: 2 * MINUTE })).resolves.toEqual({ resumed: 2 });
    // A late duplicate of the first round's event cannot take the second round.
    await expect(store.claim(alice, taskId, 'round-1-again', 1)).resolves.toBe('taken');
    await expect(store.claim(alice, taskId, 'round-2', 2)).resolves.toBe('claimed');
    clock.now = START + 12 * MINUTE;
    expect((await store.get(alice, taskId))?.status).toBe('working');
    clock.now = START + 12 * MINUTE + 1;
    expect((await store.get(alice, taskId))?.status).toBe('failed');
  });
});

describe('a worker that dies', () => {
  it('reads as failed once its deadline has passed, and nothing it writes later changes that', async () => {
    const { store, clock } = storeAt();
    const taskId = (await store.create(alice, { ttlMs: HOUR, runForMs: MINUTE })).taskId;
    clock.now = START + MINUTE;
    expect((await store.get(alice, taskId))?.status).toBe('working');
    clock.now = START + MINUTE + 1;
    expect(await store.get(alice, taskId)).toMatchObject({
      status: 'failed',
      error: WORKER_LOST_ERROR,
      lastUpdatedAt: new Date(START + MINUTE).toISOString(),
    });
    await expect(store.complete(alice, taskId, { content: [] })).resolves.toBe('ended');
    await expect(store.cancel(alice, taskId)).resolves.toBe('already-terminal');
    expect((await store.get(alice, taskId))?.status).toBe('failed');
  });

  it('reads as failed while it waited for an answer that never came', async () => {
    const { store, clock } = storeAt();
    const taskId = (await store.create(alice, { ttlMs: HOUR, runForMs: MINUTE })).taskId;
    await store.requestInput(alice, taskId, { q: { method: 'elicitation/create' } });
    clock.now = START + 2 * MINUTE;
    const view = await store.get(alice, taskId);
    expect(view?.status).toBe('failed');
    expect(view).not.toHaveProperty('inputRequests');
  });
});

describe('results', () => {
  it('refuses a result over the inline bound with a clear error and leaves the task working', async () => {
    const { store } = storeAt({ maxResultBytes: 1000 });
    const taskId = await working(store);
    const big = { content: [{ type: 'text', text: 'x'.repeat(1000) }] };
    const refused = store.complete(alice, taskId, big);
    await expect(refused).rejects.toThrow(TaskResultTooLargeError);
    await expect(refused).rejects.toMatchObject({ code: 'TASK_RESULT_TOO_LARGE', limitBytes: 1000 });
    expect((await store.get(alice, taskId))?.status).toBe('working');
  });

  it('keeps a result just under the default bound of 350 000 bytes', async () => {
    const { store } = storeAt();
    const taskId = await working(store);
    const result = { content: [{ type: 'text', text: 'y'.repeat(349_900) }] };
    await expect(store.complete(alice, taskId, result)).resolves.toBe('recorded');
    expect((await store.get(alice, taskId))?.result).toEqual(result);
    const bigger = await working(store);
    await expect(
      store.complete(alice, bigger, { content: [{ type: 'text', text: 'y'.repeat(350_000) }] }),
    ).rejects.toThrow(TaskResultTooLargeError);
  });

  it('refuses a bound beyond what a DynamoDB item holds', () => {
    expect(() => storeAt({ maxResultBytes: 400_000 })).toThrow(RangeError);
  });
});

describe('costs and failures', () => {
  it('spends one DynamoDB request per step of a task of ten progress reports, and never scans', async () => {
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials });
    const operations: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        operations.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countOperations' },
    );
    const { store } = storeAt({ client });
    const taskId = (await store.create(alice, newTask)).taskId;
    for (let step = 1; step <= 10; step++) await store.progress(alice, taskId, `Step ${step} of 10`);
    await store.complete(alice, taskId, { content: [{ type: 'text', text: 'done' }] });
    await store.get(alice, taskId);
    client.destroy();
    expect(operations).toEqual(['PutItemCommand', ...Array(11).fill('UpdateItemCommand'), 'GetItemCommand']);
  });

  it("keeps the call and the tool's requestState for the next round, out of the client's view", async () => {
    const { store } = storeAt();
    const call = { name: 'confirm', arguments: { question: 'Ship?' } };
    const { taskId } = await store.create(alice, { ...newTask, call });
    await store.requestInput(
      alice,
      taskId,
      { confirm: { method: 'elicitation/create' } },
      { requestState: 'v1.sealed' },
    );
    const view = await store.get(alice, taskId);
    expect(JSON.stringify(view)).not.toMatch(/v1\.sealed|Ship\?/);
    await expect(store.answers(alice, taskId)).resolves.toMatchObject({ call, requestState: 'v1.sealed' });
    await expect(store.answers(bob, taskId)).resolves.toBeUndefined();
  });

  it('reports DynamoDB out of reach as TaskStoreUnavailableError', async () => {
    const { store } = storeAt({
      clientConfig: { endpoint: 'http://127.0.0.1:9', region, credentials, maxAttempts: 1 },
    });
    await expect(store.get(alice, newTaskId())).rejects.toThrow(TaskStoreUnavailableError);
  });
});
