/**
 * Lambda's own limits as a REST API's Lambda proxy integration meets them.
 *
 * Sources:
 * - Invoke payload: a synchronous request must be smaller than 6,291,456 bytes
 *   (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; the exact figure from
 *   Lambda's error, https://zaccharles.medium.com/deep-dive-lambdas-request-payload-size-limit-2-2-6350c1ae5577);
 *   through API Gateway the client gets 413 (https://jun711.github.io/aws/handling-aws-api-gateway-and-lambda-413-error/).
 * - Concurrency: reserved concurrency caps a function, the rest share the account's unreserved
 *   quota, and an invocation beyond it is throttled with 429 rather than queued
 *   (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html); API Gateway turns that
 *   into a 500 (https://repost.aws/questions/QUfI6bsdd0SOiPeyimzxSkfQ), INTEGRATION_FAILURE
 *   (https://stackoverflow.com/questions/36363280).
 * - Timeouts: a function that runs past its Timeout fails its invocation, which a proxy integration
 *   answers 502 (https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html);
 *   past the integration timeout API Gateway answers 504 while the function runs on
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html, "the function can continue to run").
 */
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(120_000);

const SLEEPER = `
exports.handler = async (event) => {
  const ms = Number((event.queryStringParameters || {}).ms || 0);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { statusCode: 200, body: 'slept ' + ms + ' ms, body ' + (event.body ? event.body.length : 0) + ' chars' };
};
`;

function sleeper(stack: cdk.Stack, id: string, props: Partial<lambda.FunctionProps> = {}): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(SLEEPER),
    ...props,
  });
}

const quiet = { port: 0, log: () => undefined, onFunctionOutput: () => undefined };

function invocations(gateway: RunningGateway, prefix: string): { invocations: number; throttles: number } {
  const entry = Object.values(gateway.stats().functions).find((f) => f.logicalId.startsWith(prefix));
  if (!entry) throw new Error(`no function ${prefix}`);
  return entry;
}

describe('Lambda limits behind a proxy integration', () => {
  let assembly: FixtureAssembly;
  let gateway: RunningGateway;

  beforeAll(async () => {
    assembly = synthVariant((stack, api) => {
      api.root
        .addResource('payload')
        .addMethod(
          'POST',
          new apigw.LambdaIntegration(sleeper(stack, 'PayloadFn', { timeout: cdk.Duration.seconds(29) })),
        );
      api.root
        .addResource('reserved')
        .addMethod(
          'GET',
          new apigw.LambdaIntegration(
            sleeper(stack, 'ReservedFn', { reservedConcurrentExecutions: 1, timeout: cdk.Duration.seconds(10) }),
          ),
        );
      api.root
        .addResource('disabled')
        .addMethod(
          'GET',
          new apigw.LambdaIntegration(sleeper(stack, 'DisabledFn', { reservedConcurrentExecutions: 0 })),
        );
      api.root
        .addResource('function-timeout')
        .addMethod('GET', new apigw.LambdaIntegration(sleeper(stack, 'ShortFn', { timeout: cdk.Duration.seconds(1) })));
      const runsOn = sleeper(stack, 'RunsOnFn', { reservedConcurrentExecutions: 1, timeout: cdk.Duration.seconds(10) });
      api.root
        .addResource('integration-timeout')
        .addMethod('GET', new apigw.LambdaIntegration(runsOn, { timeout: cdk.Duration.seconds(1) }));
      api.addGatewayResponse('IntegrationFailure', {
        type: apigw.ResponseType.INTEGRATION_FAILURE,
        responseHeaders: { 'X-Failure': "'integration'" },
        templates: { 'application/json': '{"integration":"failed","type":"$context.error.responseType"}' },
      });
    });
    gateway = await startGateway({ cdkOut: assembly.cdkOut, ...quiet });
  });

  afterAll(async () => {
    await gateway?.stop();
    assembly?.cleanup();
  });

  it('invokes a function whose event stays under the 6 MB invoke payload limit', async () => {
    const response = await fetch(`${gateway.url}/payload`, { method: 'POST', body: 'a'.repeat(6_200_000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('slept 0 ms, body 6200000 chars');
  });

  it("answers 413 without invoking the function when the event is over the 6 MB invoke payload limit, though the body is under API Gateway's 10 MB", async () => {
    const before = invocations(gateway, 'PayloadFn').invocations;
    const response = await fetch(`${gateway.url}/payload`, { method: 'POST', body: 'a'.repeat(6_300_000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Too Long' });
    expect(invocations(gateway, 'PayloadFn').invocations).toBe(before);
  });

  it('throttles an invocation beyond reserved concurrency with the INTEGRATION_FAILURE response (500) instead of queueing it', async () => {
    const [first, second] = await Promise.all([
      fetch(`${gateway.url}/reserved?ms=1500`),
      fetch(`${gateway.url}/reserved?ms=1500`),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 500]);
    const throttled = first.status === 500 ? first : second;
    expect(throttled.headers.get('x-failure')).toBe('integration');
    expect(await throttled.json()).toEqual({ integration: 'failed', type: 'INTEGRATION_FAILURE' });
    expect(invocations(gateway, 'ReservedFn').throttles).toBe(1);
    // Once the first has finished, the slot is free again.
    expect((await fetch(`${gateway.url}/reserved`)).status).toBe(200);
  });

  it('throttles every invocation of a function with reserved concurrency 0', async () => {
    const response = await fetch(`${gateway.url}/disabled`);
    expect(response.status).toBe(500);
    expect(invocations(gateway, 'DisabledFn').invocations).toBe(0);
  });

  it('answers 502 when the function runs past its own Timeout before the integration timeout', async () => {
    const response = await fetch(`${gateway.url}/function-timeout?ms=3000`);
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers 504 at the integration timeout while the function runs on, holding its concurrency until it ends', async () => {
    const started = Date.now();
    const timedOut = await fetch(`${gateway.url}/integration-timeout?ms=3000`);
    expect(timedOut.status).toBe(504);
    expect(await timedOut.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(Date.now() - started).toBeLessThan(2500);
    // The first invocation still runs (reserved concurrency 1), so this one is throttled.
    expect((await fetch(`${gateway.url}/integration-timeout`)).status).toBe(500);
    // Once it has ended (3 s after its cold start, which a busy machine may make slow), the slot is free again.
    let status = 500;
    while (status === 500 && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await fetch(`${gateway.url}/integration-timeout`)).status;
    }
    expect(status).toBe(200);
  });
});

describe('the account concurrency limit', () => {
  it('throttles an invocation beyond what the account leaves unreserved', async () => {
    const assembly = synthVariant((stack, api) => {
      api.root.addResource('a').addMethod('GET', new apigw.LambdaIntegration(sleeper(stack, 'AFn')));
      api.root.addResource('b').addMethod('GET', new apigw.LambdaIntegration(sleeper(stack, 'BFn')));
    });
    const gateway = await startGateway({ cdkOut: assembly.cdkOut, accountConcurrencyLimit: 2, ...quiet });
    try {
      const responses = await Promise.all(['a', 'b', 'a'].map((path) => fetch(`${gateway.url}/${path}?ms=1500`)));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 500]);
    } finally {
      await gateway.stop();
      assembly.cleanup();
    }
  });

  it('refuses to start when the functions reserve more than the account can give while keeping 100 unreserved', async () => {
    const assembly = synthVariant((stack, api) => {
      api.root
        .addResource('a')
        .addMethod(
          'GET',
          new apigw.LambdaIntegration(sleeper(stack, 'GreedyFn', { reservedConcurrentExecutions: 950 })),
        );
    });
    try {
      await expect(startGateway({ cdkOut: assembly.cdkOut, ...quiet })).rejects.toThrow(
        /reserve 950 concurrent executions, but Lambda keeps at least 100 of the account's 1000 unreserved/,
      );
    } finally {
      assembly.cleanup();
    }
  });
});
