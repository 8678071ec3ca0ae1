/**
 * One bounded GET of a small upstream document (AuthKit's JWKS, its metadata documents).
 *
 * Bounded three ways, because the answer comes from the network and is read inside a Lambda
 * invocation: one timeout covers connecting, the headers and the body; the body is counted while
 * it is read and the read stops as soon as it passes `maxBytes` (a declared Content-Length above
 * it is refused before reading anything); and redirects are never followed, since the documents
 * live at fixed URLs under the issuer and a redirect could only lead somewhere else.
 */
import { fetchFailureDetail, isFetchTimeout } from './fetch-errors';

/** Why a bounded fetch gave up. */
export type BoundedFetchFailure = 'timeout' | 'unreachable' | 'redirect' | 'too_large';

export class BoundedFetchError extends Error {
  constructor(
    readonly failure: BoundedFetchFailure,
    /** What happened, without the URL (callers put it in context). */
    readonly detail: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'BoundedFetchError';
  }
}

export interface BoundedFetchOptions {
  /** Upper bound of the whole exchange, body included. */
  readonly timeoutMs: number;
  /** Largest body read; a longer one fails with `too_large`. */
  readonly maxBytes: number;
  /** @default 'application/json' */
  readonly accept?: string;
}

export interface BoundedResponse {
  readonly status: number;
  readonly contentType: string | null;
  /** The body, read only when the status is 200; other bodies are discarded unread. */
  readonly text?: string;
}

/** GETs `url` within the bounds; throws `BoundedFetchError` for a timeout, a network failure, a redirect or an oversized body. */
export async function fetchBounded(url: string, options: BoundedFetchOptions): Promise<BoundedResponse> {
  const { timeoutMs, maxBytes } = options;
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { accept: options.accept ?? 'application/json' },
    });
    const { status } = response;
    const contentType = response.headers.get('content-type');
    if (status >= 300 && status < 400) {
      await discard(response);
      throw new BoundedFetchError('redirect', `answered HTTP ${status}, a redirect, which is not followed`, status);
    }
    if (status !== 200) {
      await discard(response);
      return { status, contentType };
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      await discard(response);
      throw new BoundedFetchError('too_large', `declared a body of ${declared} bytes, more than the ${maxBytes} accepted`, status);
    }
    return { status, contentType, text: await readAtMost(response, maxBytes) };
  } catch (error) {
    if (error instanceof BoundedFetchError) throw error;
    if (isFetchTimeout(error)) throw new BoundedFetchError('timeout', `timed out after ${timeoutMs} ms`, undefined, { cause: error });
    throw new BoundedFetchError('unreachable', `could not be reached (${fetchFailureDetail(error)})`, undefined, { cause: error });
  }
}

async function readAtMost(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BoundedFetchError('too_large', `sent a body larger than the ${maxBytes} bytes accepted (stopped reading at ${total})`, response.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
