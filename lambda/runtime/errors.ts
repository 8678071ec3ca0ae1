/**
 * Errors of the MCP Lambda runtime. Callers branch on `code`, never on message text.
 */

/**
 * The base of every error of the MCP runtime. Each error states its own `name`: the bundle is
 * minified, which renames classes, and keeping their names (esbuild `keepNames`) costs the MCP bundle
 * 48 KB and its cold start a `__name` call per function.
 */
export abstract class McpRuntimeError extends Error {
  abstract override readonly name: string;
}

/** A value the runtime reads at cold start (environment or option) is missing or malformed. */
export class RuntimeConfigError extends McpRuntimeError {
  override readonly name = 'RuntimeConfigError';
  readonly code = 'RUNTIME_CONFIG';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

/** A proxy event that cannot be turned into a web Request (a bad header value, a body on GET...). */
export class InvalidProxyEventError extends McpRuntimeError {
  override readonly name = 'InvalidProxyEventError';
  readonly code = 'INVALID_PROXY_EVENT';
}

/**
 * A request reached the MCP handler without the token authorizer's identity: a route wired without
 * the authorizer, or a caller that bypassed it. It is answered 401 and never served.
 */
export class MissingIdentityError extends McpRuntimeError {
  override readonly name = 'MissingIdentityError';
  readonly code = 'MISSING_IDENTITY';
}

/**
 * The authorizer vouched for a token whose `exp` has since passed. API Gateway caches authorizer
 * decisions per token (`authorizerCacheTtl`) without looking at `exp`, so the runtime checks it on
 * every request. Answered 401 `invalid_token`.
 */
export class ExpiredTokenError extends McpRuntimeError {
  override readonly name = 'ExpiredTokenError';
  readonly code = 'TOKEN_EXPIRED';
  constructor(
    /** The caller the token was issued to, for the log line. */
    readonly sub: string,
    /** The token's `exp`, seconds since the epoch. */
    readonly expiresAt: number,
    readonly clockToleranceSeconds: number,
  ) {
    super(
      `the access token expired at ${new Date(expiresAt * 1000).toISOString()} (clock tolerance ${clockToleranceSeconds} s); a cached authorizer decision outlived it`,
    );
  }
}

/**
 * The MCP SDK answered with an event stream, which a buffered REST API integration cannot carry
 * and which may never end. The stream is cancelled and the request answered with a JSON error.
 */
export class StreamingResponseError extends McpRuntimeError {
  override readonly name = 'StreamingResponseError';
  readonly code = 'STREAMING_RESPONSE';
  constructor() {
    super(
      'the MCP SDK answered with a text/event-stream, which a buffered API Gateway integration cannot deliver; the stream was cancelled',
    );
  }
}

/** A tool reads its caller, but the request carried no identity (it was not served by this runtime). */
export class NoCallerError extends McpRuntimeError {
  override readonly name = 'NoCallerError';
  readonly code = 'NO_CALLER';
  constructor() {
    super(
      'No caller identity on this request: serve the MCP server with createMcpLambdaHandler behind the token authorizer.',
    );
  }
}
