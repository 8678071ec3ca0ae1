/**
 * The one log line per MCP request, written directly in the JSON shape of Powertools' default
 * formatter: `level`, `message`, `timestamp`, `service`, `sampling_rate`, `xray_trace_id`, the
 * Logger's persistent keys, then the request's fields.
 *
 * Why not `logger.info(...)`: on a warm `tools/call` the Logger's path (attribute merging, a JSON
 * replacer run on every key, several environment reads per line) cost about a tenth of the whole
 * request's CPU in bench/mcp.bench.ts, while writing the same line directly costs about as much
 * as writing none. The line keeps what the Logger is configured with and a log query sees: level
 * threshold (POWERTOOLS_LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL, `setLogLevel`), service, sampling rate
 * and persistent keys. What only the Logger can do (pretty printing under POWERTOOLS_DEV,
 * timestamps in a non-UTC `TZ`, a line it cannot serialise) is left to the Logger itself; a
 * custom log formatter, temporary keys and log buffering apply to its other lines, not this one.
 */
import type { Logger } from '@aws-lambda-powertools/logger';

export const REQUEST_LOG_MESSAGE = 'mcp request';

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

// Powertools' numeric levels: a line is written when its level is at least the Logger's.
const LEVEL_RANK: Readonly<Record<RequestLogLevel, number>> = { INFO: 12, WARN: 16, ERROR: 20 };

// What Powertools keeps in the Logger for every line (a TypeScript-private field, read once).
interface PowertoolsLogData {
  readonly serviceName?: string;
  readonly sampleRateValue?: number;
}

/** Writes the per-request line for `logger`; see the module comment for what it keeps. */
export function createRequestLogWriter(logger: Logger): RequestLogWriter {
  if (needsLoggerFormatting()) return (level, fields) => logThroughLogger(logger, level, fields);
  const data = (logger['powertoolsLogData'] as PowertoolsLogData | undefined) ?? {};
  const service = data.serviceName || process.env.POWERTOOLS_SERVICE_NAME || 'service_undefined';
  const samplingRate = data.sampleRateValue;

  return (level, fields) => {
    if (LEVEL_RANK[level] < logger.level) return;
    const line: Record<string, unknown> = { level, message: REQUEST_LOG_MESSAGE, timestamp: new Date().toISOString(), service };
    if (samplingRate !== undefined) line.sampling_rate = samplingRate;
    const traceId = xrayTraceId();
    if (traceId) line.xray_trace_id = traceId;
    const persistent = logger.getPersistentLogAttributes();
    for (const key in persistent) putPresent(line, key, persistent[key]);
    line.requestId = fields.requestId;
    line.httpMethod = fields.httpMethod;
    putPresent(line, 'rpcMethod', fields.rpcMethod);
    putPresent(line, 'tool', fields.tool);
    putPresent(line, 'era', fields.era);
    line.status = fields.status;
    line.durationMs = fields.durationMs;
    putPresent(line, 'sub', fields.sub);
    putPresent(line, 'reason', fields.reason);
    if (fields.error !== undefined) line.error = formatError(fields.error);
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      // A persistent key JSON cannot carry as is (a BigInt, a cycle): the Logger's replacer can.
      logThroughLogger(logger, level, fields);
      return;
    }
    // Where Powertools' console writes: info to stdout, warnings and errors to stderr.
    if (level === 'INFO') process.stdout.write(`${text}\n`);
    else process.stderr.write(`${text}\n`);
  };
}

// Powertools drops undefined, null and empty-string values from a line.
function putPresent(line: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined && value !== null && value !== '') line[key] = value;
}

function logThroughLogger(logger: Logger, level: RequestLogLevel, fields: RequestLogFields): void {
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) putPresent(attributes, key, value);
  if (level === 'ERROR') logger.error(REQUEST_LOG_MESSAGE, attributes);
  else if (level === 'WARN') logger.warn(REQUEST_LOG_MESSAGE, attributes);
  else logger.info(REQUEST_LOG_MESSAGE, attributes);
}

/** POWERTOOLS_DEV pretty-prints, a non-UTC `TZ` changes the timestamp format: both are the Logger's job. */
function needsLoggerFormatting(): boolean {
  const dev = (process.env.POWERTOOLS_DEV ?? '').trim().toLowerCase();
  const tz = process.env.TZ ?? '';
  return ['1', 'true', 'yes', 'on', 'y'].includes(dev) || (tz !== '' && !tz.includes('UTC'));
}

interface LambdaInvokeStore {
  getXRayTraceId?(): string | undefined;
}

/** The Root of the X-Ray trace header of the current invocation, as Powertools reports it. */
function xrayTraceId(): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: LambdaInvokeStore } }).awslambda?.InvokeStore;
  const header = store?.getXRayTraceId?.() ?? process.env._X_AMZN_TRACE_ID;
  if (!header) return undefined;
  if (!header.includes('=')) return header;
  for (const part of header.split(';')) {
    const [name, value] = part.split('=');
    if (name.trim() === 'Root') return value?.trim();
  }
  return undefined;
}

const LOCATION = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/;

/** An error as Powertools' formatter writes it: name, location, message, stack, cause, own fields. */
function formatError(error: Error): Record<string, unknown> {
  const formatted: Record<string, unknown> = {
    name: error.name,
    location: locationOf(error.stack),
    message: error.message,
    stack: error.stack,
    cause: error.cause instanceof Error ? formatError(error.cause) : error.cause,
  };
  for (const key in error) {
    if (key !== 'name' && key !== 'message' && key !== 'stack' && key !== 'cause') formatted[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return formatted;
}

function locationOf(stack: string | undefined): string {
  for (const frame of (stack ?? '').split('\n')) {
    const match = LOCATION.exec(frame);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}
