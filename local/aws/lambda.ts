/**
 * A local Lambda endpoint for the functions of the local stack: `Invoke`
 * (`POST /2015-03-31/functions/{FunctionName}/invocations`, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)
 * on loopback, reached by the AWS SDK in a function through `AWS_ENDPOINT_URL_LAMBDA`, as it would
 * reach the real service. Each function signs with its own local access key id, so a call is
 * checked against the caller's role as IAM would: without `lambda:InvokeFunction` on the target,
 * `AccessDeniedException`. Request signatures are not verified (the keys are local and fake).
 *
 * Invocation types (`X-Amz-Invocation-Type`):
 * - `Event` (asynchronous): answered 202 at once after the checks; the event goes to the target's
 *   queue and runs on its own processes, within its concurrency and timeout. Payloads up to 1 MB.
 * - `RequestResponse` (the default): runs and answers 200 with the payload; a function error is
 *   200 with `X-Amz-Function-Error: Unhandled`; a throttle 429. Payloads up to 6 MB.
 * - `DryRun`: the checks only, 204.
 *
 * The queue follows "How Lambda handles errors and retries with asynchronous invocation"
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html): a function
 * error (the handler threw, timed out, or its process died) is retried `MaximumRetryAttempts`
 * times (2 unless the template's `AWS::Lambda::EventInvokeConfig` says otherwise; 0 to 2), one
 * minute before the first retry and two before the second; a throttle (429) goes back to the
 * queue and is retried with a delay growing exponentially from 1 second to 5 minutes, until the
 * event is older than `MaximumEventAgeInSeconds` (6 hours unless configured,
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html). Locally every
 * delay is multiplied by `delayScale` (1/100 by default: retries after 0.6 s and 1.2 s, throttle
 * back-off from 10 ms to 3 s) so a run does not wait minutes; the event age is real time. A retry
 * keeps the event's request id, as on Lambda. Destinations and dead-letter queues are not
 * emulated: a dropped event is written to the log with its reason.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What an invocation of a local function ended with (LocalFunction's outcome, narrowed). */
export type LocalInvocationOutcome =
  | { readonly ok: true; readonly payload: string }
  | {
      readonly ok: false;
      readonly failure: string;
      readonly error: { readonly errorType: string; readonly errorMessage: string };
    };

/** A function the endpoint can invoke. */
export interface InvocableFunction {
  readonly functionName: string;
  readonly arn: string;
  /** Retries of a failed asynchronous event, 0 to 2. */
  readonly maximumRetryAttempts: number;
  /** How long an event may wait in the queue, in seconds. */
  readonly maximumEventAgeSeconds: number;
  invoke(event: unknown, requestId: string): Promise<LocalInvocationOutcome>;
}

/** Whether the function that signs with `accessKeyId` may call `action` on `functionArn`. */
export type InvokeAccessCheck = (accessKeyId: string | undefined, action: string, functionArn: string) => boolean;

/** What became of the asynchronous events of one function. */
export interface AsyncEventStats {
  /** Events accepted (202). */
  accepted: number;
  /** Attempts to run them, retries included. */
  attempts: number;
  /** Events whose last attempt succeeded. */
  succeeded: number;
  /** Events dropped after their last retry failed. */
  failed: number;
  /** Events dropped because they grew older than the maximum event age. */
  expired: number;
}

export interface LocalLambdaOptions {
  /** The functions by name; looked up on each call, so they may be attached after the endpoint starts. */
  readonly functions: () => ReadonlyMap<string, InvocableFunction>;
  readonly mayInvoke: InvokeAccessCheck;
  readonly log: (line: string) => void;
  /** Multiplies every retry delay. @default 0.01 */
  readonly delayScale?: number;
}

export interface LocalLambda {
  /** e.g. `http://127.0.0.1:49152`, for `AWS_ENDPOINT_URL_LAMBDA`. */
  readonly endpoint: string;
  /** Asynchronous events by function name. */
  readonly asyncEvents: ReadonlyMap<string, Readonly<AsyncEventStats>>;
  /** Stops accepting calls; queued events are dropped (their retries are not run). */
  close(): Promise<void>;
}

export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
/** Lambda's waits before the first and the second retry of a failed event. */
const FUNCTION_ERROR_RETRY_DELAYS_MS = [60_000, 120_000];
const THROTTLE_FIRST_DELAY_MS = 1000;
const THROTTLE_MAX_DELAY_MS = 5 * 60_000;
export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 6 * 60 * 60;
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** Lambda's REST-JSON error: the type in `X-Amzn-ErrorType`, the message in the body. */
function failure(res: http.ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': type,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(JSON.stringify({ Type: 'User', message, Message: message }));
}

async function bodyOf(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The name in a FunctionName parameter: a name, a full or partial ARN, each maybe with `:$LATEST`. */
function functionNameOf(raw: string): { name: string; qualifier?: string } {
  const parts = decodeURIComponent(raw).split(':');
  const at = parts.indexOf('function');
  const [name, qualifier] = at >= 0 ? parts.slice(at + 1) : parts;
  return { name: name ?? '', qualifier };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export async function startLocalLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const asyncEvents = new Map<string, AsyncEventStats>();
  const closing = new AbortController();
  const queue: Queue = {
    asyncEvents,
    closing: closing.signal,
    log: options.log,
    delayScale: options.delayScale ?? 0.01,
  };
  const server = http.createServer((req, res) => {
    serveInvoke(options, queue, req, res).catch((error: unknown) =>
      failure(res, 500, 'ServiceException', (error as Error).message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    asyncEvents,
    close: () => {
      closing.abort();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Queue {
  readonly asyncEvents: Map<string, AsyncEventStats>;
  readonly closing: AbortSignal;
  readonly log: (line: string) => void;
  readonly delayScale: number;
}

async function serveInvoke(
  options: LocalLambdaOptions,
  queue: Queue,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const match = INVOKE_PATH.exec((req.url ?? '').split('?')[0] ?? '');
  if (req.method !== 'POST' || !match)
    return failure(
      res,
      400,
      'InvalidRequestContentException',
      `The local Lambda serves Invoke only, not ${req.method} ${req.url}.`,
    );
  const { name, qualifier } = functionNameOf(match[1] ?? '');
  const target = options.functions().get(name);
  if (target === undefined || (qualifier !== undefined && qualifier !== '$LATEST'))
    return failure(
      res,
      404,
      'ResourceNotFoundException',
      `Function not found: ${name}${qualifier ? `:${qualifier}` : ''} (the local stack runs the functions its API invokes, at $LATEST).`,
    );
  if (!options.mayInvoke(accessKeyIdOf(req.headers.authorization), 'lambda:InvokeFunction', target.arn))
    return failure(
      res,
      403,
      'AccessDeniedException',
      `The caller is not authorized to perform lambda:InvokeFunction on resource ${target.arn}.`,
    );
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  const body = await bodyOf(req);
  const limit = type === 'Event' ? MAX_ASYNC_PAYLOAD_BYTES : MAX_SYNC_PAYLOAD_BYTES;
  if (body.length > limit)
    return failure(
      res,
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${limit} bytes for the ${type === 'Event' ? 'asynchronous' : 'synchronous'} Invoke operation.`,
    );
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    return failure(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json.');
  }
  const requestId = randomUUID();
  if (type === 'DryRun') return void res.writeHead(204, { 'x-amzn-requestid': requestId }).end();
  if (type === 'Event') {
    enqueue(queue, target, event, requestId);
    return void res.writeHead(202, { 'x-amzn-requestid': requestId }).end();
  }
  if (type !== 'RequestResponse')
    return failure(res, 400, 'InvalidParameterValueException', `Unknown invocation type: ${type}.`);
  await answerSynchronously(target, event, requestId, res);
}

async function answerSynchronously(
  target: InvocableFunction,
  event: unknown,
  requestId: string,
  res: http.ServerResponse,
): Promise<void> {
  const outcome = await target.invoke(event, requestId);
  if (outcome.ok) {
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-amzn-requestid': requestId,
      'x-amz-executed-version': '$LATEST',
    });
    return void res.end(outcome.payload);
  }
  if (outcome.failure === 'throttled') return failure(res, 429, 'TooManyRequestsException', outcome.error.errorMessage);
  if (outcome.failure === 'request-too-large')
    return failure(res, 413, 'RequestTooLargeException', outcome.error.errorMessage);
  res.writeHead(200, {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amz-function-error': 'Unhandled',
    'x-amz-executed-version': '$LATEST',
  });
  res.end(JSON.stringify({ errorType: outcome.error.errorType, errorMessage: outcome.error.errorMessage }));
}

function statsOf(queue: Queue, functionName: string): AsyncEventStats {
  let stats = queue.asyncEvents.get(functionName);
  if (stats === undefined) {
    stats = { accepted: 0, attempts: 0, succeeded: 0, failed: 0, expired: 0 };
    queue.asyncEvents.set(functionName, stats);
  }
  return stats;
}

function enqueue(queue: Queue, target: InvocableFunction, event: unknown, requestId: string): void {
  statsOf(queue, target.functionName).accepted++;
  // The caller has its 202; the event runs on its own from here, as Lambda's queue runs it.
  setImmediate(() => {
    deliver(queue, target, event, requestId).catch((error: unknown) =>
      queue.log(`async event ${requestId} for ${target.functionName} dropped: ${(error as Error).message}`),
    );
  });
}

/** Runs one event to its end: success, its last retry failed, or too old. */
async function deliver(queue: Queue, target: InvocableFunction, event: unknown, requestId: string): Promise<void> {
  const stats = statsOf(queue, target.functionName);
  const enqueuedAt = Date.now();
  let retries = 0;
  let throttleDelayMs = THROTTLE_FIRST_DELAY_MS;
  const prefix = `async event ${requestId} for ${target.functionName}`;
  while (!queue.closing.aborted) {
    if (Date.now() - enqueuedAt > target.maximumEventAgeSeconds * 1000) {
      stats.expired++;
      return queue.log(`${prefix} dropped: older than its maximum event age (${target.maximumEventAgeSeconds} s)`);
    }
    stats.attempts++;
    const outcome = await target.invoke(event, requestId);
    if (outcome.ok) {
      stats.succeeded++;
      return;
    }
    if (outcome.failure === 'throttled') {
      queue.log(`${prefix} throttled; back in the queue for ${throttleDelayMs} ms (scaled by ${queue.delayScale})`);
      await sleep(throttleDelayMs * queue.delayScale, queue.closing);
      throttleDelayMs = Math.min(throttleDelayMs * 2, THROTTLE_MAX_DELAY_MS);
      continue;
    }
    if (retries >= target.maximumRetryAttempts) {
      stats.failed++;
      return queue.log(
        `${prefix} dropped after ${retries + 1} attempt(s): ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      );
    }
    const delayMs = FUNCTION_ERROR_RETRY_DELAYS_MS[retries] ?? THROTTLE_MAX_DELAY_MS;
    retries++;
    queue.log(
      `${prefix} failed (${outcome.error.errorType}); retry ${retries} in ${delayMs} ms (scaled by ${queue.delayScale})`,
    );
    await sleep(delayMs * queue.delayScale, queue.closing);
  }
}
