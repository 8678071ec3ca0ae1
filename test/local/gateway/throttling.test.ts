/**
 * Stage throttling as API Gateway promises it: requests beyond a method's limits are answered 429
 * with the THROTTLED gateway response. AWS applies the limits "on a best-effort basis" and calls
 * them "targets rather than guaranteed request ceilings", so these tests assert that a burst well
 * above a limit meets 429s of the right shape and that traffic well within it is served, never an
 * exact count of requests let through.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 */
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Stack } from 'aws-cdk-lib';
import {
  type RunningGateway,
  startGateway,
  UnresolvableValueError,
  UnsupportedFeatureError,
} from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';
import { defined } from '../../../fixtures/defined';

jest.setTimeout(60_000);

// A stage-wide limit that does not refill during a test (one token every 100 s), and a per-method one that never bites.
const STAGE_LIMITS = { throttlingRateLimit: 0.01, throttlingBurstLimit: 2 };
const cors = { 'Access-Control-Allow-Origin': "'*'", 'Access-Control-Expose-Headers': "'WWW-Authenticate'" };

function routes(withResponses: (api: apigw.RestApi) => void) {
  return (_stack: Stack, api: apigw.RestApi, fn: lambda.IFunction) => {
    for (const name of ['slow', 'also-slow', 'fast'])
      api.root.addResource(name).addMethod('GET', new apigw.LambdaIntegration(fn));
    withResponses(api);
  };
}

const withDefault4xx = routes((api) =>
  api.addGatewayResponse('Default4xx', {
    type: apigw.ResponseType.DEFAULT_4XX,
    responseHeaders: cors,
    templates: { 'application/json': '{"message":$context.error.messageString,"type":"$context.error.responseType"}' },
  }),
);

const stageWithFastMethod: Partial<apigw.RestApiProps> = {
  deployOptions: {
    stageName: 'v',
    ...STAGE_LIMITS,
    methodOptions: { '/fast/GET': { throttlingRateLimit: 1000, throttlingBurstLimit: 1000 } },
  },
};

interface Started {
  readonly fixture: FixtureAssembly;
  readonly gateway: RunningGateway;
  readonly log: string[];
}
const started: Started[] = [];

async function serve(fixture: FixtureAssembly, throttling?: 'template' | 'off'): Promise<Started> {
  const log: string[] = [];
  const gateway = await startGateway({
    cdkOut: fixture.cdkOut,
    stackName: fixture.stackName,
    port: 0,
    throttling,
    log: (line) => log.push(line),
    onFunctionOutput: () => undefined,
  });
  const entry = { fixture, gateway, log };
  started.push(entry);
  return entry;
}

afterAll(async () => {
  for (const { gateway, fixture } of started) {
    await gateway.stop();
    fixture.cleanup();
  }
});

async function burst(gateway: RunningGateway, path: string, count: number): Promise<Response[]> {
  return Promise.all(Array.from({ length: count }, () => fetch(`${gateway.url}${path}`)));
}

/** What AWS promises of a burst well above the limit: some requests are throttled, and every refusal is a 429. */
function expectThrottledBurst(responses: readonly Response[]): Response {
  const statuses = responses.map((r) => r.status);
  expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
  expect(statuses).toContain(429);
  return defined(
    responses.find((r) => r.status === 429),
    'a 429 response',
  );
}

describe('stage throttling from MethodSettings', () => {
  let served: Started;
  beforeAll(async () => {
    served = await serve(synthVariant(withDefault4xx, stageWithFastMethod));
  });

  it('says at start which limits it enforces', () => {
    expect(served.log).toContainEqual(
      expect.stringMatching(
        /throttling: 0\.01 rps, burst 2 for 2 methods; 1,000 rps, burst 1,000 for 1 method \(stage MethodSettings, one token bucket per method/,
      ),
    );
  });

  it('answers 429 beyond the burst with the DEFAULT_4XX response (CORS included) and TooManyRequestsException', async () => {
    const before = served.gateway.stats().throttled;
    const responses = await burst(served.gateway, '/slow', 10);
    const throttled = expectThrottledBurst(responses);
    expect(await throttled.json()).toEqual({ message: 'Too Many Requests', type: 'THROTTLED' });
    expect(throttled.headers.get('access-control-allow-origin')).toBe('*');
    expect(throttled.headers.get('access-control-expose-headers')).toBe('WWW-Authenticate');
    expect(throttled.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    expect(served.gateway.stats().throttled).toBe(before + responses.filter((r) => r.status === 429).length);
    expect(served.log).toContainEqual(
      expect.stringMatching(
        /^GET \/slow 429 .*reason="throttled: GET \/slow is over 0\.01 rps, burst 2 \(stage MethodSettings \*\/\*\)"/,
      ),
    );
  });

  it('keeps one bucket per method: another method with the stage-wide limit is served after the first was throttled', async () => {
    expectThrottledBurst(await burst(served.gateway, '/slow', 5));
    expect((await fetch(`${served.gateway.url}/also-slow`)).status).toBe(200);
    expectThrottledBurst(await burst(served.gateway, '/also-slow', 10));
  });

  it("serves a method with its own setting by that setting's limits", async () => {
    const responses = await burst(served.gateway, '/fast', 20);
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
  });

  it("does not throttle a path that matches no method (it gets AWS's default 403 Missing Authentication Token)", async () => {
    const responses = await burst(served.gateway, '/nowhere', 5);
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(403));
  });
});

describe('the THROTTLED gateway response', () => {
  it('uses a THROTTLED response of the template before DEFAULT_4XX', async () => {
    const fixture = synthVariant(
      routes((api) => {
        api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders: cors });
        api.addGatewayResponse('Throttled', {
          type: apigw.ResponseType.THROTTLED,
          responseHeaders: { ...cors, 'Retry-After': "'1'" },
          templates: { 'application/json': '{"error":"slow_down"}' },
        });
      }),
      { deployOptions: { stageName: 'v', ...STAGE_LIMITS } },
    );
    const { gateway } = await serve(fixture);
    const throttled = expectThrottledBurst(await burst(gateway, '/slow', 10));
    expect(await throttled.json()).toEqual({ error: 'slow_down' });
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.headers.get('access-control-allow-origin')).toBe('*');
  });

  it("answers AWS's default body when the template customises neither THROTTLED nor DEFAULT_4XX", async () => {
    const fixture = synthVariant(
      routes(() => undefined),
      { deployOptions: { stageName: 'v', ...STAGE_LIMITS } },
    );
    const { gateway } = await serve(fixture);
    const throttled = expectThrottledBurst(await burst(gateway, '/slow', 10));
    expect(await throttled.json()).toEqual({ message: 'Too Many Requests' });
    expect(throttled.headers.get('access-control-allow-origin')).toBeNull();
    expect(throttled.headers.get('content-type')).toBe('application/json');
  });

  it('takes the stage-wide limits of a deployment with an inline stage (StageDescription)', async () => {
    const fixture = synthVariant(
      (stack, api, fn) => {
        api.root.addResource('slow').addMethod('GET', new apigw.LambdaIntegration(fn));
        new apigw.CfnDeployment(stack, 'InlineStageDeployment', {
          restApiId: api.restApiId,
          stageName: 'inline',
          stageDescription: { throttlingRateLimit: 0.01, throttlingBurstLimit: 1 },
        });
      },
      { deploy: false },
    );
    const { gateway } = await serve(fixture);
    expect(gateway.stageName).toBe('inline');
    expectThrottledBurst(await burst(gateway, '/slow', 10));
  });
});

describe("throttling: 'off'", () => {
  it('serves every request and says at start that it differs from AWS', async () => {
    const { gateway, log } = await serve(synthVariant(withDefault4xx, stageWithFastMethod), 'off');
    expect(log).toContainEqual(
      expect.stringMatching(
        /throttling: OFF \(throttling: 'off'\), although the stage sets 0\.01 rps, burst 2 for 2 methods/,
      ),
    );
    expect((await burst(gateway, '/slow', 6)).map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(gateway.stats().throttled).toBe(0);
  });

  it('refuses an unknown throttling mode', async () => {
    await expect(startGateway({ cdkOut: '/nonexistent', port: 0, throttling: 'loose' as 'off' })).rejects.toThrow(
      /throttling must be 'template' or 'off', got "loose"/,
    );
  });
});

describe('method settings the gateway refuses at start', () => {
  it.each([
    [
      'a wildcard method on one resource',
      { '/slow/*': { throttlingRateLimit: 5 } },
      UnsupportedFeatureError,
      /throttling for \* on \/slow/,
    ],
    [
      'one method on every resource',
      { '/*/GET': { throttlingRateLimit: 5 } },
      UnsupportedFeatureError,
      /throttling for GET on \/\*/,
    ],
    [
      'a method the API does not have',
      { '/slow/POST': { throttlingRateLimit: 5 } },
      UnresolvableValueError,
      /it throttles POST \/slow, which is not a method of the API/,
    ],
  ])('%s', async (_name, methodOptions, errorClass, message) => {
    const fixture = synthVariant(withDefault4xx, { deployOptions: { stageName: 'v', methodOptions } });
    try {
      const failure = startGateway({
        cdkOut: fixture.cdkOut,
        stackName: fixture.stackName,
        port: 0,
        log: () => undefined,
      });
      await expect(failure).rejects.toBeInstanceOf(errorClass);
      await expect(failure).rejects.toThrow(message);
    } finally {
      fixture.cleanup();
    }
  });
});
