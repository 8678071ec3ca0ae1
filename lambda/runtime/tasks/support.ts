/**
 * What the MCP tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663,
 * https://modelcontextprotocol.io/seps/2663-tasks-extension) asks of a tool and of a request: a
 * tool declares whether its calls may become tasks (`required`, `optional`, `forbidden`, the
 * extension's `taskSupport` values), and a client opts in per request by naming the extension in
 * the request's `_meta` client capabilities (SEP-2575). Also the JSON-RPC answers the extension
 * names, shaped once here.
 */
import type { RequestId } from '@modelcontextprotocol/server';
import type { ParsedMessage } from '../json-rpc';
import { jsonRpcErrorResponse, METHOD_NOT_FOUND } from '../responses';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** Where a 2026-07-28 request carries the client's capabilities. */
const CLIENT_CAPABILITIES_META = 'io.modelcontextprotocol/clientCapabilities';

/** MissingRequiredClientCapability (SEP-2575). */
export const MISSING_CLIENT_CAPABILITY = -32021;
/** HeaderMismatch (SEP-2243): `Mcp-Method` or `Mcp-Name` disagrees with the body. */
export const HEADER_MISMATCH = -32020;
export const INVALID_PARAMS = -32602;

/** The methods the extension serves; `tasks/result` and `tasks/list` are gone in this version. */
export const TASK_METHODS = ['tasks/get', 'tasks/update', 'tasks/cancel'] as const;
export type TaskMethod = (typeof TASK_METHODS)[number];
export const REMOVED_TASK_METHODS = ['tasks/result', 'tasks/list'] as const;

export type TaskSupport = 'required' | 'optional' | 'forbidden';

/** How a tool's calls become tasks (the `task` option of `defineTool`). */
export interface ToolTaskOptions {
  /**
   * `required`: every call is a task, and a client that did not opt in gets `-32021`; `optional`:
   * a call from a client that opted in is a task, any other runs as a plain call; `forbidden`: never.
   */
  readonly support: TaskSupport;
  /**
   * Decides per call, before anything runs, whether an opted-in call becomes a task; `false` runs it
   * as a plain call (a tool that first gathers input with multi-round-trip requests answers `false`
   * until the answers came). @default - every call
   */
  readonly when?: (params: Readonly<Record<string, unknown>>) => boolean;
}

/** Whether the client named the tasks extension in this request's capabilities. */
export function optedIn(params: ParsedMessage['params']): boolean {
  const meta = params?._meta as Record<string, unknown> | undefined;
  const capabilities = meta?.[CLIENT_CAPABILITIES_META] as { extensions?: Record<string, unknown> } | undefined;
  const extensions = capabilities?.extensions;
  return typeof extensions === 'object' && extensions !== null && extensions[TASKS_EXTENSION] !== undefined;
}

/** A JSON-RPC result answer. */
export function resultResponse(id: RequestId | null, result: Readonly<Record<string, unknown>>): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', id, result }), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** The empty acknowledgement of `tasks/update` and `tasks/cancel`. */
export const ack = (id: RequestId | null): Response => resultResponse(id, { resultType: 'complete' });

export function missingCapability(id: RequestId | null, what: string): Response {
  return jsonRpcErrorResponse(
    400,
    MISSING_CLIENT_CAPABILITY,
    `Missing required client capability: ${what} needs the ${TASKS_EXTENSION} extension declared in the request's client capabilities`,
    { id, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } },
  );
}

/** The one answer for an unknown task, another caller's, or an expired one: nothing tells them apart. */
export function unknownTask(id: RequestId | null): Response {
  return jsonRpcErrorResponse(200, INVALID_PARAMS, 'Invalid params: no such task', { id });
}

export function invalidParams(id: RequestId | null, message: string): Response {
  return jsonRpcErrorResponse(200, INVALID_PARAMS, `Invalid params: ${message}`, { id });
}

export function removedMethod(id: RequestId | null, method: string): Response {
  return jsonRpcErrorResponse(
    404,
    METHOD_NOT_FOUND,
    `Method not found: ${method} is not part of the ${TASKS_EXTENSION} extension (tasks/get inlines the result)`,
    { id },
  );
}

export function headerMismatch(id: RequestId | null, message: string): Response {
  return jsonRpcErrorResponse(400, HEADER_MISMATCH, `Header mismatch: ${message}`, { id });
}
