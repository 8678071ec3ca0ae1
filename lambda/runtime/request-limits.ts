/**
 * The limits of one request: the invocation's time limit less a margin, a listen stream's hold, a
 * response stream that closed before the answer was written, and a refusal that arrives while the
 * request runs (the per-caller limit, reached by a request that outlived its grace period). Any of
 * them aborts `signal` (the MCP SDK then cancels the request and its tool). Buffered requests get
 * limits too, without a stream and without a time limit (Lambda's own timeout ends them), so that a
 * refusal can still abort them.
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

export type GiveUpReason = 'timeout' | 'disconnected' | 'hold' | 'refused';

/** What a request given up with {@link RequestLimits.refuse} answers: a JSON-RPC error, with its HTTP status when nothing was sent yet. */
export interface GiveUpAnswer {
  readonly status: number;
  readonly code: number;
  readonly message: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

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
  /** Gives the request up with `answer`, unless something else ended it first. */
  refuse(answer: GiveUpAnswer): void;
  /** The answer given to {@link refuse}, once the request was given up that way. */
  readonly refusal: () => GiveUpAnswer | undefined;
  /** Milliseconds left before Lambda stops the invocation, when Lambda says. */
  readonly remainingMs: () => number | undefined;
  readonly timeLimitMs?: number;
  dispose(): void;
}

export interface RequestLimitsOptions {
  /** The streamed answer's stream: closing it early gives the request up. Absent when buffered. */
  readonly responseStream?: LambdaResponseStream;
  /** Lambda's `getRemainingTimeInMillis`, when there is a Lambda context. */
  readonly remaining?: () => number;
  /** Gives a streamed request up this long before the invocation's end; absent, no time limit is set here. */
  readonly marginMs?: number;
}

export function requestLimits({ responseStream, remaining, marginMs }: RequestLimitsOptions): RequestLimits {
  const controller = new AbortController();
  let reason: GiveUpReason | undefined;
  let refusal: GiveUpAnswer | undefined;
  const abort = (why: GiveUpReason): void => {
    if (reason !== undefined) return;
    reason = why;
    controller.abort(new Error(`request given up: ${why}`));
  };
  const onClose = (): void => {
    if (!responseStream?.writableFinished) abort('disconnected');
  };
  responseStream?.on('close', onClose);
  const remainingMs = remaining?.();
  const timers: NodeJS.Timeout[] = [];
  if (remainingMs !== undefined && marginMs !== undefined)
    timers.push(setTimeout(() => abort('timeout'), Math.max(0, remainingMs - marginMs)));
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
    refuse: (answer) => {
      if (reason !== undefined) return;
      refusal = answer;
      abort('refused');
    },
    refusal: () => refusal,
    remainingMs: () => remaining?.(),
    timeLimitMs: marginMs === undefined ? undefined : remainingMs,
    dispose: () => {
      for (const timer of timers) clearTimeout(timer);
      responseStream?.off('close', onClose);
      controller.signal.removeEventListener('abort', onAbort);
    },
  };
}

export function timeoutMessage(limits: RequestLimits): string {
  const seconds = limits.timeLimitMs === undefined ? undefined : Math.round(limits.timeLimitMs / 1000);
  return `Request timed out: the server's time limit${seconds === undefined ? '' : ` (${seconds} s)`} was reached before the answer was complete`;
}

/** The JSON-RPC error a request given up mid-way ends with: the refusal's, or the time limit's. */
export function giveUpError(limits: RequestLimits): { code: number; message: string; data?: unknown } {
  const refused = limits.refusal();
  if (refused !== undefined) return { code: refused.code, message: refused.message, data: refused.data };
  return { code: INTERNAL_ERROR, message: timeoutMessage(limits) };
}

/** The JSON answer for a request given up before its response started. */
export function giveUpResponse(limits: RequestLimits, id: RequestId | null | undefined): Response {
  if (limits.reason() === 'disconnected') throw new StreamClosedError();
  const refused = limits.refusal();
  if (refused !== undefined)
    return jsonRpcErrorResponse(refused.status, refused.code, refused.message, {
      id: id ?? null,
      data: refused.data,
      headers: refused.headers,
    });
  return jsonRpcErrorResponse(504, INTERNAL_ERROR, timeoutMessage(limits), { id: id ?? null });
}
