/**
 * The request body as one JSON-RPC message: what the pipeline needs to route and log it (id,
 * method, the tool a `tools/call` names), or the refusal for a body that is not JSON (400 parse
 * error) or is a batch (400 invalid request).
 */
import type { RequestId } from '@modelcontextprotocol/server';
import { type Refusal, refusal } from './refusal';
import { echoableId, INVALID_REQUEST, jsonRpcErrorResponse, PARSE_ERROR } from './responses';

export interface ParsedMessage {
  /** The message as parsed, handed to the SDK as `parsedBody`. */
  readonly message: unknown;
  /** The id to echo on an error answer. */
  readonly id: RequestId | null;
  readonly rpcMethod?: string;
  /** The tool a `tools/call` names. */
  readonly tool?: string;
  /** The `params` of the message when it is an object. */
  readonly params?: Readonly<Record<string, unknown>>;
}

export function parseMessage(text: string): ParsedMessage | Refusal {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    return refusal(
      jsonRpcErrorResponse(400, PARSE_ERROR, 'Parse error: Invalid JSON'),
      `body is not JSON: ${(error as Error).message}`,
    );
  }
  if (Array.isArray(message)) {
    return refusal(
      jsonRpcErrorResponse(
        400,
        INVALID_REQUEST,
        'Invalid Request: JSON-RPC batches are not supported (removed in protocol revision 2025-06-18); send one message per request',
      ),
      `JSON-RPC batch of ${message.length} messages`,
    );
  }
  const { method, params } = (message ?? {}) as { method?: unknown; params?: unknown };
  const rpcMethod = typeof method === 'string' ? method : undefined;
  const paramsObject = isObject(params) ? params : undefined;
  const tool = rpcMethod === 'tools/call' && typeof paramsObject?.name === 'string' ? paramsObject.name : undefined;
  return { message, id: echoableId(message), rpcMethod, tool, params: paramsObject };
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
