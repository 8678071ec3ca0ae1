/**
 * The tool author's factory as the MCP SDK calls it, for either era: the SDK's context plus the
 * caller, the server info, the server options and the `requestState` codec.
 */
import type { AuthInfo, McpRequestContext } from '@modelcontextprotocol/server';
import { callerOf } from './caller';
import { MissingIdentityError } from './errors';
import type { ParsedMessage } from './json-rpc';
import type { SdkRequestHooks } from './request-record';
import type { RequestStates } from './request-state';
import type { McpLambdaRequestContext, McpLambdaServerFactory, ServerInfo } from './server-factory';

export type SdkFactory = (ctx: McpRequestContext) => ReturnType<McpLambdaServerFactory>;

export interface SdkFactoryContext {
  readonly serverInfo: ServerInfo;
  readonly requestStates?: RequestStates;
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
  { serverInfo, requestStates }: SdkFactoryContext,
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
    return factory({
      ...ctx,
      authInfo: ctx.authInfo,
      caller: callerOf(ctx.authInfo),
      serverInfo,
      serverOptions,
      requestState,
    });
  };
}
