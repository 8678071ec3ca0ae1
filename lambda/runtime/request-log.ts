/**
 * The one log line per MCP request, written through the Powertools Logger's public API, so the
 * line is whatever the Logger is configured to write: its level threshold (POWERTOOLS_LOG_LEVEL,
 * AWS_LAMBDA_LOG_LEVEL, `setLogLevel`), service, sampling, persistent and temporary keys, X-Ray
 * trace id, custom formatter, buffering and POWERTOOLS_DEV pretty printing.
 *
 * Every string field is bounded: the method, tool and reason come from the request (a client can
 * send a 1 MB method name), so each is cut at MAX_LOGGED_FIELD_CHARS characters and the line then
 * also says how long the original was (`rpcMethodLength`, ...). One request cannot make a log line
 * larger than a few KB.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export const REQUEST_LOG_MESSAGE = 'mcp request';

/** Longest value of a string field written as is; longer ones are cut and their length logged beside them. */
export const MAX_LOGGED_FIELD_CHARS = 128;

export type RequestLogLevel = 'INFO' | 'WARN' | 'ERROR';

/** The fields of the per-request line. Absent fields are left out, as Powertools leaves out empty ones. */
export interface RequestLogFields {
  readonly requestId: string;
  readonly httpMethod: string;
  readonly rpcMethod?: string;
  readonly tool?: string;
  readonly era?: string;
  readonly status: number;
  readonly durationMs: number;
  readonly sub?: string;
  readonly reason?: string;
  readonly error?: Error;
}

export type RequestLogWriter = (level: RequestLogLevel, fields: RequestLogFields) => void;

/** Writes the per-request line through `logger`, at `level`, with every string field bounded. */
export function createRequestLogWriter(logger: Logger): RequestLogWriter {
  return (level, fields) => {
    const attributes = boundedAttributes(fields);
    if (level === 'ERROR') logger.error(REQUEST_LOG_MESSAGE, attributes);
    else if (level === 'WARN') logger.warn(REQUEST_LOG_MESSAGE, attributes);
    else logger.info(REQUEST_LOG_MESSAGE, attributes);
  };
}

/** The fields as log attributes: absent ones left out, long strings cut, with `<name>Length` giving the original length. */
export function boundedAttributes(fields: RequestLogFields): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key as keyof RequestLogFields];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value === 'string' && value.length > MAX_LOGGED_FIELD_CHARS) {
      attributes[key] = `${value.slice(0, MAX_LOGGED_FIELD_CHARS)}…`;
      attributes[`${key}Length`] = value.length;
    } else {
      attributes[key] = value;
    }
  }
  return attributes;
}
