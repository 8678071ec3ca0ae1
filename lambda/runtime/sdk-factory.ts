/**
 * The tool author's factory as the MCP SDK calls it, for either era: the SDK's context plus the
 * caller, the server info, the server options and the `requestState` codec.
 */
import type { AuthInfo, McpRequestContext, RequestStateCodec } from '@modelcontextprotocol/server';
import { callerOf } from './auth-info';
import { MissingIdentityError } from './errors';
import type { SdkRequestHooks } from './request-record';
import type { McpLambdaRequestContext, McpLambdaServerFactory, ServerInfo } from './server-factory';

export type SdkFactory = (ctx: McpRequestContext) => ReturnType<McpLambdaServerFactory>;

export interface SdkFactoryContext {
  readonly serverInfo: ServerInfo;
  readonly requestState?: RequestStateCodec;
}

/**
 * `hooksOf` finds the request the SDK is building a server for: the SDK hands the factory the very
 * `AuthInfo` object given to it, which identifies the request.
 */
export function createSdkFactory(
  factory: McpLambdaServerFactory,
  { serverInfo, requestState }: SdkFactoryContext,
  hooksOf: (authInfo: AuthInfo) => SdkRequestHooks | undefined,
): SdkFactory {
  const serverOptions: McpLambdaRequestContext['serverOptions'] = {
    inputRequired: { legacyShim: false },
    ...(requestState ? { requestState: { verify: requestState.verify } } : {}),
  };
  return (ctx) => {
    if (ctx.authInfo === undefined) throw new MissingIdentityError('the MCP SDK called the factory without authInfo');
    hooksOf(ctx.authInfo)?.setEra(ctx.era);
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
