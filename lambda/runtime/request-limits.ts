/**
 * The limits of one streamed request: the invocation's time limit less a margin, a listen stream's
 * hold, and a response stream that closed before the answer was written. Any of them aborts
 * `signal` (the MCP SDK then cancels the request and its tool).
 *
 * A client that goes away is not among them on AWS: API Gateway does not tell the function that its
 * client left, and the Lambda Node.js runtime raises no event on the response stream
 * (aws/aws-lambda-nodejs-runtime-interface-client issue #145; the local gateway behaves the same).
 * A streamed request therefore runs until it ends or reaches its time limit, whatever the client
 * does. A `close` before the answer is finished is the stream itself failing.
 */
import type { RequestId } from '@modelcontextprotocol/server';
import { StreamClosedError, type LambdaResponseStream } from './response-stream';
import { INTERNAL_ERROR, jsonRpcErrorResponse } from './responses';

export type GiveUpReason = 'timeout' | 'disconnected' | 'hold';

export interface RequestLimits {
  readonly signal: AbortSignal;
  /** Why the request was given up, if it was. */
  readonly reason: () => GiveUpReason | undefined;
  /** Resolves with the promise's value, or with undefined once the limits abort the request. */
  race<T>(promise: Promise<T>): Promise<T | undefined>;
  /** Ends a listen stream after `seconds`, unless something else ends it first. */
  holdFor(seconds: number): void;
  /** Gives the request up because its stream can no longer be written. */
  disconnected(): void;
  readonly timeLimitMs?: number;
  dispose(): void;
}

/** `remainingMs` is what Lambda reports as left of the invocation, when it does. */
export function requestLimits(
  responseStream: LambdaResponseStream,
  remainingMs: number | undefined,
  marginMs: number,
): RequestLimits {
  const controller = new AbortController();
  let reason: GiveUpReason | undefined;
  const abort = (why: GiveUpReason): void => {
    if (reason !== undefined) return;
    reason = why;
    controller.abort(new Error(`request given up: ${why}`));
  };
  const onClose = (): void => {
    if (!responseStream.writableFinished) abort('disconnected');
  };
  responseStream.on('close', onClose);
  const timers: NodeJS.Timeout[] = [];
  if (remainingMs !== undefined) timers.push(setTimeout(() => abort('timeout'), Math.max(0, remainingMs - marginMs)));
  // Removed again in dispose: a Request made with this signal keeps the signal alive for as long
  // as the Request lives, and a listener left on it would keep this request's answer alive too.
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    signal: controller.signal,
    reason: () => reason,
    race: (promise) => Promise.race([promise, aborted]),
    holdFor: (seconds) => void timers.push(setTimeout(() => abort('hold'), seconds * 1000)),
    disconnected: () => abort('disconnected'),
    timeLimitMs: remainingMs,
    dispose: () => {
      for (const timer of timers) clearTimeout(timer);
      responseStream.off('close', onClose);
      controller.signal.removeEventListener('abort', onAbort);
    },
  };
}

export function timeoutMessage(limits: RequestLimits): string {
  const seconds = limits.timeLimitMs === undefined ? undefined : Math.round(limits.timeLimitMs / 1000);
  return `Request timed out: the server's time limit${seconds === undefined ? '' : ` (${seconds} s)`} was reached before the answer was complete`;
}

/** The JSON answer for a request given up before its response started. */
export function timeoutResponse(limits: RequestLimits, id: RequestId | null | undefined): Response {
  if (limits.reason() === 'disconnected') throw new StreamClosedError();
  return jsonRpcErrorResponse(504, INTERNAL_ERROR, timeoutMessage(limits), { id: id ?? null });
}
