/**
 * Response streaming through the local gateway, wire level: a REST API method with
 * `ResponseTransferMode: STREAM` invoking a function wrapped in `awslambda.streamifyResponse`.
 *
 * Sources:
 * - API Gateway, Lambda proxy integration with response streaming (prelude, 8-NUL delimiter, the
 *   16 KB limit, string header values, streaming starts once prelude and delimiter arrive):
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html
 * - API Gateway response streaming (15-minute maximum, 5-minute idle timeout on Regional endpoints):
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html
 * - The Node.js runtime's own source, aws/aws-lambda-nodejs-runtime-interface-client
 *   (src/HttpResponseStream.js: content type and prelude written before the first write;
 *   src/ResponseStream.js: non-buffer chunks written as JSON, setContentType "too late" after a
 *   write, end() forwarding only its first argument; src/Runtime.js: a failed handler ends the
 *   stream with error trailers); its issue #145: no event on the stream when the client disconnects.
 * - Lambda Invoke of a streaming function returns the streamed payload, buffered, up to 6 MB:
 *   https://docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html
 */
import * as http from 'node:http';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import type { FixtureAssembly } from './fixture-app';
import { STREAM_INTEGRATION_TIMEOUT_MS, synthStreamingFixture } from './streaming-fixture';

jest.setTimeout(120_000);

const IDLE_TIMEOUT_MS = 1500;

let fixture: FixtureAssembly;
let gateway: RunningGateway;
let destroyingGateway: RunningGateway;
const logLines: string[] = [];
const functionOutput: string[] = [];

beforeAll(async () => {
  fixture = synthStreamingFixture();
  const common = {
    cdkOut: fixture.cdkOut,
    port: 0,
    streamIdleTimeoutMs: IDLE_TIMEOUT_MS,
    onFunctionOutput: (_id: string, line: string) => functionOutput.push(line),
  };
  gateway = await startGateway({ ...common, log: (line) => logLines.push(line) });
  destroyingGateway = await startGateway({ ...common, log: () => undefined, clientDisconnect: 'destroy-stream' });
});

afterAll(async () => {
  await gateway?.stop();
  await destroyingGateway?.stop();
  fixture?.cleanup();
});

interface Received {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Each chunk as the client's socket delivered it, with its arrival time (epoch ms). */
  readonly chunks: ReadonlyArray<{ readonly at: number; readonly text: string }>;
  readonly body: string;
  /** The body ended with its terminating chunk (false when the connection was cut). */
  readonly complete: boolean;
}

/** GETs a path with node:http, so each chunk's arrival is seen; `dropAfterChunks` disconnects early. */
function get(base: string, path: string, dropAfterChunks?: number): Promise<Received> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${base}${path}`, (response) => {
      const chunks: Array<{ at: number; text: string }> = [];
      response.on('data', (data: Buffer) => {
        chunks.push({ at: Date.now(), text: data.toString('utf8') });
        if (dropAfterChunks !== undefined && chunks.length >= dropAfterChunks) request.destroy();
      });
      response.on('error', () => undefined);
      response.on('close', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          chunks,
          body: chunks.map((c) => c.text).join(''),
          complete: response.complete,
        }),
      );
    });
    request.on('error', (error) => (dropAfterChunks === undefined ? reject(error) : undefined));
  });
}

/** The SSE events of a body: `{ i, t }`, `t` being when the function wrote the event. */
function events(chunks: Received['chunks']): Array<{ i: number; t: number; at: number }> {
  return chunks.flatMap(({ at, text }) =>
    [...text.matchAll(/^data: (.+)$/gm)].map((match) => ({
      ...(JSON.parse(match[1]) as { i: number; t: number }),
      at,
    })),
  );
}

async function waitFor<T>(find: () => T | undefined, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('API Gateway STREAM integration with a streamifyResponse handler', () => {
  it('sends the prelude status and headers, then the body, without a Content-Length', async () => {
    const response = await get(gateway.url, '/stream?mode=metadata');
    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('text/plain');
    expect(response.headers['x-single']).toBe('one');
    expect(response.headers['x-multi']).toBe('a, b');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    // Remapped as in a buffered proxy response.
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.headers['x-amzn-remapped-www-authenticate']).toBe('Bearer realm="x"');
    expect(response.headers['content-length']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    // The prelude and its 8 NUL bytes never reach the client; a non-buffer chunk is written as JSON.
    expect(response.body).toBe('hello {"json":true}');
    expect(response.complete).toBe(true);
  });

  it('passes each write to the client as its own chunk, before the function writes the next', async () => {
    const gapMs = 400;
    const response = await get(gateway.url, `/stream?mode=events&count=4&gapMs=${gapMs}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const received = events(response.chunks);
    expect(received.map((e) => e.i)).toEqual([0, 1, 2, 3]);
    // One event per chunk: nothing was held back and merged with a later write.
    expect(response.chunks.map((c) => events([c]).length)).toEqual([1, 1, 1, 1]);
    for (let k = 0; k + 1 < received.length; k++) {
      expect(received[k].at).toBeLessThan(received[k + 1].t);
      // Arrival measured against the write: well within the gap between writes.
      expect(received[k].at - received[k].t).toBeLessThan(gapMs / 2);
    }
  });

  it('cuts the connection when the handler throws after it started streaming, keeping what was sent', async () => {
    const response = await get(gateway.url, '/stream?mode=throw-mid');
    expect(response.status).toBe(200);
    expect(events(response.chunks).map((e) => e.i)).toEqual([0]);
    expect(response.complete).toBe(false);
    expect(
      logLines.some((l) =>
        /GET \/stream 200 .*failed mid-stream on purpose; the response was cut off mid-stream/.test(l),
      ),
    ).toBe(true);
  });

  it('answers 502 through DEFAULT_5XX when the handler throws before writing', async () => {
    const response = await get(gateway.url, '/stream?mode=throw-before');
    expect(response.status).toBe(502);
    expect(JSON.parse(response.body)).toEqual({ message: 'Internal server error' });
  });

  it.each([
    [
      'a prelude larger than 16 KB',
      'big-prelude',
      /no metadata prelude and 8-NUL delimiter within the first 16384 bytes/,
    ],
    ['a header value that is not a string', 'number-header', /headers\.X-Count must be a string/],
    ['bytes without a prelude', 'no-prelude', /streamed 23 bytes with no metadata prelude .*content type text\/plain/],
    [
      'a body given only to end(), which the runtime writes without the prelude',
      'end-with-body',
      /with no metadata prelude .*http-integration-response/,
    ],
  ])('answers 500 for %s', async (_name, mode, reason) => {
    const response = await get(gateway.url, `/stream?mode=${mode}`);
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ message: 'Internal server error' });
    expect(response.body).not.toContain('never delivered');
    expect(logLines.some((l) => l.startsWith('GET /stream 500') && reason.test(l))).toBe(true);
  });

  it('throws from setContentType after the first write, as the runtime does', async () => {
    await get(gateway.url, '/stream?mode=late-content-type');
    await waitFor(
      () =>
        functionOutput.find((l) =>
          l.includes(
            'setContentType after write: Runtime.InvalidStreamingOperation: Cannot set content-type, too late.',
          ),
        ),
      'the setContentType error',
    );
  });
});

describe('streaming timeouts', () => {
  it('answers 504 when nothing arrives before the idle timeout', async () => {
    const response = await get(gateway.url, `/stream?mode=silent-first&silentMs=${IDLE_TIMEOUT_MS + 1000}`);
    expect(response.status).toBe(504);
    expect(JSON.parse(response.body)).toEqual({ message: 'Endpoint request timed out' });
  });

  it('cuts a stream that goes silent for longer than the idle timeout', async () => {
    const started = Date.now();
    const response = await get(gateway.url, `/stream?mode=silent-then-write&silentMs=${IDLE_TIMEOUT_MS + 1500}`);
    expect(response.status).toBe(200);
    expect(events(response.chunks).map((e) => e.i)).toEqual([0]);
    expect(response.complete).toBe(false);
    expect(Date.now() - started).toBeLessThan(IDLE_TIMEOUT_MS + 1500);
    expect(logLines.some((l) => /sent nothing for 1500 ms \(the stream idle timeout\)/.test(l))).toBe(true);
  });

  it('cuts a steadily writing stream at the integration timeout (TimeoutInMillis)', async () => {
    const started = Date.now();
    const response = await get(gateway.url, '/stream?mode=steady');
    const elapsed = Date.now() - started;
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    // Writes come every 300 ms for 9 s; the 4 s integration timeout stops the stream well before.
    expect(elapsed).toBeGreaterThanOrEqual(STREAM_INTEGRATION_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(STREAM_INTEGRATION_TIMEOUT_MS + 3000);
    expect(events(response.chunks).length).toBeGreaterThan(5);
    expect(logLines.some((l) => /ran past the integration timeout \(4000 ms\)/.test(l))).toBe(true);
  });
});

describe('the function Timeout of a streaming function', () => {
  it('cuts the stream when the function runs past its own Timeout, before the integration timeout', async () => {
    const started = Date.now();
    const response = await get(gateway.url, '/stream-short?mode=steady');
    expect(response.status).toBe(200);
    expect(response.complete).toBe(false);
    expect(Date.now() - started).toBeLessThan(STREAM_INTEGRATION_TIMEOUT_MS);
    expect(
      logLines.some((l) =>
        /GET \/stream-short 200 .*Sandbox\.Timedout.*Task timed out after 2\.00 seconds; the response was cut off mid-stream/.test(
          l,
        ),
      ),
    ).toBe(true);
  });
});

describe('a client that disconnects from a streamed response', () => {
  it('leaves the function running, as the Node.js runtime signals nothing on AWS', async () => {
    const response = await get(gateway.url, '/stream?mode=until-disconnect&tag=aws', 2);
    expect(response.complete).toBe(false);
    const probe = await waitFor(() => functionOutput.find((l) => l.includes('"tag":"aws"')), 'the function to finish');
    expect(JSON.parse(probe.replace(/^.*disconnect-probe /, ''))).toEqual({
      tag: 'aws',
      writes: 40,
      sawClose: false,
      destroyed: false,
    });
  });

  it("with clientDisconnect 'destroy-stream', destroys the function's response stream so its handler can stop", async () => {
    const response = await get(destroyingGateway.url, '/stream?mode=until-disconnect&tag=destroy', 2);
    expect(response.complete).toBe(false);
    const probe = await waitFor(
      () => functionOutput.find((l) => l.includes('"tag":"destroy"')),
      'the function to see the disconnect',
    );
    const seen = JSON.parse(probe.replace(/^.*disconnect-probe /, ''));
    expect(seen).toMatchObject({ tag: 'destroy', sawClose: true, destroyed: true });
    expect(seen.writes).toBeLessThan(20);
  });
});

describe('transfer modes that do not match the handler', () => {
  it('returns the streamed bytes as the result when a BUFFERED integration invokes a streaming handler', async () => {
    const response = await get(gateway.url, '/buffered-streaming-handler?mode=proxy-json');
    expect(response.status).toBe(202);
    expect(response.body).toBe('collected from two writes');
    expect(response.headers['content-length']).toBe(String('collected from two writes'.length));
  });

  it('answers 502 when a BUFFERED integration gets a prelude and delimiter, which are not a proxy result', async () => {
    const response = await get(gateway.url, '/buffered-streaming-handler?mode=metadata');
    expect(response.status).toBe(502);
  });

  it('answers 500 when a STREAM integration invokes a handler that is not streamified (its JSON result has no prelude)', async () => {
    const response = await get(gateway.url, '/stream-buffered-handler');
    expect(response.status).toBe(500);
    expect(logLines.some((l) => /GET \/stream-buffered-handler 500 .*content type application\/json/.test(l))).toBe(
      true,
    );
  });
});

describe('start-up', () => {
  it('says which methods stream and how a disconnect is handled', () => {
    expect(logLines).toContainEqual(
      expect.stringMatching(
        /response streaming: 3 methods \(ResponseTransferMode STREAM\), idle timeout 1\.5 s; a client disconnect is not signalled/,
      ),
    );
  });
});
