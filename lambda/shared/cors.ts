/**
 * The CORS header lists of the MCP endpoint, one copy for the gateway's preflight and error
 * responses (construct) and for the MCP runtime's own answers.
 */

/** Request headers a browser MCP client sends (spec notes §3: the MCP and auth headers). */
export const MCP_REQUEST_HEADERS: readonly string[] = [
  'Authorization',
  'Content-Type',
  'Accept',
  'Mcp-Protocol-Version',
  'Mcp-Session-Id',
  'Last-Event-ID',
  'Mcp-Method',
  'Mcp-Name',
];

/** Response headers a browser MCP client must be able to read, the challenge above all. */
export const MCP_EXPOSED_HEADERS: readonly string[] = ['WWW-Authenticate', 'Mcp-Session-Id', 'Mcp-Protocol-Version'];
