/**
 * Errors of the metadata Lambda. Callers branch on `code`, never on message text; messages say what
 * happened and what to do, for the person reading the logs.
 */

/**
 * The base of every error of the metadata Lambda. Each error states its own `name`: the bundle is
 * minified, which renames classes, and keeping their names (esbuild `keepNames`) costs the MCP bundle
 * 48 KB and its cold start a `__name` call per function.
 */
export abstract class MetadataError extends Error {
  abstract override readonly name: string;
}

/** A metadata Lambda environment variable is missing or malformed; the function refuses to start. */
export class MetadataConfigError extends MetadataError {
  override readonly name = 'MetadataConfigError';
  readonly code = 'INVALID_METADATA_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${variable}: ${message}`, options);
  }
}

export type UpstreamMetadataErrorCode =
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_HTTP_STATUS'
  | 'UPSTREAM_REDIRECT'
  | 'UPSTREAM_TOO_LARGE'
  | 'UPSTREAM_NOT_JSON'
  | 'UPSTREAM_NOT_JSON_OBJECT'
  | 'UPSTREAM_ISSUER_MISMATCH';

/** The authorization server's metadata could not be fetched, or what came back cannot be trusted. */
export class UpstreamMetadataError extends MetadataError {
  override readonly name = 'UpstreamMetadataError';
  constructor(
    readonly code: UpstreamMetadataErrorCode,
    message: string,
    readonly details: { readonly url: string; readonly upstreamStatus?: number; readonly cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }
}
