/** Collects the lines the authorizer's logger and metrics write, and reads them back as JSON. */
export interface CapturedOutput {
  readonly lines: string[];
  readonly write: (line: string) => void;
  /** Parsed log lines (those with a `level`). */
  logs(): Array<Record<string, unknown>>;
  /** Parsed EMF documents (those with `_aws`). */
  metrics(): Array<Record<string, unknown>>;
  clear(): void;
}

export function captureOutput(): CapturedOutput {
  const lines: string[] = [];
  const parsed = () => lines.flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== '')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    lines,
    write: (line) => void lines.push(line),
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
