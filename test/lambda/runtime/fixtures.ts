/**
 * Small typed factories for MCP runtime tests: proxy events as API Gateway delivers them, MCP
 * messages of both protocol eras, and a capture of the Powertools log lines.
 */
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { authorizerIdentityContext, mcpProxyEvent } from '../../../fixtures/events';
import {
  proxyEventFromRequest,
  publicBaseOf,
  responseFromProxyResult,
  type ProxyEvent,
  type ProxyResult,
} from '../../../lambda/runtime/adapter';
import { bearerAuthorization } from '../../../lambda/shared/bearer-token';
import type { AuthorizerContextKey, AuthorizerIdentity } from '../../../lambda/shared/identity-context';

export const PUBLIC_BASE_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
export const RESOURCE = `${PUBLIC_BASE_URL}/mcp`;
export const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.test-token-value.signature';
export const MODERN = '2026-07-28';

/** The caller of every request unless a test says otherwise. */
export const IDENTITY: AuthorizerIdentity = {
  sub: 'user_01H',
  clientId: 'client_01C',
  orgId: 'org_01O',
  sid: 'session_01S',
  scopes: ['openid', 'profile', 'email'],
  jti: 'jti-1',
  exp: 1900000000,
  aud: RESOURCE,
};

/**
 * The authorizer context API Gateway hands the backend (values as strings) for a caller that
 * differs from {@link IDENTITY} in `changes`, written through the identity contract.
 */
export function callerContext(changes: Partial<AuthorizerIdentity> = {}): Record<string, string> {
  return { ...authorizerIdentityContext({ ...IDENTITY, ...changes }), integrationLatency: '12' };
}

/** A key of `requestContext.authorizer`: the identity contract's, or one API Gateway adds. */
export type DeliveredContextKey = AuthorizerContextKey | 'principalId' | 'integrationLatency';

/**
 * The authorizer context of {@link IDENTITY} as delivered, with `overrides` replacing delivered
 * values as they are, so a test can deliver a broken context; an undefined override removes the key.
 */
export function authorizerContext(
  overrides: Partial<Record<DeliveredContextKey, string | undefined>> = {},
): Record<string, string> {
  const context: Record<string, string | undefined> = { ...callerContext(), ...overrides };
  return Object.fromEntries(
    Object.entries(context).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export interface McpEventOptions {
  readonly headers?: Record<string, string | undefined>;
  readonly authorizer?: Record<string, string> | null;
  readonly httpMethod?: string;
  readonly rawBody?: string;
  readonly base64?: boolean;
}

/** A POST /mcp proxy event carrying `body` as JSON, with the headers a conforming client sends. */
export function mcpEvent(body: unknown, options: McpEventOptions = {}): ProxyEvent {
  const text = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  return mcpProxyEvent({
    httpMethod: options.httpMethod,
    headers: {
      Accept: 'application/json, text/event-stream',
      'Content-Type': 'application/json',
      Authorization: bearerAuthorization(TOKEN),
      ...options.headers,
    },
    body: text ?? null,
    base64: options.base64,
    authorizer: options.authorizer === undefined ? authorizerContext() : options.authorizer,
    requestId: 'req-0001',
  });
}

export function initialize(protocolVersion: string, id: number | string = 1): unknown {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'test-client', version: '1.0.0' } },
  };
}

/** A 2025-era request (after initialize, the client sends MCP-Protocol-Version). */
export function legacyRequest(
  method: string,
  params: Record<string, unknown> | undefined,
  version = '2025-11-25',
  id: number | string = 2,
): { body: unknown; headers: Record<string, string> } {
  return {
    body: { jsonrpc: '2.0', id, method, ...(params ? { params } : {}) },
    headers: { 'MCP-Protocol-Version': version },
  };
}

/** A 2026-07-28 request: the per-request `_meta` envelope plus the standard headers. */
export function modernRequest(
  method: string,
  params: Record<string, unknown> = {},
  id: number | string = 3,
): { body: unknown; headers: Record<string, string> } {
  const envelope = {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'test-client', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const headers: Record<string, string> = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method };
  if (typeof params.name === 'string') headers['Mcp-Name'] = params.name;
  return { body: { jsonrpc: '2.0', id, method, params: { ...params, _meta: envelope } }, headers };
}

export interface JsonRpcReply {
  readonly jsonrpc: '2.0';
  readonly id: string | number | null;
  readonly result?: Record<string, unknown> & {
    content?: { type: string; text: string }[];
    structuredContent?: Record<string, unknown>;
    isError?: boolean;
  };
  readonly error?: { code: number; message: string; data?: Record<string, unknown> };
}

export function replyOf(result: { body: string; isBase64Encoded: boolean }): JsonRpcReply {
  const text = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
  return JSON.parse(text) as JsonRpcReply;
}

/**
 * Captures what the Powertools logger writes: it has its own Console on process.stdout (info) and
 * process.stderr (warn, error).
 */
export function captureLogs(): { lines: () => Record<string, unknown>[]; raw: () => string; restore: () => void } {
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(record),
    jest.spyOn(process.stderr, 'write').mockImplementation(record),
  ];
  const raw = () => chunks.join('');
  return {
    raw,
    lines: () =>
      raw()
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

/**
 * An SDK client transport that goes through a buffered MCP Lambda handler in process: each request
 * becomes the proxy event API Gateway would deliver, with the authorizer's context, and the proxy
 * result becomes the web Response the client reads.
 */
export function inProcessTransport(
  handler: (event: ProxyEvent) => Promise<unknown>,
  authorizer: Record<string, string> = authorizerContext(),
): StreamableHTTPClientTransport {
  const base = publicBaseOf(PUBLIC_BASE_URL);
  return new StreamableHTTPClientTransport(new URL(RESOURCE), {
    fetch: async (url, init) =>
      responseFromProxyResult(
        (await handler(await proxyEventFromRequest(new Request(url, init), base, { authorizer }))) as ProxyResult,
      ),
    requestInit: { headers: { Authorization: bearerAuthorization(TOKEN) } },
  });
}
