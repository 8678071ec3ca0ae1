/**
 * Writes a web `Response` to a Lambda response stream, the way API Gateway's STREAM transfer mode
 * reads it: `HttpResponseStream.from(stream, prelude)` puts a JSON prelude (status and headers) and
 * eight NUL bytes in front of the first body write, then every chunk goes out as the MCP SDK
 * produces it.
 *
 * AWS-free: the stream and `HttpResponseStream.from` come in as parameters, so tests pass a plain
 * Writable and the local runner's implementation, and Lambda passes its own (`awslambda` global).
 */
import { once } from 'node:events';
import { McpRuntimeError } from './errors';

/** The parts of Lambda's response stream (a Node `Writable`) that are used here. */
export interface LambdaResponseStream {
  write(chunk: Uint8Array | string): boolean;
  end(callback?: () => void): unknown;
  on(event: 'close' | 'error' | 'drain' | 'finish', listener: (...args: unknown[]) => void): unknown;
  once(event: 'close' | 'error' | 'drain' | 'finish', listener: (...args: unknown[]) => void): unknown;
  off(event: 'close' | 'error' | 'drain' | 'finish', listener: (...args: unknown[]) => void): unknown;
  readonly destroyed?: boolean;
  readonly writableEnded?: boolean;
  readonly writableFinished?: boolean;
}

/** The HTTP integration prelude API Gateway reads from a streamed Lambda response. */
export interface HttpResponsePrelude {
  readonly statusCode: number;
  /** Plain string values only: API Gateway refuses a prelude with anything else. */
  readonly headers: Record<string, string>;
  readonly cookies?: string[];
}

/** `awslambda.HttpResponseStream.from`: wraps the stream so its first write is preceded by the prelude. */
export type HttpResponseStreamFrom = (
  stream: LambdaResponseStream,
  prelude: HttpResponsePrelude,
) => LambdaResponseStream;

/** The prelude for a response: each header once (repeated values joined), `Set-Cookie` as cookies. */
export function preludeOf(status: number, headers: Headers): HttpResponsePrelude {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') record[name] = value;
  });
  const cookies = headers.getSetCookie();
  return cookies.length > 0
    ? { statusCode: status, headers: record, cookies }
    : { statusCode: status, headers: record };
}

/** Whether the response is an event stream, written event by event; anything else is written whole. */
export function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase() === 'text/event-stream';
}

/** Resolves when the stream can take more, or rejects when it closed or failed first. */
async function drained(stream: LambdaResponseStream): Promise<void> {
  if (stream.destroyed) throw new StreamClosedError();
  await Promise.race([
    once(stream as unknown as NodeJS.EventEmitter, 'drain'),
    once(stream as unknown as NodeJS.EventEmitter, 'close').then(() => {
      throw new StreamClosedError();
    }),
  ]);
}

/** The client went away (or Lambda closed the stream) before the response was written. */
export class StreamClosedError extends McpRuntimeError {
  override readonly name = 'StreamClosedError';
  constructor() {
    super('The response stream closed before the response was complete');
  }
}

/**
 * Writes the response's status, headers and body to the stream, chunk by chunk, and ends it.
 * Each chunk is written as soon as the body yields it, one write per chunk, so an SSE event the
 * SDK flushes is one write on the wire. Resolves once the stream has finished; rejects with
 * {@link StreamClosedError} when the stream closed first (the body is cancelled then).
 */
export async function writeResponseToStream(
  response: Response,
  stream: LambdaResponseStream,
  from: HttpResponseStreamFrom,
): Promise<void> {
  const out = from(stream, preludeOf(response.status, response.headers));
  if (!isEventStream(response)) {
    // A whole answer (JSON, or nothing): one write, which also carries the prelude out.
    out.write(response.body === null ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer()));
    await endStream(out);
    return;
  }
  // The prelude goes out with the first write; an event stream may wait a while for its first event.
  out.write(new Uint8Array(0));
  if (response.body !== null) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value.byteLength > 0 && !out.write(value)) await drained(out);
      }
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      reader.releaseLock();
    }
  }
  await endStream(out);
}

/** Ends the stream and waits until everything written has been flushed. */
export async function endStream(stream: LambdaResponseStream): Promise<void> {
  if (stream.destroyed) throw new StreamClosedError();
  if (stream.writableFinished) return;
  await new Promise<void>((resolve, reject) => {
    const onClose = (): void => (stream.writableFinished ? resolve() : reject(new StreamClosedError()));
    stream.once('close', onClose);
    stream.end(() => {
      stream.off('close', onClose);
      resolve();
    });
  });
}
