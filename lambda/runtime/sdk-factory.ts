/**
 * The tool author's factory as the MCP SDK calls it, for either era: the SDK's context plus the
 * caller, the server info, the server options and the `requestState` codec.
 */
import type { AuthInfo, McpServer, McpRequestContext } from '@modelcontextprotocol/server';
import { callerOf } from './caller';
import { MissingIdentityError, RuntimeConfigError } from './errors';
import type { ParsedMessage } from './json-rpc';
import type { SdkRequestHooks } from './request-record';
import type { RequestStates } from './request-state';
import type { McpLambdaRequestContext, McpLambdaServerFactory, ServerInfo } from './server-factory';
import type { ToolDefinition } from './tool-definition';
import { neverCallable } from './tool-policy-decision';

export type SdkFactory = (ctx: McpRequestContext) => ReturnType<McpLambdaServerFactory>;

export interface SdkFactoryContext {
  readonly serverInfo: ServerInfo;
  readonly requestStates?: RequestStates;
  /** Registered on every server the factory returns. @default - none */
  readonly tools?: readonly ToolDefinition[];
  /** Keep in `tools/list` the tools this caller can never call. @default false */
  readonly listAllTools?: boolean;
}

/** The request the SDK is building a server for, as the runtime handed it over. */
export interface SdkRequest {
  readonly hooks: SdkRequestHooks;
  readonly parsed: ParsedMessage;
}

/**
 * `requestOf` finds the request the SDK is building a server for: the SDK hands the factory the
 * very `AuthInfo` object given to it, which identifies the request. The `requestState` codec and
 * its verification are made for that request, so a state verifies only on a retry of it.
 */
export function createSdkFactory(
  factory: McpLambdaServerFactory,
  { serverInfo, requestStates, tools = [], listAllTools = false }: SdkFactoryContext,
  requestOf: (authInfo: AuthInfo) => SdkRequest | undefined,
): SdkFactory {
  return (ctx) => {
    if (ctx.authInfo === undefined) throw new MissingIdentityError('the MCP SDK called the factory without authInfo');
    const request = requestOf(ctx.authInfo);
    if (request === undefined) throw new MissingIdentityError('the MCP SDK called the factory for an unknown request');
    request.hooks.setEra(ctx.era);
    const requestState = requestStates?.forRequest(request.parsed);
    const serverOptions: McpLambdaRequestContext['serverOptions'] = {
      inputRequired: { legacyShim: false },
      ...(requestState ? { requestState: { verify: requestState.verify } } : {}),
    };
    const caller = callerOf(ctx.authInfo);
    const context = { ...ctx, authInfo: ctx.authInfo, caller, serverInfo, serverOptions, requestState };
    const product = factory(context);
    if (tools.length === 0) return product;
    return Promise.resolve(product).then((server) => withTools(server, tools, context, listAllTools));
  };
}

/**
 * Whether the factory's server can take tool definitions. Checked by shape, not `instanceof`: an
 * app whose bundle holds two copies of the SDK (its own and this package's) makes an `McpServer`
 * of the other copy, which is just as good.
 */
function hasRegisterTool(server: Awaited<ReturnType<McpLambdaServerFactory>>): server is McpServer {
  return typeof (server as Partial<McpServer>).registerTool === 'function';
}

/**
 * Registers the definitions on the factory's server. For `caller`, the tools it can never call with
 * this token (wrong kind, missing scopes, no organization for a role) are disabled, which leaves
 * them out of `tools/list`; the policy check has already refused a call to one.
 */
function withTools(
  server: Awaited<ReturnType<McpLambdaServerFactory>>,
  tools: readonly ToolDefinition[],
  context: McpLambdaRequestContext,
  listAllTools: boolean,
): McpServer {
  if (!hasRegisterTool(server)) {
    throw new RuntimeConfigError(
      'tools',
      'The tools option needs the factory to return an McpServer (a low-level Server has no registerTool): return new McpServer(...), or register the tools yourself.',
    );
  }
  for (const tool of tools) {
    const registered = tool.register(server, context);
    if (!listAllTools && neverCallable(tool.policy, context.caller)) registered.disable();
  }
  return server;
}
