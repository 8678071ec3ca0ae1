/**
 * The MCP SDK for both protocol eras, over one factory: a 2026-07-28 request goes to
 * {@link createModernServe}, a 2025-era one to {@link createLegacyServe}. Streaming, a 2025-era
 * answer gets the same JSON-unless-streamed treatment as the modern path, and its transport stays
 * open until the body has been read.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isLegacyRequest, type AuthInfo } from '@modelcontextprotocol/server';
import { bindCallerAccess } from './caller';
import type { ParsedMessage } from './json-rpc';
import { createLegacyServe } from './legacy-era';
import { createModernServe } from './modern-era';
import type { SdkRequestHooks } from './request-record';
import type { RequestStates } from './request-state';
import { createSdkFactory, type SdkRequest } from './sdk-factory';
import type { McpLambdaServerFactory, ServerInfo } from './server-factory';
import type { ToolDefinition } from './tool-definition';
import type { RoleResolver } from './workos-access';

/** Serves one parsed JSON-RPC message through the SDK. */
export type SdkServe = (
  request: Request,
  parsed: ParsedMessage,
  authInfo: AuthInfo,
  hooks: SdkRequestHooks,
) => Promise<Response>;

export interface SdkBridgeOptions {
  readonly serverInfo: ServerInfo;
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
  readonly requestStates?: RequestStates;
  /** Backs `callerOf(...).access()`; without one, a person's access is refused as not configured. */
  readonly roleResolver?: RoleResolver;
  readonly tools?: readonly ToolDefinition[];
  readonly listAllTools?: boolean;
}

export function createSdkBridge(factory: McpLambdaServerFactory, options: SdkBridgeOptions, logger: Logger): SdkServe {
  const inFlight = new Set<SdkRequestHooks>();
  const reportError = createErrorReporter(inFlight, logger);
  const requests = new WeakMap<AuthInfo, SdkRequest>();
  const sdkFactory = createSdkFactory(factory, options, (authInfo) => requests.get(authInfo));
  const eraOptions = { streaming: options.streaming, maxBodyBytes: options.maxBodyBytes, reportError };
  const modern = createModernServe(sdkFactory, eraOptions);
  const legacy = createLegacyServe(sdkFactory, eraOptions);

  return async (request, parsed, authInfo, hooks) => {
    const { message } = parsed;
    requests.set(authInfo, { hooks, parsed });
    bindCallerAccess(authInfo, options.roleResolver);
    inFlight.add(hooks);
    try {
      hooks.onFinished(() => inFlight.delete(hooks));
      return (await isLegacyRequest(request, message))
        ? await legacy(request, authInfo, message, hooks)
        : await modern(request, authInfo, message);
    } catch (error) {
      inFlight.delete(hooks);
      throw error;
    }
  };
}

/**
 * The SDK reports errors through one `onerror` callback without saying which request they belong
 * to. A Lambda instance serves one request at a time, so the reason goes on that request's line;
 * with several in flight (a local runner) it gets a line of its own.
 */
function createErrorReporter(inFlight: ReadonlySet<SdkRequestHooks>, logger: Logger): (error: Error) => void {
  return (error) => {
    if (inFlight.size === 1) for (const hooks of inFlight) hooks.note(error.message);
    else logger.warn('MCP SDK reported an error', { reason: error.message, requestsInFlight: inFlight.size });
  };
}
