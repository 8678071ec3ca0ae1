/**
 * Bounded bodies for the fetch-based paths of `verify` (the MCP SDK session and the OAuth sign-in):
 * each answer's body is counted as it is read and cut at a cap, so an endless SSE or JSON body
 * cannot grow the process without limit. The node:http client (http.ts) applies the same cap.
 */
import type { FetchLike } from '@modelcontextprotocol/client';
import { VerifyError } from './errors';

/** The most `verify` reads of one answer's body: discovery documents, tokens and MCP answers are small. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The one wording of the cap, for every path that reads a body. */
export function bodyTooLargeMessage(cap: number): string {
  const mebibytes = cap % (1024 * 1024) === 0 ? ` (${cap / (1024 * 1024)} MiB)` : '';
  return `the body is larger than verify's cap of ${cap} bytes${mebibytes}; verify stopped reading it there`;
}

export class BodyTooLargeError extends VerifyError {
  readonly code = 'BODY_TOO_LARGE';
  constructor(
    readonly url: string,
    readonly cap: number,
  ) {
    super(`${url}: ${bodyTooLargeMessage(cap)}`);
  }
}

/** What the bodies of one session read, shared by every answer in it. */
export interface BodyMeter {
  readonly cap: number;
  /** Bytes read of the largest body so far (the chunk that crossed the cap included). */
  largestBodyBytes: number;
  /** The first body cut at the cap. */
  tooLarge?: BodyTooLargeError;
  /** Called once, when a body is first cut (the session closes its transport, failing its requests at once). */
  onTooLarge?: (error: BodyTooLargeError) => void;
}

export function bodyMeter(cap = MAX_BODY_BYTES): BodyMeter {
  return { cap, largestBodyBytes: 0 };
}

/**
 * The body re-read chunk by chunk (nothing is read ahead of the consumer), counted, and errored with
 * {@link BodyTooLargeError} once it passes the cap; the source is cancelled then, closing the connection.
 */
function cappedStream(body: ReadableStream<Uint8Array>, url: string, meter: BodyMeter): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let read = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        read += value.byteLength;
        meter.largestBodyBytes = Math.max(meter.largestBodyBytes, read);
        if (read <= meter.cap) {
          controller.enqueue(value);
          return;
        }
        const error = new BodyTooLargeError(url, meter.cap);
        await reader.cancel(error).catch(() => undefined);
        controller.error(error);
        if (meter.tooLarge === undefined) {
          meter.tooLarge = error;
          meter.onTooLarge?.(error);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** The response with its body capped; a response without a body is returned as it is. */
export function withCappedBody(response: Response, url: string, meter: BodyMeter): Response {
  if (response.body === null) return response;
  return new Response(cappedStream(response.body, url, meter), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Reads a (capped) body to text; the part read before a failure, when it fails. */
export async function readText(body: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The cap or a broken connection: what was read is what there is.
  }
  return text + decoder.decode();
}

/** `fetch` bounded in time and in the size of each body. */
export function boundedFetch(timeoutMs: number, meter: BodyMeter = bodyMeter()): FetchLike {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const response = await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return withCappedBody(response, url, meter);
  };
}
