/**
 * 6 (continued). With the token, the 2026-07-28 revision over plain HTTP: `server/discover`, a plain
 * `tools/call` of `whoami`, and a `tools/call` of `long_task` with a progress token, streamed. Each
 * request carries the revision's envelope: the protocol version, client info and capabilities in
 * `params._meta`, and the method (and tool) in the `Mcp-Method` / `Mcp-Name` headers. A server
 * without one of these tools gets a skip saying so, not a failure.
 */
import { logsHint, type Where } from '../context';
import type { HttpResponse } from '../http';
import { describeFailure, headerValue } from '../http';
import { sectionResults, type CheckResult } from '../report';
import type { TokenSender } from './browser';

const { pass, fail, skip } = sectionResults('token');

export const MODERN_PROTOCOL_VERSION = '2026-07-28';

const DISCOVER_TITLE = `server/discover offers ${MODERN_PROTOCOL_VERSION}`;
const CALL_TITLE = `A ${MODERN_PROTOCOL_VERSION} tools/call of whoami names the token's subject`;
const STREAM_TITLE = `A ${MODERN_PROTOCOL_VERSION} tools/call of long_task streams progress, then its result`;
const PROGRESS_TOKEN = 'verify-progress';

type Json = Record<string, unknown>;

/** The JSON-RPC messages of an answer: one JSON body, or the `data:` of each server-sent event. */
export function messagesOf(response: HttpResponse): Json[] {
  const type = headerValue(response, 'content-type') ?? '';
  const texts = type.includes('text/event-stream')
    ? response.body
        .split(/\r?\n\r?\n/)
        .map((event) =>
          event
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n'),
        )
        .filter((data) => data.length > 0)
    : [response.body];
  return texts.flatMap((text) => {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? [parsed as Json] : [];
    } catch {
      return [];
    }
  });
}

/** A request of the 2026-07-28 revision: the envelope in `_meta`, the method and tool in headers. */
export function modernRequest(
  method: string,
  params: Json,
  id: number,
): { headers: Record<string, string>; body: string } {
  const _meta = {
    ...((params._meta as Json | undefined) ?? {}),
    'io.modelcontextprotocol/protocolVersion': MODERN_PROTOCOL_VERSION,
    'io.modelcontextprotocol/clientInfo': { name: 'mcp-authkit-apigateway-verify', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  return {
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': MODERN_PROTOCOL_VERSION,
      'Mcp-Method': method,
      ...(typeof params.name === 'string' ? { 'Mcp-Name': params.name } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta } }),
  };
}

interface Exchange {
  readonly response: HttpResponse;
  readonly messages: Json[];
  /** The answer to the request: its `result`, or undefined with `problem` saying why. */
  readonly result?: Json;
  readonly problem?: string;
}

type Send = (method: string, params: Json) => Promise<Exchange>;

function sender(send: TokenSender, token: string): Send {
  let id = 100;
  return async (method, params) => {
    id += 1;
    const request = modernRequest(method, params, id);
    const response = await send(request.headers, request.body);
    if (response.body.includes(token))
      return { response, messages: [], problem: 'the answer contains the access token' };
    const messages = messagesOf(response);
    const answer = messages.find((message) => message.id === id);
    if (response.status !== 200 || answer === undefined) {
      const error = (answer?.error as { message?: unknown } | undefined)?.message;
      return {
        response,
        messages,
        problem: `HTTP ${response.status}${typeof error === 'string' ? `: ${error}` : ''}${answer === undefined ? ', no JSON-RPC answer' : ''}`,
      };
    }
    const result = answer.result;
    if (typeof result !== 'object' || result === null) {
      const error = (answer.error as { message?: unknown } | undefined)?.message;
      return { response, messages, problem: `JSON-RPC error: ${String(error ?? 'no result')}` };
    }
    return { response, messages, result: result as Json };
  };
}

async function discover(send: Send, where: Where): Promise<CheckResult> {
  const { result, problem } = await send('server/discover', {});
  const versions = result?.supportedVersions;
  if (Array.isArray(versions) && versions.includes(MODERN_PROTOCOL_VERSION))
    return pass('mcp.modern-discover', DISCOVER_TITLE, `supportedVersions: ${versions.join(', ')}`);
  return fail(
    'mcp.modern-discover',
    DISCOVER_TITLE,
    problem ?? `supportedVersions is ${JSON.stringify(versions)}`,
    `clients of ${MODERN_PROTOCOL_VERSION} cannot use this server: serve MCP with this project's runtime (lambda/runtime), which answers both revisions; ${logsHint(where)}`,
  );
}

async function callWhoami(send: Send, subject: unknown, where: Where): Promise<CheckResult> {
  const { result, problem } = await send('tools/call', { name: 'whoami', arguments: {} });
  if (result === undefined || result.isError === true)
    return fail('mcp.modern-call', CALL_TITLE, problem ?? 'whoami answered with an error result', logsHint(where));
  const sub = (result.structuredContent as { sub?: unknown } | undefined)?.sub;
  if (sub !== subject)
    return fail(
      'mcp.modern-call',
      CALL_TITLE,
      `whoami names ${String(sub)}, the token's sub is ${String(subject)}`,
      "the MCP function must take the caller from the authorizer's context (callerOf(ctx.http?.authInfo)), not from elsewhere",
    );
  return pass('mcp.modern-call', CALL_TITLE, `sub: ${String(sub)}`);
}

async function callLongTask(send: Send, where: Where): Promise<CheckResult> {
  const { response, messages, result, problem } = await send('tools/call', {
    name: 'long_task',
    arguments: { seconds: 2, steps: 2 },
    _meta: { progressToken: PROGRESS_TOKEN },
  });
  const progress = messages.filter(
    (message) =>
      message.method === 'notifications/progress' &&
      (message.params as { progressToken?: unknown } | undefined)?.progressToken === PROGRESS_TOKEN,
  );
  const type = headerValue(response, 'content-type') ?? 'no content type';
  if (result === undefined || result.isError === true)
    return fail(
      'mcp.modern-stream',
      STREAM_TITLE,
      problem ?? 'long_task answered with an error result',
      logsHint(where),
    );
  if (progress.length === 0 || !type.includes('text/event-stream'))
    return fail(
      'mcp.modern-stream',
      STREAM_TITLE,
      `${progress.length} progress notifications in a ${type} answer`,
      "a call with a progress token must be answered as a stream (text/event-stream) carrying notifications/progress: the /mcp integration must stream: set responseTransferMode to 'stream' (the stage's context or the AuthKitMcpServer prop) and redeploy",
    );
  return pass(
    'mcp.modern-stream',
    STREAM_TITLE,
    `${progress.length} progress notifications, then the result (${type})`,
  );
}

/** The three checks, skipped for one reason. */
export function skippedModernChecks(reason: string): CheckResult[] {
  return [
    skip('mcp.modern-discover', DISCOVER_TITLE, reason),
    skip('mcp.modern-call', CALL_TITLE, reason),
    skip('mcp.modern-stream', STREAM_TITLE, reason),
  ];
}

export async function checkModernProtocol(
  send: TokenSender,
  token: string,
  subject: unknown,
  where: Where,
): Promise<CheckResult[]> {
  const modern = sender(send, token);
  const guarded = async (id: string, title: string, run: () => Promise<CheckResult>) => {
    try {
      return await run();
    } catch (error) {
      return fail(id, title, describeFailure(error), logsHint(where));
    }
  };
  const discovered = await guarded('mcp.modern-discover', DISCOVER_TITLE, () => discover(modern, where));
  if (discovered.status !== 'pass')
    return [
      discovered,
      skip('mcp.modern-call', CALL_TITLE, `server/discover does not offer ${MODERN_PROTOCOL_VERSION}`),
      skip('mcp.modern-stream', STREAM_TITLE, `server/discover does not offer ${MODERN_PROTOCOL_VERSION}`),
    ];
  let tools: string[] = [];
  try {
    const listed = (await modern('tools/list', {})).result?.tools;
    tools = Array.isArray(listed) ? listed.map((tool) => String((tool as { name?: unknown }).name)) : [];
  } catch {
    // an empty list: both calls skip, saying the tool is absent
  }
  const absent = (tool: string) =>
    `the server lists no ${tool} tool in tools/list (${tools.join(', ') || 'no tools'}), so this call was not made`;
  return [
    discovered,
    tools.includes('whoami')
      ? await guarded('mcp.modern-call', CALL_TITLE, () => callWhoami(modern, subject, where))
      : skip('mcp.modern-call', CALL_TITLE, absent('whoami')),
    tools.includes('long_task')
      ? await guarded('mcp.modern-stream', STREAM_TITLE, () => callLongTask(modern, where))
      : skip('mcp.modern-stream', STREAM_TITLE, absent('long_task')),
  ];
}
