/**
 * Writes a streamed request's answer within its {@link RequestLimits}: an event stream stopped by
 * the time limit or a refusal (the per-caller limit) ends with a JSON-RPC error event instead of
 * being cut off mid-way; a listen stream's hold ends it cleanly.
 */
import type { RequestId } from '@modelcontextprotocol/server';
import { giveUpError, type RequestLimits } from './request-limits';
import {
  isEventStream,
  writeResponseToStream,
  type HttpResponseStreamFrom,
  type LambdaResponseStream,
} from './response-stream';

export async function writeStreamed(
  response: Response,
  responseStream: LambdaResponseStream,
  from: HttpResponseStreamFrom,
  limits: RequestLimits,
  id: RequestId | null,
): Promise<void> {
  const body = response.body;
  if (body === null || limits.signal.aborted || !isEventStream(response)) {
    await writeResponseToStream(response, responseStream, from);
    return;
  }
  const reader = body.getReader();
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    void reader.cancel().catch(() => undefined);
  };
  limits.signal.addEventListener('abort', stop, { once: true });
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (!done && !stopped) return controller.enqueue(value);
      if (stopped && (limits.reason() === 'timeout' || limits.reason() === 'refused'))
        controller.enqueue(new TextEncoder().encode(sseErrorEvent(limits, id)));
      controller.close();
    },
  });
  try {
    await writeResponseToStream(
      new Response(guarded, { status: response.status, headers: response.headers }),
      responseStream,
      from,
    );
  } finally {
    limits.signal.removeEventListener('abort', stop);
  }
}

function sseErrorEvent(limits: RequestLimits, id: RequestId | null): string {
  const message = { jsonrpc: '2.0', id, error: giveUpError(limits) };
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}
