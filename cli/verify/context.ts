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
  /** Where <McpUrl> runs, computed once from its host: the fixes name `npm run dev` or the deployed stack. */
  readonly where: Where;
}

/** `local`: a loopback host, the stack of `npm run dev`; `deployed`: anything else. */
export type Where = 'local' | 'deployed';

/** Loopback names and addresses (RFC 6761 §6.3 reserves `localhost` and its subdomains). */
export function whereOf(mcpUrl: string): Where {
  let host: string;
  try {
    host = new URL(mcpUrl).hostname.toLowerCase();
  } catch {
    return 'deployed';
  }
  const loopback =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(?:\.\d{1,3}){3}$/.test(host) ||
    host === '[::1]' ||
    host === '::1';
  return loopback ? 'local' : 'deployed';
}

/** The fix for a URL that gives no answer, worded for where it runs. */
export function unreachableFix(where: Where): string {
  return where === 'local'
    ? 'nothing answers there: start the local stack with `npm run dev` and pass the MCP URL it prints (http://localhost:<port>/mcp)'
    : "check the URL (the stack's McpUrl output), your network, and that the stack is deployed";
}

/** Where the MCP function's log lines are, worded for where it runs. */
export function logsHint(where: Where): string {
  return where === 'local'
    ? "see the MCP function's log lines in the terminal running `npm run dev`"
    : "check the MCP function's logs in CloudWatch (its log group is in the stack)";
}

/** The fix for a 404 from <McpUrl>: the path is wrong, and what the MCP URL looks like. */
export function wrongPathFix(mcpUrl: string, where: Where): string {
  return `the path is wrong: nothing is served at ${new URL(mcpUrl).pathname}. Pass the MCP URL, which ends in /mcp, e.g. ${mcpUrlExample(mcpUrl, where)}`;
}

/** What a correct <McpUrl> looks like, for a fix that says the path is wrong. */
export function mcpUrlExample(mcpUrl: string, where: Where): string {
  let origin = '<origin>';
  try {
    origin = new URL(mcpUrl).origin;
  } catch {
    // an unparsable URL keeps the placeholder
  }
  return where === 'local'
    ? `${origin}/mcp, as \`npm run dev\` prints it`
    : "https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/mcp (the stack's McpUrl output: npx cdk deploy --outputs-file cdk-outputs.json), or https://<customDomain>/mcp";
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
