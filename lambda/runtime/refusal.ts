/**
 * What a request check returns when it refuses: the answer, and the reason for the log line. A
 * check that lets the request through returns `undefined`; the pipeline writes the reason down.
 */
export interface Refusal {
  readonly refused: Response;
  /** Why, for the request's log line (never a token or a header value that carries one). */
  readonly reason: string;
}

export function refusal(refused: Response, reason: string): Refusal {
  return { refused, reason };
}

export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && (value as Refusal).refused instanceof Response;
}
