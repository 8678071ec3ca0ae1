/**
 * A closed-loop HTTP load generator for loopback benchmarks: a fixed number of workers, each
 * sending its next request as soon as the previous one answered, over keep-alive connections.
 * Every answer is checked, so a fast stream of errors can never pass for throughput.
 */
import { Agent, request as httpRequest } from 'node:http';
import { percentile } from './harness';

export interface LoadRequest {
  readonly url: string;
  readonly method?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  /** Latency of every request, in ms, in completion order. */
  readonly latenciesMs: readonly number[];
}

export interface LoadOptions {
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Requests to send in total. */
  readonly requests: number;
  /** The request to send as number `i` (0-based). */
  readonly request: (i: number) => LoadRequest;
  /** Throws when an answer is wrong; the run stops with that error. */
  readonly check: (status: number, body: string) => void;
}

export interface LoadClient {
  run(options: LoadOptions): Promise<LoadResult>;
  close(): void;
}

/** One keep-alive agent per client, so every run reuses warm connections. */
export function createLoadClient(): LoadClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const send = (req: LoadRequest): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const outgoing = httpRequest(req.url, { method: req.method ?? 'POST', headers: req.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end(req.body);
    });

  return {
    async run(options) {
      let next = 0;
      const latencies: number[] = [];
      const started = process.hrtime.bigint();
      const worker = async () => {
        while (next < options.requests) {
          const i = next++;
          const t0 = process.hrtime.bigint();
          const answer = await send(options.request(i));
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          options.check(answer.status, answer.body);
        }
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, worker));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return {
        requests: options.requests,
        seconds,
        requestsPerSecond: options.requests / seconds,
        latenciesMs: latencies,
      };
    },
    close: () => agent.destroy(),
  };
}

/** Sums interleaved rounds of one subject into one figure: total requests over total time, p50/p99 over all requests. */
export function summarise(results: readonly LoadResult[]): {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
} {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  const latencies = results.flatMap((r) => r.latenciesMs);
  return {
    requestsPerSecond: requests / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests,
  };
}

/** The check for an MCP tools/call of format_json answered in JSON. */
export function expectFormattedJson(status: number, body: string): void {
  if (status !== 200 || !body.includes('formatted'))
    throw new Error(`expected a 200 tools/call answer, got ${status}: ${body.slice(0, 300)}`);
}
