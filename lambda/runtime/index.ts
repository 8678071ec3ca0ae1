/**
 * The public runtime API (`mcp-authkit-apigateway/runtime`): serve your own MCP tools from a
 * Lambda behind the construct's API Gateway and token authorizer. Write a server factory; the
 * runtime handles the proxy event, the caller's identity, per-tool scopes, Origin, body limits,
 * both protocol eras and the error answers.
 *
 * Inside a tool callback `(args, ctx) => ...` (v2 SDK), the caller's `AuthInfo` is
 * `ctx.http?.authInfo`; `callerOf(ctx.http?.authInfo)` gives the caller (`kind` user or machine, `sub`,
 * `organizationId`, `clientId`, `scopes`, ...) and `await caller.access()` its role and permissions
 * from WorkOS.
 *
 * This module imports nothing from aws-cdk-lib or aws-lambda. The event ↔ Fetch adapter and the
 * other building blocks stay internal: import them from their modules inside this package only.
 */
export {
  createMcpLambdaHandler,
  type LambdaContextLike,
  type McpLambdaHandler,
  type McpLambdaHandlerOptions,
  type McpLambdaRequestContext,
  type McpLambdaServerFactory,
  type ServerInfo,
} from './handler';
export type { AuthInfoExtra } from './auth-info';
export {
  callerOf,
  type Caller,
  type CallerAccessResolution,
  type CallerKind,
  type ResolvedCallerAccess,
} from './caller';
export { NoCallerError } from './errors';
export {
  defineTool,
  defineToolWithContext,
  toolScopesOf,
  type ToolDefinition,
  type ToolDefinitionConfig,
} from './tool-definition';
export type { PolicyCallers, ToolPolicy } from './tool-policy';
export {
  createRoleResolver,
  type AccessRefusal,
  type AccessRefusalCode,
  type AccessResolution,
  type AccessSource,
  type CallerAccess,
  type RoleResolver,
  type RoleResolverOptions,
} from './workos-access';
export { fixedWorkOSApiKey, workosApiKeyFromEnvironment, type WorkOSApiKeySource } from './workos-api-key';
export type { AuthInfo } from '@modelcontextprotocol/server';
