/**
 * What the REQUEST authorizer reads beyond the token (the step-up challenge): the request's
 * headers, from which it learns the tool a 2026-07-28 `tools/call` names. A REQUEST authorizer
 * receives the headers, not the body
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html);
 * the MCP runtime refuses a request whose `Mcp-Method`/`Mcp-Name` disagree with its body, so an
 * Allow for one tool cannot run another.
 */
import { missingToolScopes, type ToolScopes } from '../shared/challenges';

/** The headers of a REQUEST authorizer event (`null` when the request has none). */
export type RequestHeaders = Readonly<Record<string, string | undefined>> | null | undefined;

/** One header by name, whatever case the client sent it in. */
export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The tool a `tools/call` names in its headers and the scopes the token lacks for it, or `undefined` when it lacks none. */
export function stepUpShortfall(
  headers: RequestHeaders,
  toolScopes: ToolScopes,
  granted: readonly string[],
): { readonly tool: string; readonly missingScopes: readonly string[] } | undefined {
  if (headerOf(headers, 'Mcp-Method')?.trim() !== 'tools/call') return undefined;
  // A 2025-era client sends no Mcp-Name: it is let through, and the runtime judges the tool from the body.
  const tool = headerOf(headers, 'Mcp-Name')?.trim();
  if (!tool) return undefined;
  const missingScopes = missingToolScopes(toolScopes, tool, granted);
  return missingScopes.length === 0 ? undefined : { tool, missingScopes };
}
