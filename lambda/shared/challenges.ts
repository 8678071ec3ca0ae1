/**
 * The `WWW-Authenticate` challenges of RFC 6750 §3 that the server sends: the gateway's 401 and 403
 * (built by the construct at synth time) and the MCP runtime's own refusals. One definition, so a
 * client meets the same challenge whichever side refused it.
 */
import { resourceScopes } from './scopes';
import type { ServerUrls } from './urls';

/**
 * The `WWW-Authenticate` value for a 401: `Bearer resource_metadata="..."`, plus `scope="..."` when
 * scopes are required. It carries no `error` code because the same response answers a request
 * without credentials (RFC 6750 §3.1).
 */
export function unauthorizedChallenge(urls: ServerUrls, requiredScopes: readonly string[] = []): string {
  const parts = [`resource_metadata="${urls.protectedResourceMetadata}"`];
  const scope = resourceScopes(requiredScopes).join(' ');
  if (scope) parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** The `WWW-Authenticate` value for a 403 when the token lacks scopes (RFC 6750 §3.1 `insufficient_scope`). */
export function insufficientScopeChallenge(urls: ServerUrls, requiredScopes: readonly string[]): string {
  const parts = ['error="insufficient_scope"'];
  const scope = resourceScopes(requiredScopes).join(' ');
  if (scope) parts.push(`scope="${scope}"`);
  parts.push(`resource_metadata="${urls.protectedResourceMetadata}"`);
  return `Bearer ${parts.join(', ')}`;
}

/**
 * The `WWW-Authenticate` value for a 403 that a token with more scopes would not fix, such as a
 * caller of an organization this server does not serve: where the metadata is, and no `error`
 * code, so that clients do not start a step-up (RFC 6750 §3.1 `insufficient_scope`) that cannot help.
 */
export function accessDeniedChallenge(urls: ServerUrls): string {
  return `Bearer resource_metadata="${urls.protectedResourceMetadata}"`;
}

/**
 * The `WWW-Authenticate` value for a 401 on a token that was presented but is no longer valid
 * (RFC 6750 §3.1 `invalid_token`), e.g. one that expired while its authorizer decision was cached.
 * `description` is a fixed, human-readable sentence without quotes or backslashes.
 */
export function invalidTokenChallenge(urls: ServerUrls, description: string): string {
  return `Bearer error="invalid_token", error_description="${description}", resource_metadata="${urls.protectedResourceMetadata}"`;
}

/**
 * Each tool's required scopes by tool name (only tools that require some), as the tool definitions
 * declare them (`toolScopesOf(tools)` in the runtime). The step-up authorizer judges a
 * `tools/call` with it, and the construct names its scopes in the step-up challenge.
 */
export type ToolScopes = Readonly<Record<string, readonly string[]>>;

/**
 * The key of the Deny context in which the step-up authorizer names the scopes a request lacks;
 * the `ACCESS_DENIED` gateway response reads it as `$context.authorizer.<key>`.
 */
export const STEP_UP_CONTEXT_KEY = 'requiredScope';

/** The scopes a tool requires that `granted` lacks; none for a tool without required scopes. */
export function missingToolScopes(toolScopes: ToolScopes, tool: string, granted: readonly string[]): string[] {
  const required = Object.hasOwn(toolScopes, tool) ? toolScopes[tool] : [];
  return required.filter((scope) => !granted.includes(scope));
}

/**
 * The scopes the step-up challenge header names: the server's required scopes and every scope a
 * tool requires. A gateway response header holds a static value
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.gatewayResponse.html),
 * so it names the union; the body names the scopes the request lacked.
 */
export function stepUpScopes(requiredScopes: readonly string[], toolScopes: ToolScopes): string[] {
  return resourceScopes([...requiredScopes, ...Object.values(toolScopes).flat()]);
}
