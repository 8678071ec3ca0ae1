/**
 * The checks of a request's HTTP envelope, as pure functions that return a {@link Refusal} or
 * nothing: Origin (403), then, in {@link HTTP_CHECKS} order, method (405), body size (413), Accept
 * (406) and Content-Type (415).
 */
import { isJsonContentType } from '@modelcontextprotocol/server';
import { allowedOriginOf, type readRuntimeSettings } from './config';
import { listsAllAcceptable } from './media-types';
import { type Refusal, refusal } from './refusal';
import { ALLOWED_METHODS, jsonRpcErrorResponse, TRANSPORT_ERROR } from './responses';

/** What the HTTP checks read from a request. */
export interface HttpFacts {
  readonly method: string;
  readonly byteLength: number;
  readonly maxBodyBytes: number;
  /** A header's values joined with `, `, or undefined when absent. */
  readonly header: (name: string) => string | undefined;
}

export type HttpCheck = (http: HttpFacts) => Refusal | undefined;

/** The Origin check: the allowed Origin to echo in the CORS answer (none without Origin), or the 403. */
export function originCheck(
  origin: string | undefined,
  policy: ReturnType<typeof readRuntimeSettings>['origins'],
): { readonly allowedOrigin?: string } | Refusal {
  if (origin === undefined) return {};
  const allowedOrigin = allowedOriginOf(policy, origin);
  if (allowedOrigin !== undefined) return { allowedOrigin };
  return refusal(
    jsonRpcErrorResponse(
      403,
      TRANSPORT_ERROR,
      'Forbidden: Origin not allowed (the server lists the browser origins it accepts in allowedOrigins)',
    ),
    `Origin ${JSON.stringify(origin)} is not allowed`,
  );
}

export const methodCheck: HttpCheck = ({ method }) =>
  method === 'POST'
    ? undefined
    : refusal(
        jsonRpcErrorResponse(405, TRANSPORT_ERROR, 'Method not allowed.', { headers: { Allow: ALLOWED_METHODS } }),
        `method ${method} is not served (stateless endpoint)`,
      );

export const bodySizeCheck: HttpCheck = ({ byteLength, maxBodyBytes }) =>
  byteLength <= maxBodyBytes
    ? undefined
    : refusal(
        jsonRpcErrorResponse(
          413,
          TRANSPORT_ERROR,
          `Payload Too Large: Request body must not exceed ${maxBodyBytes} bytes`,
        ),
        `body of ${byteLength} bytes exceeds ${maxBodyBytes}`,
      );

/** What a client must list in `Accept` (the Streamable HTTP transport). */
const ACCEPT_REQUIRED = ['application/json', 'text/event-stream'] as const;

/**
 * The last `Accept` value that passed: a client sends the same one on every request, so it is read
 * as media ranges once, not per request. Only a passing value is kept.
 */
let lastAcceptable: string | undefined;

export const acceptCheck: HttpCheck = ({ header }) => {
  const accept = header('accept');
  if (accept !== undefined && accept === lastAcceptable) return undefined;
  if (listsAllAcceptable(accept, ACCEPT_REQUIRED)) {
    lastAcceptable = accept;
    return undefined;
  }
  return refusal(
    jsonRpcErrorResponse(
      406,
      TRANSPORT_ERROR,
      'Not Acceptable: Client must accept both application/json and text/event-stream',
    ),
    `Accept ${JSON.stringify(accept ?? null)} does not list both application/json and text/event-stream as acceptable`,
  );
};

export const contentTypeCheck: HttpCheck = ({ header }) => {
  const contentType = header('content-type');
  if (isJsonContentType(contentType)) return undefined;
  return refusal(
    jsonRpcErrorResponse(415, TRANSPORT_ERROR, 'Unsupported Media Type: Content-Type must be application/json'),
    `Content-Type ${JSON.stringify(contentType ?? null)} is not application/json`,
  );
};

/** The HTTP checks after identity, in the order they run; the first refusal answers. */
export const HTTP_CHECKS: readonly HttpCheck[] = [methodCheck, bodySizeCheck, acceptCheck, contentTypeCheck];
