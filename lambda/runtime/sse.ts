/**
 * "JSON unless something streams" for the 2025-era transport. The SDK's 2026-07-28 entry does this
 * itself (`responseMode: 'auto'`); the stateless 2025 transport can only answer every request as
 * SSE or every request as JSON. This reads the event stream up to its first message: when that is
 * already the JSON-RPC response, the answer becomes that one JSON body (what a call that sends
 * nothing mid-way gets on the 2026 path too); otherwise the stream is passed on unchanged, the
 * events already read first.
 */
import { isEventStream } from './response-stream';

// SSE events end with a blank line; the spec allows CRLF, LF or CR line endings.
const EVENT_END = /\r\n\r\n|\n\n|\r\r/;

/** The `data` of one SSE event (lines joined with \n), or undefined for a comment-only event. */
export function eventData(block: string): string | undefined {
  const lines: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === 'data' || line.startsWith('data:')) lines.push(line.slice(5).replace(/^ /, ''));
  }
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function isJsonRpcResponse(data: string): boolean {
  try {
    const message = JSON.parse(data) as Record<string, unknown> | null;
    return (
      message !== null &&
      typeof message === 'object' &&
      !('method' in message) &&
      'id' in message &&
      ('result' in message || 'error' in message)
    );
  } catch {
    return false;
  }
}

function jsonResponse(from: Response, data: string): Response {
  const headers = new Headers(from.headers);
  headers.set('content-type', 'application/json');
  headers.delete('cache-control');
  headers.delete('connection');
  return new Response(data, { status: from.status, headers });
}

/** A body that yields `head`, then what is left of `reader`. */
function chainedBody(
  head: readonly Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk);
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function resumedStream(from: Response, head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): Response {
  return new Response(chainedBody(head, reader), { status: from.status, headers: from.headers });
}

/** The response as one JSON body when its event stream opens with the JSON-RPC response itself. */
export async function jsonUnlessStreamed(response: Response): Promise<Response> {
  if (response.body === null || !isEventStream(response)) return response;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const head: Uint8Array[] = [];
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      // The stream ended without a complete message event: pass on what came.
      return resumedStream(response, head, reader);
    }
    head.push(value);
    text += decoder.decode(value, { stream: true });
    for (let end = EVENT_END.exec(text); end !== null; end = EVENT_END.exec(text)) {
      const data = eventData(text.slice(0, end.index));
      text = text.slice(end.index + end[0].length);
      if (data === undefined) continue;
      if (isJsonRpcResponse(data)) {
        await reader.cancel().catch(() => undefined);
        return jsonResponse(response, data);
      }
      return resumedStream(response, head, reader);
    }
  }
}
