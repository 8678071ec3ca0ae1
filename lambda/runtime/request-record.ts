/**
 * The one mutable thing per request, kept for what the lifecycle needs: the fields of the request's
 * log line (filled by the pipeline from what each step returns, and by the SDK bridge through
 * {@link SdkRequestHooks}), and what to release once the answer has been written to the end.
 */
import type { RequestId } from '@modelcontextprotocol/server';
import type { RequestLogFields, RequestLogWriter } from './request-log';

export interface RequestRecord {
  readonly requestId: string;
  readonly httpMethod: string;
  /** The request's Origin once it passed the Origin check, serialised, for the CORS answer. */
  allowedOrigin?: string;
  rpcMethod?: string;
  tool?: string;
  era?: 'legacy' | 'modern';
  sub?: string;
  /** The JSON-RPC id of the request, echoed on an error answer. */
  rpcId?: RequestId | null;
  readonly reasons: string[];
  /** An unexpected exception, logged with its stack on the request's line. */
  error?: Error;
  /**
   * What to release once the answer has been read or written to the end (the 2025 transport, the
   * in-flight entry, the caller's lease); each runs once, whatever ended the request.
   */
  readonly cleanups: Cleanup[];
  /** Set once the answer is done: a cleanup added later runs at once. */
  finished?: boolean;
}

/** What the SDK bridge may do to a request's record: note a reason, say the era, release something later. */
/** A release; one that returns a promise (a lease's DeleteItem) is awaited before the invocation ends. */
export type Cleanup = () => unknown;

export interface SdkRequestHooks {
  readonly requestId: string;
  note(reason: string): void;
  setEra(era: 'legacy' | 'modern'): void;
  onFinished(cleanup: () => void): void;
}

export function newRecord(requestId: string, httpMethod: string): RequestRecord {
  return { requestId, httpMethod: httpMethod.toUpperCase(), reasons: [], cleanups: [] };
}

export function hooksOf(record: RequestRecord): SdkRequestHooks {
  return {
    requestId: record.requestId,
    note: (reason) => void record.reasons.push(reason),
    setEra: (era) => {
      record.era = era;
    },
    onFinished: (cleanup) => onFinished(record, cleanup),
  };
}

/** Runs `cleanup` once the request is finished: at once when it already is (its promise then awaited by no one). */
export function onFinished(record: RequestRecord, cleanup: Cleanup): void {
  if (record.finished) void cleanup();
  else record.cleanups.push(cleanup);
}

/**
 * Marks the request finished and runs its cleanups, resolving once the asynchronous ones settled:
 * the handler awaits it, since Lambda freezes the process once the handler returns and a release
 * left pending would wait for the next invocation.
 */
export async function finish(record: RequestRecord): Promise<void> {
  record.finished = true;
  const pending = record.cleanups.splice(0).map((cleanup) => cleanup());
  await Promise.allSettled(pending);
}

/** Writes the request's one log line: ERROR for a 5xx, WARN for a refusal, INFO otherwise. */
export function logRequest(write: RequestLogWriter, record: RequestRecord, status: number, durationMs: number): void {
  const fields: RequestLogFields = {
    requestId: record.requestId,
    httpMethod: record.httpMethod,
    rpcMethod: record.rpcMethod,
    tool: record.tool,
    era: record.era,
    status,
    durationMs: Math.round(durationMs * 100) / 100,
    sub: record.sub,
    reason: record.reasons.length > 0 ? record.reasons.join('; ') : undefined,
    error: record.error,
  };
  write(status >= 500 ? 'ERROR' : status >= 400 ? 'WARN' : 'INFO', fields);
}
