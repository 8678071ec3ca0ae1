/**
 * The one way `verify` talks to the network: a bounded HTTP client that sends header names exactly
 * as written (API Gateway's header handling is case-sensitive in places, so `Origin` and `origin`
 * must both be tried), never follows redirects (a redirect must not carry a token or hide a
 * misconfiguration), and gives up after a timeout or a body larger than a cap.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { bodyTooLargeMessage, MAX_BODY_BYTES } from './bounded-body';
import { VerifyError } from './errors';

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  /** Sent with their names exactly as written. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers keep every value. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  readonly body: string;
}

/** The client every check receives; tests and the command pass the real one. */
export type HttpClient = (request: HttpRequest) => Promise<HttpResponse>;

/** A request that got no HTTP answer: refused, reset, timed out, too large, or a URL it cannot fetch. */
export class HttpFailure extends VerifyError {
  readonly code = 'HTTP_FAILURE';
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${url}: ${reason}`, options);
  }
}

export interface HttpClientOptions {
  /** Bound of one request, from connect to the last body byte. */
  readonly timeoutMs: number;
  /** Largest body read; discovery documents and error bodies are small. @default MAX_BODY_BYTES (1 MiB) */
  readonly maxBodyBytes?: number;
}

/** The first value of a header, or undefined. */
export function headerValue(response: HttpResponse, name: string): string | undefined {
  return response.headers[name.toLowerCase()]?.[0];
}

function collectHeaders(message: http.IncomingMessage): Record<string, string[]> {
  // A Map, so that a header named like an Object.prototype property (__proto__) is an ordinary name.
  const headers = new Map<string, string[]>();
  const raw = message.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const values = headers.get(name);
    if (values) values.push(raw[i + 1]);
    else headers.set(name, [raw[i + 1]]);
  }
  return Object.fromEntries(headers);
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  return (request) =>
    new Promise<HttpResponse>((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(request.url);
      } catch (error) {
        reject(new HttpFailure(request.url, 'not an absolute URL', { cause: error }));
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new HttpFailure(request.url, `unsupported scheme ${url.protocol}`));
        return;
      }
      const transport = url.protocol === 'https:' ? https : http;
      const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
      const headers: Record<string, string> = { ...request.headers };
      if (body !== undefined) headers['Content-Length'] = String(body.length);
      const outgoing = transport.request(url, { method: request.method, headers, agent: false });
      let settled = false;
      // Settles once; a failure also tears the exchange down (after a response, destroying the request emits no error).
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
        reject(
          error instanceof HttpFailure
            ? error
            : new HttpFailure(request.url, (error as NodeJS.ErrnoException).code ?? error.message, { cause: error }),
        );
      };
      const timer = setTimeout(
        () => fail(new HttpFailure(request.url, `no complete answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      outgoing.on('error', fail);
      outgoing.on('response', (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            incoming.destroy();
            fail(new HttpFailure(request.url, bodyTooLargeMessage(maxBodyBytes)));
            return;
          }
          chunks.push(chunk);
        });
        incoming.on('error', fail);
        incoming.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: incoming.statusCode ?? 0,
            headers: collectHeaders(incoming),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      outgoing.end(body);
    });
}

/** Parses a JSON object body; undefined when the body is not one. */
export function jsonObject(response: HttpResponse): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(response.body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the response says it is JSON (`application/json` or `application/<x>+json`). */
export function isJsonContentType(response: HttpResponse): boolean {
  return /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(headerValue(response, 'content-type') ?? '');
}

/** One line for a request that got no answer. */
export function describeFailure(error: unknown): string {
  if (error instanceof HttpFailure) return `no answer from ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
