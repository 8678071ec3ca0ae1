/**
 * A 2025-era request: a fresh server from the factory on the SDK's stateless Streamable HTTP
 * transport, both closed once the response has been read to the end.
 */
import { McpServer, WebStandardStreamableHTTPServerTransport, type AuthInfo } from '@modelcontextprotocol/server';
import type { SdkRequestHooks } from './request-record';
import { jsonUnlessStreamed } from './sse';
import type { SdkFactory } from './sdk-factory';

export type LegacyServe = (
  request: Request,
  authInfo: AuthInfo,
  parsedBody: unknown,
  hooks: SdkRequestHooks,
) => Promise<Response>;

export interface LegacyServeOptions {
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
  readonly reportError: (error: Error) => void;
}

export function createLegacyServe(factory: SdkFactory, options: LegacyServeOptions): LegacyServe {
  const { streaming, maxBodyBytes, reportError } = options;
  return async (request, authInfo, parsedBody, hooks) => {
    const product = await factory({ era: 'legacy', authInfo, requestInfo: request });
    const server = product instanceof McpServer ? product.server : product;
    server.onerror = (error) => hooks.note(error.message);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: !streaming,
      maxRequestBodySize: maxBodyBytes,
    });
    const close = (): void => {
      void transport.close().catch(reportError);
      void product.close().catch(reportError);
    };
    await product.connect(transport);
    let response: Response;
    try {
      response = await transport.handleRequest(request, { authInfo, parsedBody });
    } catch (error) {
      close();
      throw error;
    }
    hooks.onFinished(close);
    return streaming ? jsonUnlessStreamed(response) : response;
  };
}
