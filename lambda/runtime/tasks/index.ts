/**
 * The MCP tasks extension in the runtime, wired from the handler's settings. Tasks are on when a
 * tool declares task support and the function has what a task needs: the state table
 * (`STATE_TABLE_NAME`), a `requestState` key (to sign the worker's event) and its own name
 * (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda). Otherwise no tool call becomes a task, the extension
 * is not advertised and `required` tools answer `-32021` to everyone, with the reason in the log.
 *
 * The pieces: `methods.ts` (the interception before the SDK), `invoker.ts` (the asynchronous
 * Invoke), `event.ts` (the signed task event), `worker.ts` (runs the tool), `store.ts` (DynamoDB).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { McpServer, Server } from '@modelcontextprotocol/server';
import type { RuntimeSettings } from '../config';
import type { MessageCheck } from '../message-checks';
import { INTERNAL_ERROR, jsonRpcErrorResponse } from '../responses';
import { MCP_SETTINGS } from '../../shared/settings/mcp';
import { readSetting } from '../../shared/settings/setting';
import { requestStateKeyLoader } from '../request-state-key';
import type { SdkServe } from '../sdk-bridge';
import type { McpLambdaServerFactory } from '../server-factory';
import type { ToolDefinition } from '../tool-definition';
import { isTaskEvent, type TaskEvent } from './event';
import { createTaskInvoker } from './invoker';
import { createTasksStep, type TasksStep, type TaskTimes } from './methods';
import { createTaskStore } from './store';
import { TASKS_EXTENSION, type ToolTaskOptions } from './support';
import { createTaskWorker, type TaskWorker } from './worker';

export { isTaskEvent, type TaskEvent, type TasksStep, type TaskWorker };
export { TASKS_EXTENSION, type TaskSupport, type ToolTaskOptions } from './support';

/**
 * How long a task stays readable (its `ttlMs`), from creation: an hour, long past any worker's end,
 * so a client that reconnects later still finds the result.
 */
export const TASK_TTL_MS = 3_600_000;
export const TASK_POLL_INTERVAL_MS = 1000;
/** The longest wait of a task's event in Lambda's queue (the construct's `maxEventAge`) plus 5 s of clock margin. */
const QUEUE_AND_CLOCK_MARGIN_MS = 60_000 + 5000;
/** A worker's longest run when the function's timeout is unknown: Lambda's longest invocation (15 minutes) plus the margin. */
export const TASK_RUN_FOR_MS = 900_000 + QUEUE_AND_CLOCK_MARGIN_MS;
/** How long a client has to answer a task's questions. */
export const TASK_ANSWER_WITHIN_MS = 600_000;

/**
 * The times of this function's tasks. A worker's deadline follows the function's own timeout
 * (`FUNCTION_TIMEOUT_SECONDS`, which the construct writes as `mcpTimeout` less one second), so a
 * worker that Lambda stopped at its timeout reads `failed` soon after, not 15 minutes later.
 */
export function taskTimes(env: Readonly<Record<string, string | undefined>>): TaskTimes {
  const timeoutSeconds = readSetting(
    MCP_SETTINGS.functionTimeoutSeconds,
    env,
    ({ variable, message }) => new RangeError(`${variable}: ${message}`),
  );
  const runForMs =
    timeoutSeconds === undefined ? TASK_RUN_FOR_MS : (timeoutSeconds + 1) * 1000 + QUEUE_AND_CLOCK_MARGIN_MS;
  return { ttlMs: TASK_TTL_MS, pollIntervalMs: TASK_POLL_INTERVAL_MS, runForMs };
}

export interface TasksWiring {
  readonly settings: Pick<RuntimeSettings, 'stateTableName' | 'urls'>;
  readonly tools: readonly ToolDefinition[];
  readonly requestStateKey?: string | Uint8Array;
  readonly stateTableClientConfig?: DynamoDBClientConfig;
  /** The message checks a call passes before it runs (the tool policies). */
  readonly checks: readonly MessageCheck[];
  /** The SDK as a streaming deployment answers, made on the first task a worker runs. */
  readonly streamingSdk: () => SdkServe;
  readonly logger: Logger;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface Tasks {
  readonly step: TasksStep;
  readonly worker: TaskWorker;
  /**
   * Runs a task event as Lambda hands it over: `(event, context)`, or `(event, responseStream,
   * context)` for a streaming function, whose stream is ended (an asynchronous invocation's output
   * goes nowhere).
   */
  handleEvent(event: TaskEvent, second?: unknown, third?: unknown): Promise<undefined>;
  /** The factory, with the extension added to the capabilities of every server it makes. */
  withCapability(factory: McpLambdaServerFactory): McpLambdaServerFactory;
}

/** The tasks of this function, or undefined when no tool declares task support. */
export function tasksOf(wiring: TasksWiring): Tasks | undefined {
  const taskTools = new Map<string, ToolTaskOptions>();
  for (const tool of wiring.tools)
    if (tool.task !== undefined && tool.task.support !== 'forbidden') taskTools.set(tool.name, tool.task);
  if (taskTools.size === 0) return undefined;
  const env = wiring.env ?? process.env;
  const functionName = env.AWS_LAMBDA_FUNCTION_NAME;
  const tableName = wiring.settings.stateTableName;
  const key = keySource(wiring.requestStateKey, env);
  const missing = [
    tableName === undefined ? 'STATE_TABLE_NAME (the state table)' : undefined,
    functionName === undefined ? 'AWS_LAMBDA_FUNCTION_NAME (this function’s name)' : undefined,
    key === undefined ? 'a requestState key (REQUEST_STATE_SECRET_ARN or requestStateKey)' : undefined,
  ].filter((item) => item !== undefined);
  if (tableName === undefined || functionName === undefined || key === undefined) {
    wiring.logger.warn('tasks are off: no tool call becomes a task', { missing });
    const worker: TaskWorker = async () => undefined;
    return {
      step: offStep(taskTools),
      worker,
      handleEvent: eventHandler(worker),
      withCapability: (factory) => factory,
    };
  }
  const store = createTaskStore({
    tableName,
    ...(wiring.stateTableClientConfig === undefined ? {} : { clientConfig: wiring.stateTableClientConfig }),
  });
  const worker = createTaskWorker({
    store,
    key,
    sdk: wiring.streamingSdk,
    checks: wiring.checks,
    resource: new URL(wiring.settings.urls.resource),
    answerWithinMs: TASK_ANSWER_WITHIN_MS,
    logger: wiring.logger,
  });
  return {
    step: createTasksStep({
      store,
      invoke: createTaskInvoker({ functionName, key }),
      tools: taskTools,
      times: taskTimes(env),
    }),
    worker,
    handleEvent: eventHandler(worker),
    withCapability: (factory) => (context) => {
      const product = factory(context);
      return product instanceof Promise ? product.then(withTasksCapability) : withTasksCapability(product);
    },
  };
}

function eventHandler(worker: TaskWorker): Tasks['handleEvent'] {
  return async (event, second, third) => {
    const stream = isStream(second) ? second : undefined;
    const context = (stream === undefined ? second : third) as { awsRequestId?: string } | undefined;
    try {
      await worker(event, context?.awsRequestId);
    } finally {
      stream?.end();
    }
    return undefined;
  };
}

function isStream(value: unknown): value is { end(): void } {
  return typeof value === 'object' && value !== null && typeof (value as { write?: unknown }).write === 'function';
}

function keySource(
  given: string | Uint8Array | undefined,
  env: Readonly<Record<string, string | undefined>>,
): (() => Promise<string | Uint8Array>) | undefined {
  if (given !== undefined) return () => Promise.resolve(given);
  const load = requestStateKeyLoader(env);
  if (!env[MCP_SETTINGS.requestStateSecretArn.variable]) return undefined;
  return async () => {
    const key = await load();
    if (key === undefined) throw new Error('no requestState key is configured');
    return key;
  };
}

/** Registers the extension on the server (McpServer or low-level Server) before the SDK connects it. */
function withTasksCapability<T extends McpServer | Server>(server: T): T {
  const low = 'server' in server ? (server as McpServer).server : (server as Server);
  low.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
  return server;
}

/** Without what tasks need, `required` tools cannot run (the log says why); the others run as plain calls. */
function offStep(tools: ReadonlyMap<string, ToolTaskOptions>): TasksStep {
  return ({ parsed, record }) => {
    if (parsed.rpcMethod !== 'tools/call' || tools.get(parsed.tool ?? '')?.support !== 'required') return undefined;
    record.reasons.push(`tool ${parsed.tool} runs only as a task, and tasks are off on this function`);
    return Promise.resolve(
      jsonRpcErrorResponse(500, INTERNAL_ERROR, `Internal error (request id ${record.requestId})`, {
        id: parsed.id,
        data: { requestId: record.requestId },
      }),
    );
  };
}
