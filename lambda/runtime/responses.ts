/**
 * The HTTP answers the runtime gives itself (before or instead of the MCP SDK), and the CORS
 * headers every answer carries. Statuses and JSON-RPC codes follow the Streamable HTTP transport
 * and the SDK's own choices, so a client sees one convention whichever layer answered.
 */
import type { RequestId } from '@modelcontextprotocol/server';
import { MCP_EXPOSED_HEADERS, MCP_REQUEST_HEADERS } from '../shared/cors';

/** Generic server-side transport error (the SDK's code for 405/406/413/415 and friends). */
export const TRANSPORT_ERROR = -32000;
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const INTERNAL_ERROR = -32603;
export const METHOD_NOT_FOUND = -32601;

/** Methods the MCP endpoint answers; OPTIONS is the CORS preflight. */
export const ALLOWED_METHODS = 'POST, OPTIONS';

/** Request headers a browser client may send (spec notes §3: the MCP and auth headers). */
export const CORS_ALLOWED_HEADERS = MCP_REQUEST_HEADERS.join(', ');
/** Response headers a browser client must be able to read, the challenge above all. */
export const CORS_EXPOSED_HEADERS = MCP_EXPOSED_HEADERS.join(', ');

export interface JsonRpcErrorInit {
  readonly id?: RequestId | null;
  readonly data?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A JSON-RPC error response with the given HTTP status. */
export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  init: JsonRpcErrorInit = {},
): Response {
  const body = {
    jsonrpc: '2.0',
    id: init.id ?? null,
    error: { code, message, ...(init.data !== undefined ? { data: init.data } : {}) },
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...init.headers },
  });
}

/** The JSON-RPC id to echo on an error for a single request; `null` when none can be read. */
export function echoableId(body: unknown): RequestId | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const { id, method } = body as { id?: unknown; method?: unknown };
  if (typeof method !== 'string') return null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** The CORS preflight answer. */
export function preflightResponse(): Response {
  return new Response(null, {
    status: 204,
    headers: {
      Allow: ALLOWED_METHODS,
      'Access-Control-Allow-Methods': ALLOWED_METHODS,
      'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS,
      'Access-Control-Max-Age': '600',
    },
  });
}

/**
 * The CORS headers for a response. With "any origin" the answer is `*` (tokens are bearer headers,
 * not cookies, so no credentials mode is needed); with a list, an allowed Origin is echoed.
 */
export function corsHeaders(origin: string | undefined, anyOrigin: boolean): Record<string, string[]> {
  const headers: Record<string, string[]> = { 'access-control-expose-headers': [CORS_EXPOSED_HEADERS] };
  if (anyOrigin) {
    headers['access-control-allow-origin'] = ['*'];
  } else if (origin !== undefined) {
    headers['access-control-allow-origin'] = [origin];
    headers.vary = ['Origin'];
  }
  return headers;
}
