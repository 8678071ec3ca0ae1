/**
 * The local Lambda endpoint, reached by a function of a served stack through
 * `AWS_ENDPOINT_URL_LAMBDA` and signing with its own local key: an asynchronous invocation is
 * answered 202 at once and runs on the target's processes; a role without `lambda:InvokeFunction`
 * on the target is refused; a throttled event waits in the queue; a failing event is retried as the
 * template's EventInvokeConfig says (none: twice), with the same request id
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
 *
 * The workers append a line to a file per attempt, so what ran is a fact on disk; the test waits
 * for the endpoint's own count of settled events, never for a length of time.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { AsyncEventStats } from '../../../local/aws/lambda';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(120_000);

/** Calls Invoke on the local endpoint as the SDK would: its own key id in the credential scope. */
const CALLER = `
exports.handler = async (event) => {
  const q = event.queryStringParameters || {};
  const response = await fetch(process.env.AWS_ENDPOINT_URL_LAMBDA + '/2015-03-31/functions/' + encodeURIComponent(q.target) + '/invocations', {
    method: 'POST',
    headers: {
      authorization: 'AWS4-HMAC-SHA256 Credential=' + process.env.AWS_ACCESS_KEY_ID + '/20260728/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=local',
      'x-amz-invocation-type': q.type || 'RequestResponse',
      'content-type': 'application/json',
    },
    body: q.payload || '{}',
  });
  return { statusCode: 200, body: JSON.stringify({
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    functionError: response.headers.get('x-amz-function-error'),
    body: await response.text(),
  }) };
};
`;

/** Waits on its gate if told to, appends "<label> <request id>" to its file, and fails if told to. */
const WORKER = `
const fs = require('node:fs');
exports.handler = async (event, context) => {
  if (event.gate) await (await fetch(event.gate)).text();
  if (event.file) fs.appendFileSync(event.file, event.label + ' ' + context.awsRequestId + '\\n');
  if (event.fail) throw new Error('asked to fail');
  return { ran: event.label };
};
`;

function fn(stack: cdk.Stack, id: string, source: string, props: Partial<lambda.FunctionProps> = {}) {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(source),
    timeout: cdk.Duration.seconds(20),
    ...props,
  });
}

/** A loopback server that holds every request until `release`. */
class Gate {
  private readonly held: http.ServerResponse[] = [];
  private readonly server = http.createServer((_req, res) => this.held.push(res));
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hold`;
  }
  get arrivals(): number {
    return this.held.length;
  }
  async stop(): Promise<void> {
    for (const res of this.held.splice(0)) res.end('go');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let assembly: FixtureAssembly;
let gateway: RunningGateway;
let scratch: string;
const log: string[] = [];

beforeAll(async () => {
  assembly = synthVariant((stack, api) => {
    const worker = fn(stack, 'Worker', WORKER, { functionName: 'async-worker' });
    worker.configureAsyncInvoke({ retryAttempts: 0 });
    const retrying = fn(stack, 'Retrying', WORKER, { functionName: 'async-retrying', reservedConcurrentExecutions: 1 });
    const caller = fn(stack, 'Caller', CALLER);
    worker.grantInvoke(caller);
    retrying.grantInvoke(caller);
    const stranger = fn(stack, 'Stranger', CALLER);
    for (const [route, target] of [
      ['caller', caller],
      ['stranger', stranger],
      ['worker', worker],
      ['retrying', retrying],
    ] as const)
      api.root.addResource(route).addMethod('GET', new apigw.LambdaIntegration(target));
  });
  gateway = await startGateway({
    cdkOut: assembly.cdkOut,
    port: 0,
    onFunctionOutput: () => undefined,
    log: (line) => log.push(line),
  });
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'async-invoke-'));
});

afterAll(async () => {
  await gateway?.stop();
  assembly?.cleanup();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

interface InvokeAnswer {
  status: number;
  errorType: string | null;
  functionError: string | null;
  body: string;
}

async function invokeAs(route: 'caller' | 'stranger', target: string, type: string, payload: unknown) {
  const query = new URLSearchParams({ target, type, payload: JSON.stringify(payload) });
  const response = await fetch(`${gateway.url}/${route}?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as InvokeAnswer;
}

/** A copy of the endpoint's counts now (the endpoint's own object keeps counting). */
const asyncStats = (name: string): AsyncEventStats => {
  const counted = gateway.stats().asyncEvents[name];
  return counted ? { ...counted } : { accepted: 0, attempts: 0, succeeded: 0, failed: 0, expired: 0 };
};

/** Resolves once `done` holds; the test's timeout bounds the wait. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 25));
}

const linesOf = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : []);
let files = 0;
const newFile = () => path.join(scratch, `attempts-${files++}.txt`);

describe('asynchronous invocation (InvocationType Event)', () => {
  it('answers 202 at once and runs the event on the target function', async () => {
    const file = newFile();
    const before = asyncStats('async-worker');
    const answer = await invokeAs('caller', 'async-worker', 'Event', { file, label: 'hello' });
    expect(answer).toMatchObject({ status: 202, body: '' });
    await until(() => asyncStats('async-worker').succeeded > before.succeeded);
    expect(linesOf(file)).toEqual([expect.stringMatching(/^hello [0-9a-f-]{36}$/)]);
  });

  it('refuses a caller whose role is not granted lambda:InvokeFunction on the target, and runs nothing', async () => {
    const file = newFile();
    for (const type of ['Event', 'RequestResponse']) {
      const answer = await invokeAs('stranger', 'async-worker', type, { file, label: 'intruder' });
      expect(answer.status).toBe(403);
      expect(answer.errorType).toBe('AccessDeniedException');
      expect(answer.body).toContain('lambda:InvokeFunction');
    }
    expect(fs.existsSync(file)).toBe(false);
  });

  it('answers ResourceNotFoundException for a function the stack does not have', async () => {
    const answer = await invokeAs('caller', 'no-such-function', 'Event', {});
    expect(answer).toMatchObject({ status: 404, errorType: 'ResourceNotFoundException' });
  });

  it('does not retry a failing event when the EventInvokeConfig sets retries to 0', async () => {
    const file = newFile();
    const before = asyncStats('async-worker');
    expect((await invokeAs('caller', 'async-worker', 'Event', { file, label: 'once', fail: true })).status).toBe(202);
    await until(() => asyncStats('async-worker').failed > before.failed);
    expect(linesOf(file)).toHaveLength(1);
    expect(asyncStats('async-worker').attempts - before.attempts).toBe(1);
    expect(log).toContainEqual(
      expect.stringMatching(/async-worker dropped after 1 attempt\(s\): Error: asked to fail/),
    );
  });

  it('retries a failing event twice by default, with the same request id', async () => {
    const file = newFile();
    const before = asyncStats('async-retrying');
    expect((await invokeAs('caller', 'async-retrying', 'Event', { file, label: 'again', fail: true })).status).toBe(
      202,
    );
    await until(() => asyncStats('async-retrying').failed > before.failed);
    const lines = linesOf(file);
    expect(lines).toHaveLength(3);
    expect(new Set(lines).size).toBe(1);
    expect(asyncStats('async-retrying').attempts - before.attempts).toBe(3);
  });

  it('keeps a throttled event in the queue and runs it once the function has room', async () => {
    const gate = new Gate();
    const gateUrl = await gate.start();
    const file = newFile();
    const before = asyncStats('async-retrying');
    const throttlesBefore = Object.values(gateway.stats().functions).find((f) => f.functionName === 'async-retrying')
      ?.throttles as number;
    // The function's reserved concurrency is 1: the first event holds it, the second is throttled.
    await invokeAs('caller', 'async-retrying', 'Event', { file, label: 'first', gate: gateUrl });
    await until(() => gate.arrivals === 1);
    await invokeAs('caller', 'async-retrying', 'Event', { file, label: 'second' });
    await until(
      () =>
        (Object.values(gateway.stats().functions).find((f) => f.functionName === 'async-retrying')
          ?.throttles as number) > throttlesBefore,
    );
    expect(linesOf(file)).toEqual([]);
    await gate.stop();
    await until(() => asyncStats('async-retrying').succeeded >= before.succeeded + 2);
    expect(linesOf(file).map((line) => line.split(' ')[0])).toEqual(['first', 'second']);
    expect(asyncStats('async-retrying').failed).toBe(before.failed);
  });
});

describe('synchronous invocation (RequestResponse)', () => {
  it('answers the function result, and a function error as 200 with X-Amz-Function-Error', async () => {
    const ok = await invokeAs('caller', 'async-worker', 'RequestResponse', { label: 'sync' });
    expect(ok).toMatchObject({ status: 200, functionError: null });
    expect(JSON.parse(ok.body)).toEqual({ ran: 'sync' });
    const failed = await invokeAs('caller', 'async-worker', 'RequestResponse', { label: 'x', fail: true });
    expect(failed).toMatchObject({ status: 200, functionError: 'Unhandled' });
    expect(JSON.parse(failed.body)).toMatchObject({ errorType: 'Error', errorMessage: 'asked to fail' });
  });
});

describe('a gateway that cannot listen', () => {
  it('stops the local AWS endpoints it started', async () => {
    const listening = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = listening();
    await expect(
      startGateway({ cdkOut: assembly.cdkOut, port: gateway.port, onFunctionOutput: () => undefined, log: () => {} }),
    ).rejects.toMatchObject({ code: 'LISTEN_FAILED' });
    // A closed handle leaves the list once the event loop has run its close callbacks.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listening()).toBe(before);
  });
});
