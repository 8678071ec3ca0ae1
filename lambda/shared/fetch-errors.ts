/**
 * What went wrong with an upstream `fetch` (JWKS, AuthKit metadata), in words for a log line.
 * Errors are read by shape, not `instanceof`: fetch's errors may come from another realm.
 */

interface ErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
}

function shapeOf(value: unknown): ErrorShape {
  return typeof value === 'object' && value !== null ? (value as ErrorShape) : {};
}

/** Whether the fetch was stopped by its timeout (`AbortSignal.timeout`) or an abort. */
export function isFetchTimeout(error: unknown): boolean {
  const { name } = shapeOf(error);
  return name === 'TimeoutError' || name === 'AbortError';
}

/**
 * The useful part of a failed fetch: Node reports "fetch failed" and keeps the reason
 * (ECONNREFUSED, ENOTFOUND, a TLS error...) in `cause`.
 */
export function fetchFailureDetail(error: unknown): string {
  const cause = shapeOf(shapeOf(error).cause);
  if (typeof cause.code === 'string') return cause.code;
  if (typeof cause.message === 'string') return cause.message;
  const { message } = shapeOf(error);
  return typeof message === 'string' ? message : String(error);
}
