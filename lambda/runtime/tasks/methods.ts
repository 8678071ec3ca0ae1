/**
 * The tasks extension's side of the request pipeline: the methods the runtime answers itself, before
 * the MCP SDK sees them (SDK 2.4 has no tasks extension and answers `tasks/*` in the 2025-11-25
 * shapes; delete this interception when the SDK ships its own, keeping the store and the worker).
 *
 * | Method | Extension declared | Not declared |
 * | --- | --- | --- |
 * | `tasks/get` | the task (`resultType: "complete"`), or `-32602` | `-32021` |
 * | `tasks/update` | ack; `-32602` for an unknown task; answers to keys nothing asks for are ignored | `-32021` |
 * | `tasks/cancel` | ack (also for a finished task); `-32602` for an unknown task | `-32021` |
 * | `tasks/result`, `tasks/list` | `-32601` | `-32601` |
 * | `tools/call` of a task tool | a task: created, its worker invoked, `CreateTaskResult` | `required`: `-32021`; else the SDK |
 *
 * Any other message costs one method comparison and goes on to the SDK. The task methods check
 * `Mcp-Name` against `params.taskId` (SEP-2243, `-32020`) since the SDK, which checks it for the
 * other methods, never sees them.
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import { callerOf } from '../caller';
import type { ParsedMessage } from '../json-rpc';
import type { RequestRecord } from '../request-record';
import { jsonRpcErrorResponse, INTERNAL_ERROR } from '../responses';
import { identityOf } from './event';
import type { TaskInvoker } from './invoker';
import type { TaskStore } from './store';
import {
  ack,
  headerMismatch,
  invalidParams,
  missingCapability,
  optedIn,
  REMOVED_TASK_METHODS,
  removedMethod,
  resultResponse,
  unknownTask,
  type ToolTaskOptions,
} from './support';

/** What the tasks step reads of a checked request. */
export interface TaskRequest {
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
  readonly header: (name: string) => string | undefined;
  readonly record: RequestRecord;
}

/** Answers a task request, or `undefined` (synchronously) for a message that is none of its business. */
export type TasksStep = (request: TaskRequest) => Promise<Response> | undefined;

/** How long tasks live and how often clients are told to poll. */
export interface TaskTimes {
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  /** A worker's longest run, from creation or from the answer that resumed it. */
  readonly runForMs: number;
}

export interface TasksStepOptions {
  readonly store: TaskStore;
  readonly invoke: TaskInvoker;
  /** The task options of each tool that declared some. */
  readonly tools: ReadonlyMap<string, ToolTaskOptions>;
  readonly times: TaskTimes;
  readonly now?: () => number;
}

export function createTasksStep(options: TasksStepOptions): TasksStep {
  const { tools } = options;
  return (request) => {
    const method = request.parsed.rpcMethod;
    if (method === 'tools/call') {
      const task = tools.get(request.parsed.tool ?? '');
      return task === undefined || task.support === 'forbidden' ? undefined : toolCall(options, task, request);
    }
    if (method === undefined || !method.startsWith('tasks/')) return undefined;
    return taskMethod(options, method, request);
  };
}

function toolCall(
  options: TasksStepOptions,
  task: ToolTaskOptions,
  request: TaskRequest,
): Promise<Response> | undefined {
  const { parsed } = request;
  const params = parsed.params ?? {};
  if (task.when !== undefined && !task.when(params)) return undefined;
  if (!optedIn(params)) {
    if (task.support === 'optional') return undefined;
    request.record.reasons.push(`tool ${parsed.tool} runs only as a task; the client did not declare the extension`);
    return Promise.resolve(missingCapability(parsed.id, `the tool ${parsed.tool}`));
  }
  // The SDK checks these headers for the calls it serves; this one it never sees.
  const mcpMethod = request.header('mcp-method');
  const mcpName = request.header('mcp-name');
  if ((mcpMethod !== undefined && mcpMethod !== 'tools/call') || (mcpName !== undefined && mcpName !== parsed.tool))
    return Promise.resolve(headerMismatch(parsed.id, 'Mcp-Method or Mcp-Name does not match the body'));
  return createTask(options, request, params);
}

async function createTask(
  { store, invoke, times, now = Date.now }: TasksStepOptions,
  { parsed, authInfo, record }: TaskRequest,
  params: Readonly<Record<string, unknown>>,
): Promise<Response> {
  const caller = callerOf(authInfo);
  const { taskId, ...task } = await store.create(caller, {
    ttlMs: times.ttlMs,
    pollIntervalMs: times.pollIntervalMs,
    runForMs: times.runForMs,
    call: params,
  });
  record.reasons.push(`task ${taskId} created`);
  try {
    await invoke({ taskId, round: 1, identity: identityOf(authInfo), call: params, issuedAt: now() });
  } catch (error) {
    const reason = `the task's worker could not be started: ${(error as Error).message}`;
    record.reasons.push(reason);
    await store.fail(caller, taskId, { code: INTERNAL_ERROR, message: "The task's worker could not be started." });
    return jsonRpcErrorResponse(500, INTERNAL_ERROR, `Internal error (request id ${record.requestId})`, {
      id: parsed.id,
      data: { requestId: record.requestId },
    });
  }
  return resultResponse(parsed.id, { resultType: 'task', taskId, ...task });
}

function taskMethod(options: TasksStepOptions, method: string, request: TaskRequest): Promise<Response> {
  const { parsed, header } = request;
  if ((REMOVED_TASK_METHODS as readonly string[]).includes(method))
    return Promise.resolve(removedMethod(parsed.id, method));
  if (method !== 'tasks/get' && method !== 'tasks/update' && method !== 'tasks/cancel')
    return Promise.resolve(removedMethod(parsed.id, method));
  const mcpMethod = header('mcp-method');
  if (mcpMethod !== undefined && mcpMethod !== method)
    return Promise.resolve(headerMismatch(parsed.id, `Mcp-Method is ${mcpMethod}, the body's method is ${method}`));
  if (!optedIn(parsed.params)) {
    request.record.reasons.push(`${method} from a client that did not declare the tasks extension`);
    return Promise.resolve(missingCapability(parsed.id, method));
  }
  const taskId = parsed.params?.taskId;
  if (typeof taskId !== 'string') return Promise.resolve(invalidParams(parsed.id, 'taskId must be a string'));
  const mcpName = header('mcp-name');
  if (mcpName !== undefined && mcpName !== taskId)
    return Promise.resolve(headerMismatch(parsed.id, 'Mcp-Name does not match params.taskId'));
  if (method === 'tasks/get') return getTask(options, request, taskId);
  if (method === 'tasks/cancel') return cancelTask(options, request, taskId);
  return updateTask(options, request, taskId);
}

async function getTask({ store }: TasksStepOptions, { parsed, authInfo }: TaskRequest, taskId: string) {
  const task = await store.get(callerOf(authInfo), taskId);
  return task === undefined ? unknownTask(parsed.id) : resultResponse(parsed.id, { resultType: 'complete', ...task });
}

async function cancelTask({ store }: TasksStepOptions, { parsed, authInfo, record }: TaskRequest, taskId: string) {
  const outcome = await store.cancel(callerOf(authInfo), taskId);
  if (outcome === 'unknown') return unknownTask(parsed.id);
  record.reasons.push(`task ${taskId}: ${outcome}`);
  return ack(parsed.id);
}

async function updateTask(options: TasksStepOptions, request: TaskRequest, taskId: string) {
  const { store, invoke, times, now = Date.now } = options;
  const { parsed, authInfo, record } = request;
  const responses = parsed.params?.inputResponses;
  if (typeof responses !== 'object' || responses === null || Array.isArray(responses))
    return invalidParams(parsed.id, 'inputResponses must be an object');
  const caller = callerOf(authInfo);
  const outcome = await store.answer(caller, taskId, responses as Record<string, unknown>, {
    runForMs: times.runForMs,
  });
  if (outcome === 'unknown') return unknownTask(parsed.id);
  if (typeof outcome === 'string') {
    record.reasons.push(`task ${taskId}: answers ${outcome}`);
    return ack(parsed.id);
  }
  record.reasons.push(`task ${taskId}: answered, round ${outcome.resumed} starts`);
  try {
    await invoke({ taskId, round: outcome.resumed, identity: identityOf(authInfo), issuedAt: now() });
  } catch (error) {
    record.reasons.push(`the task's worker could not be resumed: ${(error as Error).message}`);
    await store.fail(caller, taskId, { code: INTERNAL_ERROR, message: "The task's worker could not be resumed." });
  }
  return ack(parsed.id);
}
