/**
 * A Lambda proxy integration with `ResponseTransferMode: STREAM`, as API Gateway serves it:
 * the function is invoked with InvokeWithResponseStream; its output is a JSON metadata prelude,
 * 8 NUL bytes, then the body. The prelude must complete within the first 16 KB and its header
 * values must be strings, else the client gets a 500. Once prelude and delimiter have arrived,
 * status and headers go to the client and each later write of the function is passed on as it
 * arrives. The stream may last up to the integration timeout (at most 15 minutes) and may idle
 * up to 5 minutes between writes (Regional endpoints).
 *
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
 */
import type * as http from 'node:http';
import type { GatewayError } from './gateway-responses';
import { GATEWAY_MESSAGES, lambdaFailureResponse } from './gateway-responses';
import type { LocalFunction, StreamObserver } from './lambda-runtime';
import { MalformedProxyResponseError, mergeResponseHeaders } from './proxy-event';

export const MAX_PRELUDE_BYTES = 16 * 1024;
/** The idle timeout of a streamed response on a Regional endpoint. */
export const STREAM_IDLE_TIMEOUT_MS = 5 * 60_000;
const DELIMITER = Buffer.alloc(8);

export interface StreamPrelude {
  readonly status: number;
  readonly headers: Map<string, string[]>;
}

const PRELUDE_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'cookies']);

/** Checks the metadata JSON of a streamed response; throws MalformedProxyResponseError as API Gateway would answer 500. */
export function parsePrelude(json: Buffer): StreamPrelude {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    throw new MalformedProxyResponseError('the streamed metadata prelude is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new MalformedProxyResponseError('the streamed metadata prelude is not an object');
  const prelude = value as Record<string, unknown>;
  const extra = Object.keys(prelude).filter((key) => !PRELUDE_KEYS.has(key));
  if (extra.length)
    throw new MalformedProxyResponseError(`unexpected field(s) in the streamed metadata prelude: ${extra.join(', ')}`);
  const status = prelude.statusCode ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new MalformedProxyResponseError('statusCode in the streamed metadata prelude must be an integer HTTP status');
  }
  const headers = mergeResponseHeaders(prelude.headers, prelude.multiValueHeaders, 'string');
  if (prelude.cookies !== undefined && prelude.cookies !== null) {
    if (!Array.isArray(prelude.cookies) || prelude.cookies.some((cookie) => typeof cookie !== 'string')) {
      throw new MalformedProxyResponseError('cookies in the streamed metadata prelude must be a list of strings');
    }
    const key = [...headers.keys()].find((name) => name.toLowerCase() === 'set-cookie') ?? 'Set-Cookie';
    headers.set(key, [...(headers.get(key) ?? []), ...(prelude.cookies as string[])]);
  }
  return { status, headers };
}

export type PreludeProgress =
  | { readonly state: 'waiting' }
  | { readonly state: 'complete'; readonly prelude: StreamPrelude; readonly rest: Buffer }
  | { readonly state: 'invalid'; readonly reason: string };

/** Collects the first bytes of a streamed response until the prelude's delimiter (within 16 KB). */
export class PreludeReader {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): PreludeProgress {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const at = this.buffered.indexOf(DELIMITER);
    if (at < 0 || at + DELIMITER.length > MAX_PRELUDE_BYTES) {
      if (this.buffered.length < MAX_PRELUDE_BYTES) return { state: 'waiting' };
      return {
        state: 'invalid',
        reason: `no metadata prelude and 8-NUL delimiter within the first ${MAX_PRELUDE_BYTES} bytes of the stream`,
      };
    }
    try {
      return {
        state: 'complete',
        prelude: parsePrelude(this.buffered.subarray(0, at)),
        rest: this.buffered.subarray(at + DELIMITER.length),
      };
    } catch (error) {
      if (error instanceof MalformedProxyResponseError) return { state: 'invalid', reason: error.message };
      throw error;
    }
  }

  /** Why a stream that ended here had no usable prelude. */
  endedReason(contentType: string | undefined): string {
    const what = this.buffered.length === 0 ? 'an empty stream' : `${this.buffered.length} bytes`;
    return `the function streamed ${what} with no metadata prelude and 8-NUL delimiter (content type ${contentType ?? 'none'}; write through awslambda.HttpResponseStream.from)`;
  }
}

export interface StreamedInvocation {
  readonly fn: LocalFunction;
  readonly event: unknown;
  readonly awsRequestId: string;
  /** `TimeoutInMillis` of the integration. */
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Destroy the function's response stream when the client goes away (AWS does not). */
  readonly tellFunctionWhenClientGone: boolean;
  /** A HEAD request gets status and headers only. */
  readonly headOnly: boolean;
}

/** What the gateway does with the outcome: answer with a gateway response, send the head, log. */
export interface StreamedReply {
  readonly res: http.ServerResponse;
  /** Answers with a gateway response; only while nothing has been sent. */
  gatewayError(error: GatewayError, reason: string): void;
  /** Headers the gateway adds to every answer (request id, trace id). */
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** Called once the response is over, with the status sent and why it ended early, if it did. */
  done(status: number, reason: string): void;
}

type Phase = 'prelude' | 'body' | 'answered';

const BAD_PRELUDE: GatewayError = { type: 'DEFAULT_5XX', message: GATEWAY_MESSAGES.internalServerError, status: 500 };
const TIMED_OUT: GatewayError = { type: 'INTEGRATION_TIMEOUT', message: GATEWAY_MESSAGES.endpointTimedOut };

/**
 * Invokes a function in stream mode and relays its response. Before the prelude is complete a
 * failure gets a gateway response; after it, the status is already sent, so a failure or timeout
 * cuts the connection (the client sees the body end without its final chunk).
 */
export async function serveStreamedInvocation(call: StreamedInvocation, reply: StreamedReply): Promise<void> {
  const { res } = reply;
  const reader = new PreludeReader();
  let phase: Phase = 'prelude';
  let contentType: string | undefined;
  let status = 0;
  let clientGone = false;
  const gone = new AbortController();
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    if (call.tellFunctionWhenClientGone) gone.abort();
  });
  const answer = (error: GatewayError, reason: string) => {
    phase = 'answered';
    reply.gatewayError(error, reason);
  };
  const startBody = (prelude: StreamPrelude, rest: Buffer) => {
    phase = 'body';
    status = prelude.status;
    for (const [name, values] of prelude.headers) res.setHeader(name, values.length === 1 ? values[0] : values);
    for (const [name, value] of Object.entries(reply.extraHeaders)) res.setHeader(name, value);
    res.writeHead(prelude.status);
    // The head goes out now, with the body that came with the prelude or alone, so a client sees
    // the status at once.
    if (rest.length > 0 && !call.headOnly) res.write(rest);
    else res.flushHeaders();
  };
  let stop: (why: 'timeout' | 'idle') => void = () => undefined;
  const stopped = new Promise<'timeout' | 'idle'>((resolve) => (stop = resolve));
  const integrationTimer = setTimeout(() => stop('timeout'), call.timeoutMs);
  const idleTimer = setTimeout(() => stop('idle'), call.idleTimeoutMs);
  const observer: StreamObserver = {
    onHead: (type) => (contentType = type),
    onChunk: (chunk) => {
      idleTimer.refresh();
      if (phase === 'body') {
        if (!call.headOnly && !clientGone) res.write(chunk);
      } else if (phase === 'prelude') {
        const progress = reader.push(chunk);
        if (progress.state === 'invalid') answer(BAD_PRELUDE, progress.reason);
        else if (progress.state === 'complete') startBody(progress.prelude, progress.rest);
      }
    },
  };
  const invocation = call.fn.invoke(call.event, call.awsRequestId, {
    mode: 'stream',
    stream: observer,
    clientGone: call.tellFunctionWhenClientGone ? gone.signal : undefined,
  });
  const outcome = await Promise.race([invocation, stopped]);
  clearTimeout(integrationTimer);
  clearTimeout(idleTimer);
  const cut = (why: string) => {
    phase = 'answered';
    res.destroy();
    reply.done(status, `${why}; the response was cut off mid-stream`);
  };
  const current = phase as Phase;
  if (current === 'answered') return;
  if (outcome === 'timeout' || outcome === 'idle') {
    const why =
      outcome === 'timeout'
        ? `the stream ran past the integration timeout (${call.timeoutMs} ms)`
        : `the function sent nothing for ${call.idleTimeoutMs} ms (the stream idle timeout)`;
    return current === 'prelude' ? answer(TIMED_OUT, why) : cut(why);
  }
  if (!outcome.ok) {
    const why = `${call.fn.spec.logicalId} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`;
    return current === 'prelude' ? answer(lambdaFailureResponse(outcome.failure), why) : cut(why);
  }
  if (current === 'prelude') return answer(BAD_PRELUDE, reader.endedReason(contentType));
  phase = 'answered';
  res.end();
  reply.done(status, clientGone ? 'the client went away before the stream ended' : '');
}
