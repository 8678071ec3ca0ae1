/**
 * One bounded GET of a small upstream document (AuthKit's JWKS, its metadata documents).
 *
 * Bounded three ways, because the answer comes from the network and is read inside a Lambda
 * invocation: one timeout covers connecting, the headers and the body; the body is counted while
 * it is read and the read stops as soon as it passes `maxBytes` (a declared Content-Length above
 * it is refused before reading anything); and redirects are never followed, since the documents
 * live at fixed URLs under the issuer and a redirect could only lead somewhere else.
 */
import type { IncomingMessage } from 'node:http';
import { fetchFailureDetail, isFetchTimeout } from './fetch-errors';
import { ContractError } from './errors';

/** Why a bounded fetch gave up. */
export type BoundedFetchFailure = 'timeout' | 'unreachable' | 'redirect' | 'too_large';

export class BoundedFetchError extends ContractError {
  override readonly name = 'BoundedFetchError';
  constructor(
    readonly failure: BoundedFetchFailure,
    /** What happened, without the URL (callers put it in context). */
    readonly detail: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
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
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await get(new URL(url), signal, options.accept ?? 'application/json');
    const status = response.statusCode ?? 0;
    const contentType = response.headers['content-type'] ?? null;
    if (status >= 300 && status < 400) {
      response.destroy();
      throw new BoundedFetchError('redirect', `answered HTTP ${status}, a redirect, which is not followed`, status);
    }
    if (status !== 200) {
      response.destroy();
      return { status, contentType };
    }
    const declared = Number(response.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      response.destroy();
      throw new BoundedFetchError(
        'too_large',
        `declared a body of ${declared} bytes, more than the ${maxBytes} accepted`,
        status,
      );
    }
    return { status, contentType, text: await readAtMost(response, maxBytes) };
  } catch (error) {
    if (error instanceof BoundedFetchError) throw error;
    if (signal.aborted || isFetchTimeout(error))
      throw new BoundedFetchError('timeout', `timed out after ${timeoutMs} ms`, undefined, { cause: error });
    const code = (error as { code?: unknown }).code;
    throw new BoundedFetchError(
      'unreachable',
      `could not be reached (${typeof code === 'string' ? code : fetchFailureDetail(error)})`,
      undefined,
      { cause: error },
    );
  }
}

/**
 * One GET with Node's http or https client, loaded on first use. Not `fetch`: loading Node's fetch
 * implementation costs a cold authorizer far more than the request itself (bench/README.md), and
 * these requests need nothing it adds. No agent: a fetch every few minutes needs no pooled socket.
 */
async function get(url: URL, signal: AbortSignal, accept: string): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const request = client.get(url, { signal, agent: false, headers: { accept } }, resolve);
    request.on('error', reject);
  });
}

async function readAtMost(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      throw new BoundedFetchError(
        'too_large',
        `sent a body larger than the ${maxBytes} bytes accepted (stopped reading at ${total})`,
        response.statusCode,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
