/**
 * A 2026-07-28 request, through the SDK's `createMcpHandler`. Streaming, it answers JSON unless the
 * handler sends something first (`responseMode: 'auto'`); buffered, always JSON.
 */
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import type { SdkFactory } from './sdk-factory';

export type ModernServe = (request: Request, authInfo: AuthInfo, parsedBody: unknown) => Promise<Response>;

export interface ModernServeOptions {
  readonly streaming: boolean;
  readonly maxBodyBytes: number;
  readonly reportError: (error: Error) => void;
}

export function createModernServe(factory: SdkFactory, options: ModernServeOptions): ModernServe {
  const handler = withoutJsonModeNotice(() =>
    createMcpHandler(factory, {
      legacy: 'reject',
      responseMode: options.streaming ? 'auto' : 'json',
      maxRequestBodySize: options.maxBodyBytes,
      onerror: options.reportError,
    }),
  );
  return (request, authInfo, parsedBody) => handler.fetch(request, { authInfo, parsedBody });
}

// The SDK announces on every construction in JSON mode that mid-call notifications are dropped.
// Buffered, that is this runtime's documented behaviour (a buffered integration could not deliver
// them before the result anyway), so the notice would only repeat on every cold start.
const JSON_MODE_NOTICE = "responseMode: 'json' drops mid-call notifications";

function withoutJsonModeNotice<T>(create: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith(JSON_MODE_NOTICE)) return;
    warn(...args);
  };
  try {
    return create();
  } finally {
    console.warn = warn;
  }
}
