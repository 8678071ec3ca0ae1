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
  /** What to release once the answer has been read or written to the end (the 2025 transport, the in-flight entry). */
  readonly cleanups: (() => void)[];
  /** Set once the answer is done: a cleanup added later runs at once. */
  finished?: boolean;
}

/** What the SDK bridge may do to a request's record: note a reason, say the era, release something later. */
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

export function onFinished(record: RequestRecord, cleanup: () => void): void {
  if (record.finished) cleanup();
  else record.cleanups.push(cleanup);
}

export function finish(record: RequestRecord): void {
  record.finished = true;
  for (const cleanup of record.cleanups.splice(0)) cleanup();
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
