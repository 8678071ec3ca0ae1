import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLoadClient, summarise, type LoadClient } from '../../bench/load';

describe('load client', () => {
  let server: Server;
  let url: string;
  let received: string[];
  let client: LoadClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push(body);
        const status = body === 'fail' ? 500 : 200;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`echo ${body}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  beforeEach(() => {
    received = [];
    client = createLoadClient();
  });
  afterEach(() => client.close());
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends each numbered request exactly once and times every one', async () => {
    const result = await client.run({
      concurrency: 4,
      requests: 25,
      request: (i) => ({ url, headers: { 'content-type': 'text/plain' }, body: String(i) }),
      check: (status, body) => {
        if (status !== 200 || !body.startsWith('echo ')) throw new Error('bad answer');
      },
    });
    expect(received.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(result.requests).toBe(25);
    expect(result.latenciesMs).toHaveLength(25);
    expect(result.requestsPerSecond).toBeCloseTo(25 / result.seconds, 9);
  });

  it('fails the run when an answer fails its check', async () => {
    const run = client.run({
      concurrency: 2,
      requests: 5,
      request: (i) => ({ url, headers: {}, body: i === 3 ? 'fail' : 'ok' }),
      check: (status) => {
        if (status !== 200) throw new Error(`answer ${status}`);
      },
    });
    await expect(run).rejects.toThrow('answer 500');
  });

  it('summarises rounds as total requests over total time', () => {
    const summary = summarise([
      { requests: 100, seconds: 1, requestsPerSecond: 100, latenciesMs: Array.from({ length: 100 }, (_, i) => i + 1) },
      {
        requests: 100,
        seconds: 3,
        requestsPerSecond: 100 / 3,
        latenciesMs: Array.from({ length: 100 }, (_, i) => i + 101),
      },
    ]);
    expect(summary.requests).toBe(200);
    expect(summary.requestsPerSecond).toBe(50);
    expect(summary.p50Ms).toBe(100);
    expect(summary.p99Ms).toBe(198);
  });
});
