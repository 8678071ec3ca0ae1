/**
 * What every check receives, and the few facts one group of checks hands to the next.
 */
import type { HttpClient } from './http';

export interface VerifyContext {
  /** The MCP endpoint exactly as given: the resource every document must name. */
  readonly mcpUrl: string;
  /** The only HTTP client checks use (bounded, no redirects). */
  readonly http: HttpClient;
  /** The browser origin the CORS checks use; null skips them (no browser clients). */
  readonly origin: string | null;
}

/** An `initialize` request, the first thing any client POSTs. */
export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'mcp-authkit-apigateway-verify', version: '1' },
  },
});

/** The headers of a Streamable HTTP POST, without credentials. */
export const MCP_POST_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'application/json',
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-06-18',
};

/** `<base>` of `<base>/mcp`, where the stack serves its own documents; undefined for another path. */
export function baseOfMcpUrl(mcpUrl: string): string | undefined {
  const url = new URL(mcpUrl);
  if (!url.pathname.endsWith('/mcp') || url.search !== '' || url.hash !== '') return undefined;
  return `${url.origin}${url.pathname.slice(0, -'/mcp'.length)}`;
}

/** The RFC 9728 path-form location of the metadata for `mcpUrl`: `/.well-known/oauth-protected-resource` inserted before the path. */
export function wellKnownResourceMetadataUrl(mcpUrl: string): string {
  const url = new URL(mcpUrl);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** RFC 8414 §3.1: the metadata of issuer `https://host/path` is at `https://host/.well-known/oauth-authorization-server/path`. */
export function authorizationServerMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-authorization-server${path}`;
}

/** Parses the parameters of the `Bearer` challenge in a WWW-Authenticate value; undefined when there is none. */
export function bearerChallengeParams(header: string): Record<string, string> | undefined {
  const start = /(?:^|,\s*)Bearer(?:\s+|$)/i.exec(header);
  if (!start) return undefined;
  const params: Record<string, string> = {};
  const param = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*,?/y;
  param.lastIndex = start.index + start[0].length;
  for (let match = param.exec(header); match; match = param.exec(header)) {
    params[match[1].toLowerCase()] = match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3];
  }
  return params;
}
