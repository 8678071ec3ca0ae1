/**
 * Errors of the MCP Lambda runtime. Callers branch on `code`, never on message text.
 */

/** The base of every error of the MCP runtime: its `name` is its class's name (bundles keep class names). */
export abstract class McpRuntimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A value the runtime reads at cold start (environment or option) is missing or malformed. */
export class RuntimeConfigError extends McpRuntimeError {
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
  readonly code = 'INVALID_PROXY_EVENT';
}

/**
 * A request reached the MCP handler without the token authorizer's identity: a route wired without
 * the authorizer, or a caller that bypassed it. It is answered 401 and never served.
 */
export class MissingIdentityError extends McpRuntimeError {
  readonly code = 'MISSING_IDENTITY';
}

/**
 * The authorizer vouched for a token whose `exp` has since passed. API Gateway caches authorizer
 * decisions per token (`authorizerCacheTtl`) without looking at `exp`, so the runtime checks it on
 * every request. Answered 401 `invalid_token`.
 */
export class ExpiredTokenError extends McpRuntimeError {
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
  readonly code = 'STREAMING_RESPONSE';
  constructor() {
    super(
      'the MCP SDK answered with a text/event-stream, which a buffered API Gateway integration cannot deliver; the stream was cancelled',
    );
  }
}

/** A tool reads its caller, but the request carried no identity (it was not served by this runtime). */
export class NoCallerError extends McpRuntimeError {
  readonly code = 'NO_CALLER';
  constructor() {
    super(
      'No caller identity on this request: serve the MCP server with createMcpLambdaHandler behind the token authorizer.',
    );
  }
}
