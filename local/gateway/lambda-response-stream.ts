/**
 * The `awslambda` global of the Node.js Lambda runtime, for the local function processes:
 * `awslambda.streamifyResponse` and `awslambda.HttpResponseStream`, and the response stream a
 * streaming handler writes to. It follows the runtime's published source
 * (https://github.com/aws/aws-lambda-nodejs-runtime-interface-client, src/UserFunction.js,
 * src/HttpResponseStream.js, src/ResponseStream.js, src/Runtime.js):
 *
 * - `streamifyResponse(handler, { highWaterMark })` marks the handler with the symbol
 *   `aws.lambda.runtime.handler.streaming` = `'response'` (and the high-water mark symbol) and
 *   returns the same function; the runtime then calls it `(event, responseStream, context)`.
 * - `HttpResponseStream.from(stream, prelude)` sets the content type
 *   `application/vnd.awslambda.http-integration-response` and, before the first `write()`, writes
 *   `JSON.stringify(prelude)` then 8 NUL bytes.
 * - A chunk that is not a string, Buffer or Uint8Array is written as its JSON.
 * - `setContentType` after the first write throws `Cannot set content-type, too late.`
 * - `end(x)` hands only its first argument to the request's `end`, so a chunk given to `end()`
 *   is written without going through the first-write hook (no prelude when it is the only data).
 *
 * The runtime does not model a client disconnect: it emits no event on the stream (issue #145 of
 * that repository). The gateway can be asked to destroy the stream instead (see `destroyForClientGone`).
 *
 * This file runs inside the function process, so it imports nothing but Node built-ins.
 */
import { Writable } from 'node:stream';
import { LocalError } from '../errors';

export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
export const STREAM_RESPONSE = 'response';
export const HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const DELIMITER_LENGTH = 8;

type Marked = Record<symbol, unknown>;

export class InvalidStreamingOperation extends LocalError {
  constructor(message: string) {
    super(message);
    this.name = 'Runtime.InvalidStreamingOperation';
  }
}

export class MalformedStreamingHandler extends LocalError {
  constructor(message: string) {
    super(message);
    this.name = 'Runtime.MalformedStreamingHandler';
  }
}

/** Whether a loaded handler was wrapped by `streamifyResponse`, as the runtime decides it. */
export function isStreamingHandler(handler: unknown): boolean {
  const mark = (handler as Marked)[HANDLER_STREAMING];
  if (mark === undefined || mark === null || mark === false) return false;
  if (mark === STREAM_RESPONSE) return true;
  throw new MalformedStreamingHandler('Only response streaming is supported.');
}

export function streamingHighWaterMark(handler: unknown): number | undefined {
  const value = parseInt(String((handler as Marked)[HANDLER_HIGHWATERMARK]), 10);
  return Number.isNaN(value) ? undefined : value;
}

export const HttpResponseStream = {
  from(stream: LocalResponseStream, prelude: unknown): LocalResponseStream {
    stream.setContentType(HTTP_INTEGRATION_RESPONSE_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(DELIMITER_LENGTH));
    };
    return stream;
  },
};

/** Installs `globalThis.awslambda`, unless the function opts out as the runtime allows. */
export function installAwsLambdaGlobal(): void {
  const optOut = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === '1' || optOut === 'true') return;
  (globalThis as { awslambda?: unknown }).awslambda = {
    streamifyResponse(handler: Marked, options?: { highWaterMark?: unknown }) {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number')
        handler[HANDLER_HIGHWATERMARK] = parseInt(String(options.highWaterMark), 10);
      return handler;
    },
    HttpResponseStream,
  };
}

/** Where the stream's bytes go: the first call of `head` comes before the first chunk. */
export interface ResponseSink {
  head(contentType: string): void;
  chunk(data: Buffer, done: (error?: Error | null) => void): void;
}

/**
 * The response stream handed to a streaming handler: a Node Writable whose every write goes to
 * the sink as it happens (the callback fires once the sink has taken it, which gives writers
 * back-pressure).
 */
export class LocalResponseStream extends Writable {
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  private contentType = DEFAULT_CONTENT_TYPE;
  private started = false;
  private headSent = false;

  constructor(
    private readonly sink: ResponseSink,
    highWaterMark?: number,
  ) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    // Even a stream that ends without data tells the gateway its content type.
    this.once('finish', () => this.sendHead());
  }

  setContentType(contentType: string): void {
    if (this.started) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    if (!this.started && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((early) => {
        Writable.prototype.write.call(this, early, 'utf8', () => undefined);
      });
    }
    this.started = true;
    return Writable.prototype.write.call(
      this,
      data,
      encoding as BufferEncoding,
      callback as (error?: Error | null) => void,
    );
  }

  override end(first?: unknown): this {
    // The runtime passes only the first argument on, and a chunk there skips the first-write hook.
    if (typeof first === 'function') return super.end(first as () => void);
    if (first !== undefined && first !== null) {
      this.started = true;
      return super.end(typeof first === 'string' || first instanceof Uint8Array ? first : JSON.stringify(first));
    }
    return super.end();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendHead();
    this.sink.chunk(chunk, callback);
  }

  // Writes made while the previous one is still on its way go on together (the prelude's
  // delimiter and a small body, say): one message to the gateway instead of one per write.
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.sendHead();
    this.sink.chunk(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private sendHead(): void {
    if (this.headSent) return;
    this.headSent = true;
    this.sink.head(this.contentType);
  }
}
