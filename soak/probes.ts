/**
 * One soak request ("probe"): what to send, and how to judge the answer. A judgement separates a
 * wrong decision (a refused valid token, an accepted invalid one, another caller's identity) from
 * a merely unexpected answer (a 5xx, a wrong body), because the first is a security failure.
 */
import { mcpHttpRequest, type McpHttpRequest } from '../fixtures/mcp-requests';
import type { ServerUrls } from '../lambda/shared/urls';
import type { SoakToken } from './tokens';

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** From sending the request to reading the last byte of the body. */
  readonly ms: number;
  /** Set when no HTTP answer arrived (connection error, client deadline). */
  readonly error?: string;
}

export type Verdict =
  | { readonly outcome: 'ok' }
  | { readonly outcome: 'unexpected' | 'wrong-decision'; readonly detail: string };

export interface Probe {
  /** The report group, e.g. `tools/call whoami (valid token)`. */
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The token it carries, if any (its fragments are looked for in logs). */
  readonly token?: SoakToken;
  judge(reply: Reply): Verdict;
}

export interface ProbeTargets {
  /** Where requests go, e.g. the local gateway's http://127.0.0.1:PORT. */
  readonly sendTo: string;
  /** The server's public URLs: what its documents and challenges must name. */
  readonly publicUrls: ServerUrls;
  /** The issuer the authorization-server metadata must name. */
  readonly issuer: string;
}

/** The address to send a request for one of the server's public URLs to. */
export function addressOf(targets: ProbeTargets, publicUrl: string): string {
  return `${targets.sendTo}${publicUrl.slice(targets.publicUrls.base.length)}`;
}

const OK: Verdict = { outcome: 'ok' };
const unexpected = (detail: string): Verdict => ({ outcome: 'unexpected', detail });
const wrongDecision = (detail: string): Verdict => ({ outcome: 'wrong-decision', detail });

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The JSON object a body holds, or undefined when it holds anything else. */
export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The value at `path` in the JSON object a body holds (`jsonAt(text, 'result', 'tools')`), or undefined. */
export function jsonAt(text: string, ...path: readonly string[]): unknown {
  let value: unknown = parseJson(text);
  for (const key of path) {
    if (!isJsonObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** The body and headers of a JSON-RPC request, in the 2025 (stateless) or 2026-07-28 style. */
export function mcpRequest(
  method: string,
  params: Record<string, unknown>,
  id: number,
  modern: boolean,
): McpHttpRequest {
  return mcpHttpRequest(method, params, { era: modern ? 'modern' : 'legacy', id, clientName: 'soak' });
}

export function withToken(
  headers: Readonly<Record<string, string>>,
  token: SoakToken | undefined,
): Readonly<Record<string, string>> {
  return token?.header === undefined ? headers : { ...headers, authorization: token.header };
}

/** A refusal must be the gateway's 401 with the challenge that starts discovery. */
function judgeRefusal(reply: Reply, targets: ProbeTargets, token: SoakToken): Verdict {
  if (reply.status >= 200 && reply.status < 300)
    return wrongDecision(`${token.kind} token was accepted (HTTP ${reply.status})`);
  if (reply.status !== 401) return unexpected(`${token.kind} token: HTTP ${reply.status}, expected 401`);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  if (!challenge.startsWith(`Bearer resource_metadata="${targets.publicUrls.protectedResourceMetadata}"`))
    return unexpected(`401 without the expected challenge: ${challenge}`);
  return OK;
}

/** A valid token must pass the authorizer; anything that says otherwise is a wrong decision. */
function judgeAcceptance(reply: Reply, token: SoakToken): Verdict | undefined {
  if (reply.status === 401 || reply.status === 403)
    return wrongDecision(`valid token refused with HTTP ${reply.status}`);
  if (reply.status !== 200)
    return unexpected(
      `valid token: HTTP ${reply.status}${reply.error ? ` (${reply.error})` : ''}: ${reply.text.slice(0, 200)}`,
    );
  return token.verdict === 'valid' ? undefined : wrongDecision('refusable token accepted');
}

/** `tools/call whoami`: the server must report exactly the token's own user. */
export function whoamiProbe(targets: ProbeTargets, token: SoakToken, id: number, modern: boolean): Probe {
  const request = mcpRequest('tools/call', { name: 'whoami', arguments: {} }, id, modern);
  const base = {
    method: 'POST' as const,
    url: addressOf(targets, targets.publicUrls.resource),
    headers: withToken(request.headers, token),
    body: request.body,
    token,
  };
  if (token.verdict === 'invalid')
    return { ...base, kind: `refused: ${token.kind}`, judge: (reply) => judgeRefusal(reply, targets, token) };
  return {
    ...base,
    kind: 'tools/call whoami',
    judge(reply) {
      const refused = judgeAcceptance(reply, token);
      if (refused) return refused;
      const sub = jsonAt(reply.text, 'result', 'structuredContent', 'sub');
      if (sub !== token.sub)
        return wrongDecision(`whoami answered for ${JSON.stringify(sub)}, the token is ${token.sub}`);
      return OK;
    },
  };
}

export function toolsListProbe(targets: ProbeTargets, token: SoakToken, id: number, modern: boolean): Probe {
  const request = mcpRequest('tools/list', {}, id, modern);
  return {
    kind: 'tools/list',
    method: 'POST',
    url: addressOf(targets, targets.publicUrls.resource),
    headers: withToken(request.headers, token),
    body: request.body,
    token,
    judge(reply) {
      const refused = judgeAcceptance(reply, token);
      if (refused) return refused;
      const tools = jsonAt(reply.text, 'result', 'tools');
      const names = (Array.isArray(tools) ? tools : []).map((tool) => (isJsonObject(tool) ? tool.name : undefined));
      return names.includes('whoami') && names.includes('format_json')
        ? OK
        : unexpected(`tools/list answered ${JSON.stringify(names)}`);
    },
  };
}

export function formatJsonProbe(
  targets: ProbeTargets,
  token: SoakToken,
  id: number,
  modern: boolean,
  random: () => number,
): Probe {
  const value = {
    id,
    items: Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => ({
      i,
      label: `item-${i}`,
      on: random() < 0.5,
    })),
    z: 'last',
    a: 'first',
  };
  const indent = Math.floor(random() * 5);
  const sortKeys = random() < 0.5;
  const expected = JSON.stringify(sortKeys ? sortDeep(value) : value, null, indent);
  const request = mcpRequest(
    'tools/call',
    { name: 'format_json', arguments: { json: JSON.stringify(value), indent, sortKeys } },
    id,
    modern,
  );
  return {
    kind: 'tools/call format_json',
    method: 'POST',
    url: addressOf(targets, targets.publicUrls.resource),
    headers: withToken(request.headers, token),
    body: request.body,
    token,
    judge(reply) {
      const refused = judgeAcceptance(reply, token);
      if (refused) return refused;
      const formatted = jsonAt(reply.text, 'result', 'structuredContent', 'formatted');
      return formatted === expected ? OK : unexpected('format_json answered a different text');
    },
  };
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortDeep((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** The public discovery documents: no token, always JSON, always about this server. */
export function metadataProbe(targets: ProbeTargets, which: number): Probe {
  const urls = targets.publicUrls;
  const documents = [
    { url: urls.protectedResourceMetadata, field: 'resource', expected: urls.resource },
    { url: urls.protectedResourceMetadataRoot, field: 'resource', expected: urls.resource },
    { url: urls.authorizationServerMetadata, field: 'issuer', expected: targets.issuer },
    { url: urls.openidConfiguration, field: 'issuer', expected: targets.issuer },
  ];
  const document = documents[which % documents.length];
  return {
    kind: 'metadata GET',
    method: 'GET',
    url: addressOf(targets, document.url),
    headers: { accept: 'application/json' },
    judge(reply) {
      if (reply.status !== 200)
        return unexpected(`${document.url}: HTTP ${reply.status}${reply.error ? ` (${reply.error})` : ''}`);
      const value = jsonAt(reply.text, document.field);
      return value === document.expected
        ? OK
        : unexpected(`${document.url}: ${document.field} is ${JSON.stringify(value)}`);
    },
  };
}

/** Sends one probe; never throws (a failure to get an answer is part of the reply). */
export async function send(probe: Probe, deadlineMs: number): Promise<Reply> {
  const started = performance.now();
  try {
    const response = await fetch(probe.url, {
      method: probe.method,
      headers: probe.headers,
      body: probe.body,
      signal: AbortSignal.timeout(deadlineMs),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, ms: performance.now() - started };
  } catch (error) {
    const detail =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${deadlineMs} ms`
        : `${(error as Error).message} ${String((error as { cause?: { code?: string } }).cause?.code ?? '')}`.trim();
    return { status: 0, headers: new Headers(), text: '', ms: performance.now() - started, error: detail };
  }
}
