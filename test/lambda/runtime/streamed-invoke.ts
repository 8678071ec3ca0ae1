/**
 * Calls the runtime's streaming handler in process and reads its answer as a client would: the
 * response stream is framed as the Lambda runtime's `HttpResponseStream.from` frames it (JSON
 * prelude, eight NUL bytes, body), and the framed stream becomes a web `Response` whose body
 * arrives as it is written.
 */
import { PassThrough } from 'node:stream';
import { proxyEventFromRequest, publicBaseOf } from '../../../lambda/runtime/adapter';
import type { McpLambdaHandler } from '../../../lambda/runtime/handler';
import type { HttpResponsePrelude, LambdaResponseStream } from '../../../lambda/runtime/response-stream';
import { defined } from '../../../fixtures/defined';
import { authorizerContext, PUBLIC_BASE_URL } from './fixtures';

const base = publicBaseOf(PUBLIC_BASE_URL);
const DELIMITER = Buffer.alloc(8);

/** Frames the stream as the Lambda runtime does: the prelude and delimiter go out with the first write. */
export function httpResponseStreamFrom(
  stream: LambdaResponseStream,
  prelude: HttpResponsePrelude,
): LambdaResponseStream {
  const out = stream as PassThrough;
  const write = out.write.bind(out);
  let first = true;
  out.write = ((chunk: Uint8Array | string) => {
    if (first) {
      first = false;
      write(JSON.stringify(prelude));
      write(DELIMITER);
    }
    return write(chunk);
  }) as PassThrough['write'];
  return stream;
}

export interface Invocation {
  readonly response: Response;
  /** Milliseconds after the request at which each body chunk arrived. */
  readonly arrivals: number[];
  readonly stream: PassThrough;
}

/** Calls the streaming handler and turns the framed stream back into what a client receives. */
export async function invoke(
  handler: McpLambdaHandler,
  request: Request,
  remainingMs = 60_000,
  authorizer: Record<string, string> = authorizerContext({ scope: 'openid profile' }),
): Promise<Invocation> {
  const started = Date.now();
  const event = await proxyEventFromRequest(request, base, { authorizer });
  const stream = new PassThrough();
  const deadline = Date.now() + remainingMs;
  void handler(event, stream, {
    awsRequestId: crypto.randomUUID(),
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
  const arrivals: number[] = [];
  let buffered = Buffer.alloc(0);
  let prelude: HttpResponsePrelude | undefined;
  let emit!: (chunk: Uint8Array) => void;
  let close!: () => void;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      emit = (chunk) => controller.enqueue(chunk);
      close = () => controller.close();
    },
    cancel() {
      stream.destroy();
    },
  });
  const ready = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      if (prelude !== undefined) {
        arrivals.push(Date.now() - started);
        return emit(chunk);
      }
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(DELIMITER);
      if (end < 0) return;
      prelude = JSON.parse(buffered.subarray(0, end).toString('utf8')) as HttpResponsePrelude;
      resolve();
      const rest = buffered.subarray(end + DELIMITER.length);
      if (rest.byteLength > 0) {
        arrivals.push(Date.now() - started);
        emit(rest);
      }
    });
    stream.on('end', () => (prelude === undefined ? reject(new Error('the stream ended without a prelude')) : close()));
  });
  await ready;
  const head = defined(prelude, 'a response prelude');
  const response = new Response(head.statusCode === 204 ? null : body, {
    status: head.statusCode,
    headers: head.headers,
  });
  return { response, arrivals, stream };
}
