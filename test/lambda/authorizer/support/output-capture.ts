/**
 * Collects what the authorizer writes to stdout and stderr (Powertools Logger: info to stdout,
 * warnings and errors to stderr; Powertools Metrics: EMF to stdout), and reads it back as JSON.
 */
export interface CapturedOutput {
  /** Every chunk written while capturing, in order. */
  readonly lines: string[];
  /** Starts diverting stdout and stderr into `lines`. */
  start(): void;
  /** Gives stdout and stderr back. */
  stop(): void;
  /** Parsed log lines (those with a `level`). */
  logs(): Array<Record<string, unknown>>;
  /** Parsed EMF documents (those with `_aws`). */
  metrics(): Array<Record<string, unknown>>;
  clear(): void;
}

export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  let spies: jest.SpyInstance[] = [];
  const parsed = () =>
    lines
      .flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== ''))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const divert = (stream: NodeJS.WriteStream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  return {
    lines,
    start: () => {
      spies = [divert(process.stdout), divert(process.stderr)];
    },
    stop: () => {
      for (const spy of spies) spy.mockRestore();
      spies = [];
    },
    logs: () => parsed().filter((l) => 'level' in l),
    metrics: () => parsed().filter((l) => '_aws' in l),
    clear: () => void lines.splice(0),
  };
}

/** Metric names and values of one EMF document. */
export function emfCounts(document: Record<string, unknown>): Record<string, unknown> {
  const aws = document._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> };
  return Object.fromEntries(aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, document[m.Name]]));
}
