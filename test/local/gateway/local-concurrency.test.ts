/**
 * Concurrency as Lambda gives it: below a function's reserved concurrency (else the account's),
 * every invocation gets its own execution environment at once, started on demand and stopped once
 * idle; beyond the limit it is throttled at once, never queued
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). The local bound, which
 * AWS does not have, refuses loudly with the same answer.
 *
 * The functions hold their invocation open on a gate server of this test until the test releases
 * it, so "while the others are held" is a fact the test controls, not a matter of timing.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type FunctionStats, type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(120_000);

/** Answers at once, or after the gate named in the query string lets it through. */
const HOLDER = `
exports.handler = async (event) => {
  const gate = (event.queryStringParameters || {}).gate;
  if (gate) await (await fetch(gate)).text();
  return { statusCode: 200, body: 'done in ' + process.pid };
};
`;

function holder(stack: cdk.Stack, id: string, props: Partial<lambda.FunctionProps> = {}): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(HOLDER),
    timeout: cdk.Duration.seconds(29),
    ...props,
  });
}

/** A loopback server that holds every request until `release`, counting arrivals. */
class Gate {
  private readonly held: http.ServerResponse[] = [];
  private waiters: Array<() => void> = [];
  private readonly server = http.createServer((_req, res) => {
    this.held.push(res);
    for (const wake of this.waiters) wake();
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hold`;
  }

  /** Resolves once `count` invocations are held here, that is, running at the same time. */
  async arrivals(count: number): Promise<void> {
    while (this.held.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.waiters = [];
  }

  async stop(): Promise<void> {
    for (const res of this.held.splice(0)) res.end('go');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Requests that the gate holds, and how many of them have been answered so far. */
function holdRequests(url: string, count: number): { responses: Promise<Response[]>; answered: () => number } {
  let answered = 0;
  const responses = Promise.all(
    Array.from({ length: count }, () =>
      fetch(url).then((response) => {
        answered++;
        return response;
      }),
    ),
  );
  return { responses, answered: () => answered };
}

function functionStats(gateway: RunningGateway, prefix: string): FunctionStats {
  const entry = Object.values(gateway.stats().functions).find((f) => f.logicalId.startsWith(prefix));
  if (!entry) throw new Error(`no function ${prefix}`);
  return entry;
}

let assembly: FixtureAssembly;
const quiet = { port: 0, onFunctionOutput: () => undefined };

beforeAll(() => {
  assembly = synthVariant((stack, api) => {
    api.root.addResource('hold').addMethod('GET', new apigw.LambdaIntegration(holder(stack, 'HoldFn')));
    api.root.addResource('other').addMethod('GET', new apigw.LambdaIntegration(holder(stack, 'OtherFn')));
    api.root
      .addResource('reserved')
      .addMethod('GET', new apigw.LambdaIntegration(holder(stack, 'ReservedFn', { reservedConcurrentExecutions: 3 })));
    api.root
      .addResource('bound')
      .addMethod('GET', new apigw.LambdaIntegration(holder(stack, 'BoundFn', { memorySize: 512 })));
  });
});

afterAll(() => assembly?.cleanup());

describe('below the Lambda concurrency limits', () => {
  let gateway: RunningGateway;
  let gate: Gate;
  const log: string[] = [];

  beforeAll(async () => {
    gateway = await startGateway({ cdkOut: assembly.cdkOut, ...quiet, log: (line) => log.push(line) });
    gate = new Gate();
  });

  afterAll(async () => {
    await gate.stop();
    await gateway?.stop();
  });

  it('runs 12 held invocations of one function at once, each in its own process, and answers a 13th request while they are held', async () => {
    const gateUrl = await gate.start();
    const held = holdRequests(`${gateway.url}/hold?gate=${encodeURIComponent(gateUrl)}`, 12);
    await gate.arrivals(12);
    const other = await fetch(`${gateway.url}/other`);
    expect(other.status).toBe(200);
    expect(held.answered()).toBe(0);
    const holding = functionStats(gateway, 'HoldFn');
    expect(holding.processes.filter((p) => p.busy)).toHaveLength(12);
    expect(new Set(holding.processes.map((p) => p.pid)).size).toBe(12);
    expect(holding.throttles).toBe(0);
    expect(log.filter((l) => /^HoldFn\w*: execution environment started \(cold start, pid \d+\)/.test(l))).toHaveLength(
      12,
    );
    expect(log).toContainEqual(
      expect.stringMatching(/^HoldFn\w*: execution environment started .*; 12 environments now$/),
    );
    await gate.stop();
    expect((await held.responses).map((r) => r.status)).toEqual(Array(12).fill(200));
  });

  it('says at start how the local bound was sized from this machine’s memory and each MemorySize', () => {
    const machineMb = Math.floor(os.totalmem() / (1024 * 1024));
    const localMb = Math.floor(machineMb * 0.75);
    const line = log.find((l) => l.includes('local bound'));
    expect(line).toContain(
      `local bound (this machine's, not AWS's): ${localMb} MB for functions (75% of this machine's ${machineMb} MB)`,
    );
    expect(line).toMatch(
      new RegExp(`BoundFn\\w* floor\\(${localMb} MB / MemorySize 512 MB\\) = ${Math.floor(localMb / 512)} processes`),
    );
    expect(line).toContain('refused with Lambda\'s throttling answer (500) and a "local limit" log line, never queued');
    expect(line).toContain('an idle process stops after 300 s');
  });
});

describe('at a reserved concurrency of 3', () => {
  it('throttles the fourth concurrent invocation at once, with the INTEGRATION_FAILURE 500 API Gateway gives, while three are held', async () => {
    const log: string[] = [];
    const gateway = await startGateway({ cdkOut: assembly.cdkOut, ...quiet, log: (line) => log.push(line) });
    const gate = new Gate();
    try {
      const url = `${gateway.url}/reserved?gate=${encodeURIComponent(await gate.start())}`;
      const held = holdRequests(url, 3);
      await gate.arrivals(3);
      const fourth = await fetch(url);
      expect(fourth.status).toBe(500);
      expect(await fourth.json()).toEqual({ message: 'Internal server error' });
      expect(held.answered()).toBe(0);
      expect(functionStats(gateway, 'ReservedFn')).toMatchObject({ throttles: 1, localLimitRefusals: 0 });
      expect(log).toContainEqual(
        expect.stringMatching(/^GET \/reserved 500 .*ReservedFunctionConcurrentInvocationLimitExceeded/),
      );
      await gate.stop();
      expect((await held.responses).map((r) => r.status)).toEqual([200, 200, 200]);
    } finally {
      await gate.stop().catch(() => undefined);
      await gateway.stop();
    }
  });
});

describe('the local bound', () => {
  let gateway: RunningGateway;
  const log: string[] = [];

  beforeAll(async () => {
    gateway = await startGateway({
      cdkOut: assembly.cdkOut,
      ...quiet,
      localMemoryMb: 1100,
      functionIdleTimeoutMs: 200,
      log: (line) => log.push(line),
    });
  });

  afterAll(() => gateway?.stop());

  it('names at start the memory it was given and each function’s bound', () => {
    expect(log).toContainEqual(
      expect.stringMatching(
        /^ {2}local bound \(this machine's, not AWS's\): 1100 MB for functions \(localMemoryMb\), each function at most HoldFn\w* floor\(1100 MB \/ MemorySize 128 MB\) = 8 processes; .*BoundFn\w* floor\(1100 MB \/ MemorySize 512 MB\) = 2 processes; an invocation beyond it .*; an idle process stops after 0\.2 s$/,
      ),
    );
  });

  it('refuses an invocation beyond it with the throttling answer and a log line naming the bound, every time', async () => {
    const gate = new Gate();
    try {
      const url = `${gateway.url}/bound?gate=${encodeURIComponent(await gate.start())}`;
      const held = holdRequests(url, 2);
      await gate.arrivals(2);
      const refused = await Promise.all([fetch(url), fetch(url)]);
      expect(refused.map((r) => r.status)).toEqual([500, 500]);
      expect(held.answered()).toBe(0);
      const limitLines = log.filter((l) => l.startsWith('local limit: BoundFn'));
      expect(limitLines).toHaveLength(2);
      expect(limitLines[0]).toMatch(
        /has all 2 processes of its local bound busy \(floor\(1100 MB \/ MemorySize 512 MB\) = 2 processes\); this invocation is refused with the throttling answer, although AWS would run it/,
      );
      expect(functionStats(gateway, 'BoundFn')).toMatchObject({ throttles: 2, localLimitRefusals: 2, invocations: 2 });
      await gate.stop();
      expect((await held.responses).map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await gate.stop().catch(() => undefined);
    }
  });

  it('stops a process once it has been idle for functionIdleTimeoutMs; the next invocation cold-starts', async () => {
    expect((await fetch(`${gateway.url}/other`)).status).toBe(200);
    const before = functionStats(gateway, 'OtherFn');
    expect(before.coldStarts).toBeGreaterThan(0);
    while (functionStats(gateway, 'OtherFn').processes.length > 0) await new Promise((r) => setTimeout(r, 50));
    expect(log).toContainEqual(
      expect.stringMatching(
        /^OtherFn\w*: execution environment stopped after 0\.2 s idle \(pid \d+\); 0 environments now$/,
      ),
    );
    expect((await fetch(`${gateway.url}/other`)).status).toBe(200);
    expect(functionStats(gateway, 'OtherFn').coldStarts).toBe(before.coldStarts + 1);
  });
});
