/**
 * Decision logs and metrics in the formats of Powertools for AWS Lambda, without its weight.
 *
 * Powertools Logger and Metrics together add about 34 KB to the minified bundle (measured in
 * bench/authorizer.bench.ts), more than the authorizer's whole 30 KB budget. The authorizer needs
 * only one JSON log line and one EMF count per invocation, so it writes them itself. The handler
 * depends on the two small interfaces below, which Powertools' `Logger` and `Metrics` also
 * satisfy: passing those to `createAuthorizerHandler` swaps them in unchanged.
 */
import type { LogLevel } from '../shared/env';

/** The subset of the Powertools `Logger` API the authorizer uses. */
export interface DecisionLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** The subset of the Powertools `Metrics` API the authorizer uses. */
export interface DecisionMetrics {
  addMetric(name: string, unit: 'Count', value: number): void;
  /** Writes the stored metrics as one EMF document and clears them. */
  publishStoredMetrics(): void;
}

export type LineWriter = (line: string) => void;

/** Lambda ships each stdout line to CloudWatch Logs as-is, which is what EMF needs. */
const writeToStdout: LineWriter = (line) => {
  process.stdout.write(line);
};

// The same numeric levels as Powertools, so POWERTOOLS_LOG_LEVEL means the same thing here.
const LEVEL_RANK: Record<LogLevel, number> = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 };

export interface JsonLoggerOptions {
  readonly serviceName: string;
  readonly logLevel: LogLevel;
  /** @default writes to stdout */
  readonly write?: LineWriter;
}

/** One JSON object per line: `level`, `message`, `timestamp`, `service`, then the attributes. */
export function createJsonLogger(options: JsonLoggerOptions): DecisionLogger {
  const write = options.write ?? writeToStdout;
  const threshold = LEVEL_RANK[options.logLevel];
  const log = (level: 'INFO' | 'WARN' | 'ERROR') => (message: string, attributes: Record<string, unknown>) => {
    if (LEVEL_RANK[level] < threshold) return;
    write(`${JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: options.serviceName, ...attributes })}\n`);
  };
  return { info: log('INFO'), warn: log('WARN'), error: log('ERROR') };
}

export interface EmfMetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
  /** @default writes to stdout */
  readonly write?: LineWriter;
  /** Clock in milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** CloudWatch Embedded Metric Format, one document per publish, dimensioned by `service` like Powertools. */
export function createEmfMetrics(options: EmfMetricsOptions): DecisionMetrics {
  const write = options.write ?? writeToStdout;
  const now = options.now ?? Date.now;
  const stored = new Map<string, number>();
  return {
    addMetric(name, _unit, value) {
      stored.set(name, (stored.get(name) ?? 0) + value);
    },
    publishStoredMetrics() {
      if (stored.size === 0) return;
      const document: Record<string, unknown> = {
        _aws: {
          Timestamp: now(),
          CloudWatchMetrics: [{ Namespace: options.namespace, Dimensions: [['service']], Metrics: [...stored.keys()].map((Name) => ({ Name, Unit: 'Count' })) }],
        },
        service: options.serviceName,
      };
      for (const [name, value] of stored) document[name] = value;
      stored.clear();
      write(`${JSON.stringify(document)}\n`);
    },
  };
}
