/**
 * The task's worker: the MCP function invoked asynchronously with a task event (event.ts). In order:
 * the event's MAC and age; the claim (`store.claim`, so a second delivery of the same event runs
 * nothing); the tool policies, as for any call; then the tool, as the caller, through the same
 * server factory and SDK as a request (a `tools/call` built here, never sent over HTTP). What the
 * tool sends and returns goes to the task:
 * - `notifications/progress` → `store.progress` (its `message`, or `progress/total`), at most one
 *   write per {@link PROGRESS_WRITE_INTERVAL_MS}: a chatty tool cannot spend unbounded writes; the
 *   latest message wins.
 * - An `InputRequiredResult` (2026-07-28 multi-round-trip) → `store.requestInput` with its
 *   `requestState`; the worker ends, and the `tasks/update` that answers the last question starts
 *   the next round, which calls the tool again with the answers, as a client re-sending the call.
 * - A result → `store.complete` (a tool error too: `completed` with `isError`); a JSON-RPC error →
 *   `store.fail`; a result too large to keep → `store.fail` with the reason.
 * Cancellation is cooperative: once the client cancelled, every store write answers `cancelled`;
 * the worker then aborts the tool's signal and writes nothing more. A worker stopped by its timeout
 * writes nothing: the task reads `failed` once its deadline passes.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuthInfo, RequestId } from '@modelcontextprotocol/server';
import { callerOf } from '../caller';
import type { ParsedMessage } from '../json-rpc';
import { firstMessageRefusal, type MessageCheck } from '../message-checks';
import { finish, hooksOf, newRecord } from '../request-record';
import type { SdkServe } from '../sdk-bridge';
import { eventData } from '../sse';
import { TaskResultTooLargeError } from './errors';
import { authInfoOf, type TaskEvent, type TaskEventBody, verifyTaskEvent } from './event';
import type { TaskCaller, TaskError, TaskStore } from './store';

/** Fewest milliseconds between two progress writes of one task. */
export const PROGRESS_WRITE_INTERVAL_MS = 1000;
const PROGRESS_TOKEN = 'task';
const CALL_ID: RequestId = 1;

export interface TaskWorkerOptions {
  readonly store: TaskStore;
  readonly key: () => Promise<string | Uint8Array>;
  /** The SDK, answering as a streaming deployment does (notifications reach the worker). */
  readonly sdk: () => SdkServe;
  readonly checks: readonly MessageCheck[];
  /** The MCP endpoint's URL (the SDK's request needs one). */
  readonly resource: URL;
  /** How long a client has to answer a task's questions. */
  readonly answerWithinMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

export type TaskWorker = (event: TaskEvent, requestId: string | undefined) => Promise<void>;

export function createTaskWorker(options: TaskWorkerOptions): TaskWorker {
  return async (event, requestId) => {
    const workerId = requestId ?? randomUUID();
    const verified = verifyTaskEvent(await options.key(), event, (options.now ?? Date.now)());
    if ('refused' in verified) {
      options.logger.error('task event refused', { reason: verified.refused, requestId: workerId });
      return;
    }
    const { body } = verified;
    const outcome = await runTask(options, body, workerId).catch(
      (error: unknown) => `error: ${(error as Error).message}`,
    );
    options.logger.info('task worker finished', {
      taskId: body.taskId,
      round: body.round,
      outcome,
      requestId: workerId,
    });
  };
}

async function runTask(options: TaskWorkerOptions, body: TaskEventBody, workerId: string): Promise<string> {
  const { store } = options;
  const authInfo = authInfoOf(body.identity);
  const caller = callerOf(authInfo);
  const claim = await store.claim(caller, body.taskId, workerId, body.round);
  if (claim !== 'claimed') return `not run: the claim answered ${claim}`;
  const params = await callParams(store, caller, body);
  if (params === undefined) return 'not run: the task is gone';
  const parsed: ParsedMessage = {
    message: { jsonrpc: '2.0', id: CALL_ID, method: 'tools/call', params },
    id: CALL_ID,
    rpcMethod: 'tools/call',
    tool: typeof params.name === 'string' ? params.name : undefined,
    params,
  };
  const refused = await firstMessageRefusal(options.checks, { parsed, authInfo });
  if (refused) {
    const error = (await errorOf(refused.refused)) ?? { code: -32603, message: refused.reason };
    return `refused (${refused.reason}): ${await store.fail(caller, body.taskId, error)}`;
  }
  return callTool(options, { caller, taskId: body.taskId, authInfo, parsed, workerId });
}

/** The call's params: the event's on round 1; later, the kept call with the answers and the tool's state. */
async function callParams(
  store: TaskStore,
  caller: TaskCaller,
  body: TaskEventBody,
): Promise<Record<string, unknown> | undefined> {
  let params: Record<string, unknown>;
  if (body.round === 1 && body.call !== undefined) params = { ...body.call };
  else {
    const kept = await store.answers(caller, body.taskId);
    if (kept === undefined || typeof kept.call !== 'object' || kept.call === null) return undefined;
    params = { ...(kept.call as Record<string, unknown>), inputResponses: kept.answers };
    if (kept.requestState === undefined) delete params.requestState;
    else params.requestState = kept.requestState;
  }
  const meta = typeof params._meta === 'object' && params._meta !== null ? params._meta : {};
  params._meta = { ...meta, progressToken: PROGRESS_TOKEN };
  return params;
}

async function errorOf(response: Response): Promise<TaskError | undefined> {
  const body = (await response.json().catch(() => undefined)) as { error?: TaskError } | undefined;
  return body?.error;
}

interface Call {
  readonly caller: TaskCaller;
  readonly taskId: string;
  readonly authInfo: AuthInfo;
  readonly parsed: ParsedMessage;
  readonly workerId: string;
}

async function callTool(options: TaskWorkerOptions, call: Call): Promise<string> {
  const abort = new AbortController();
  const progress = progressWriter(options.store, call, () => abort.abort());
  const record = newRecord(call.workerId, 'POST');
  const request = new Request(options.resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      ...(call.parsed.tool === undefined ? {} : { 'mcp-name': call.parsed.tool }),
    },
    signal: abort.signal,
  });
  try {
    const response = await options.sdk()(request, call.parsed, call.authInfo, hooksOf(record));
    const answer = await answerOf(response, progress.report, abort.signal);
    progress.stop();
    if (progress.cancelled()) return 'cancelled while it ran';
    return await recordOutcome(options, call, answer, response.status, record.reasons);
  } finally {
    progress.stop();
    await finish(record);
  }
}

interface RpcAnswer {
  readonly result?: Record<string, unknown>;
  readonly error?: TaskError;
}

/** The JSON-RPC answer to the call, reporting each progress notification met on the way. */
async function answerOf(
  response: Response,
  report: (message: string) => void,
  signal: AbortSignal,
): Promise<RpcAnswer | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream'))
    return (await response.json().catch(() => undefined)) as RpcAnswer | undefined;
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (reader === undefined) return undefined;
  let buffered = '';
  while (!signal.aborted) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) break;
    buffered += value;
    const blocks = buffered.split(/\r\n\r\n|\n\n|\r\r/);
    buffered = blocks.pop() ?? '';
    for (const block of blocks) {
      const message = parsedData(block);
      if (message?.method === 'notifications/progress') report(progressText(message.params));
      else if (message !== undefined && message.id === CALL_ID) {
        await reader.cancel().catch(() => undefined);
        return message as RpcAnswer;
      }
    }
  }
  await reader.cancel().catch(() => undefined);
  return undefined;
}

function parsedData(block: string): Record<string, unknown> | undefined {
  const data = eventData(block);
  if (data === undefined) return undefined;
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function progressText(params: unknown): string {
  const { message, progress, total } = (params ?? {}) as { message?: unknown; progress?: unknown; total?: unknown };
  if (typeof message === 'string' && message !== '') return message;
  return total === undefined ? `${String(progress)}` : `${String(progress)}/${String(total)}`;
}

async function recordOutcome(
  { store, answerWithinMs }: TaskWorkerOptions,
  { caller, taskId }: Call,
  answer: RpcAnswer | undefined,
  status: number,
  reasons: readonly string[],
): Promise<string> {
  if (answer?.error !== undefined) return `failed: ${await store.fail(caller, taskId, answer.error)}`;
  const result = answer?.result;
  if (result === undefined) {
    const message = `The tool's call answered HTTP ${status} without a result${reasons.length ? `: ${reasons.join('; ')}` : ''}`;
    return `failed: ${await store.fail(caller, taskId, { code: -32603, message })}`;
  }
  const { resultType, ...rest } = result;
  if (resultType === 'input_required') {
    const { inputRequests, requestState } = rest as { inputRequests?: Record<string, unknown>; requestState?: unknown };
    const written = await store.requestInput(caller, taskId, inputRequests ?? {}, {
      answerWithinMs,
      ...(typeof requestState === 'string' ? { requestState } : {}),
    });
    return `input required: ${written}`;
  }
  try {
    return `completed: ${await store.complete(caller, taskId, rest)}`;
  } catch (error) {
    if (!(error instanceof TaskResultTooLargeError)) throw error;
    return `failed: ${await store.fail(caller, taskId, { code: -32603, message: error.message })}`;
  }
}

/** Progress writes, coalesced: at most one per interval, the latest message kept; `cancelled` stops the tool. */
function progressWriter(store: TaskStore, { caller, taskId }: Call, cancel: () => void) {
  let lastWrite = 0;
  let pending: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing = false;
  let stopped = false;
  let wasCancelled = false;
  const write = async () => {
    timer = undefined;
    if (stopped || writing || pending === undefined) return;
    const message = pending;
    pending = undefined;
    writing = true;
    lastWrite = Date.now();
    const outcome = await store.progress(caller, taskId, message).catch(() => 'recorded' as const);
    writing = false;
    if (outcome === 'cancelled' || outcome === 'ended' || outcome === 'unknown') {
      wasCancelled = true;
      stopped = true;
      cancel();
      return;
    }
    if (pending !== undefined) schedule();
  };
  const schedule = () => {
    if (timer !== undefined || stopped) return;
    timer = setTimeout(() => void write(), Math.max(0, lastWrite + PROGRESS_WRITE_INTERVAL_MS - Date.now()));
  };
  return {
    report: (message: string) => {
      pending = message;
      schedule();
    },
    cancelled: () => wasCancelled,
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
