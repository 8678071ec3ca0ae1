/**
 * Errors of the MCP Lambda runtime. Callers branch on `code`, never on message text.
 */

/** A value the runtime reads at cold start (environment or option) is missing or malformed. */
export class RuntimeConfigError extends Error {
  readonly code = 'RUNTIME_CONFIG';
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = 'RuntimeConfigError';
  }
}

/** A proxy event that cannot be turned into a web Request (a bad header value, a body on GET...). */
export class InvalidProxyEventError extends Error {
  readonly code = 'INVALID_PROXY_EVENT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidProxyEventError';
  }
}

/**
 * A request reached the MCP handler without the token authorizer's identity: a route wired without
 * the authorizer, or a caller that bypassed it. It is answered 401 and never served.
 */
export class MissingIdentityError extends Error {
  readonly code = 'MISSING_IDENTITY';
  constructor(message: string) {
    super(message);
    this.name = 'MissingIdentityError';
  }
}

/** A tool reads its caller, but the request carried no identity (it was not served by this runtime). */
export class NoCallerError extends Error {
  readonly code = 'NO_CALLER';
  constructor() {
    super('No caller identity on this request: serve the MCP server with createMcpLambdaHandler behind the token authorizer.');
    this.name = 'NoCallerError';
  }
}
