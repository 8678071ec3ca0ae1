/**
 * The deployed wiring: the module-scope `handler` reading its environment, what its Powertools
 * Logger and Metrics write to stdout, and the upstream-failure path.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { loadAuthorizerConfig } from '../../../lambda/authorizer/config';
import type * as authorizerModule from '../../../lambda/authorizer/index';
import { createAuthorizerHandler, handler } from '../../../lambda/authorizer/index';
import { API_WILDCARD_ARN, tokenAuthorizerEvent } from '../../../fixtures/events';
import { startJwksServer, type JwksServer } from '../../../fixtures/jwks-server';
import { captureOutput } from './support/output-capture';
import { createTestKey, ISSUER, PUBLIC_BASE_URL, signAccessToken, type TestKey } from './support/tokens';

let server: JwksServer;
let key: TestKey;
const savedEnv = { ...process.env };

beforeAll(async () => {
  key = await createTestKey('key-1');
  server = await startJwksServer([key.jwk]);
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  process.env = { ...savedEnv };
  jest.restoreAllMocks();
});

/** Captures what is written to stdout in this process (where Lambda's log lines go). */
function captureStdout(): { text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  const text = () => chunks.join('');
  return {
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l)),
  };
}

const noContext = {} as Context;
const noCallback = () => undefined;

describe('the deployed handler', () => {
  it('verifies against the configured JWKS and writes one log line and one EMF document per invocation to stdout', async () => {
    process.env = {
      ...savedEnv,
      PUBLIC_BASE_URL,
      AUTHKIT_ISSUER: ISSUER,
      AUTHKIT_JWKS_URL: server.url,
      POWERTOOLS_SERVICE_NAME: 'authz',
      POWERTOOLS_METRICS_NAMESPACE: 'McpTest',
    };
    const token = await signAccessToken(key);
    const stdout = captureStdout();

    const allowed = await handler(tokenAuthorizerEvent(`Bearer ${token}`), noContext, noCallback);
    const refused = await Promise.resolve(
      handler(tokenAuthorizerEvent(`Bearer ${token}x`), noContext, noCallback),
    ).catch((e: Error) => e);

    expect(allowed?.policyDocument.Statement[0]).toEqual({
      Action: 'execute-api:Invoke',
      Effect: 'Allow',
      Resource: API_WILDCARD_ARN,
    });
    expect(refused).toEqual(new Error('Unauthorized'));
    const lines = stdout.lines();
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ level: 'INFO', service: 'authz', reason: 'allowed', sub: 'user_01HXYZABCDEF' });
    expect(lines[1]).toMatchObject({
      service: 'authz',
      token_allowed: 1,
      _aws: { CloudWatchMetrics: [{ Namespace: 'McpTest', Dimensions: [['service']] }] },
    });
    expect(lines[2]).toMatchObject({ reason: 'malformed' });
    expect(lines[3]).toMatchObject({ token_malformed: 1 });
    expect(stdout.text()).not.toContain(token.split('.')[2]);
  });
});

describe('configuration failures', () => {
  it('refuses every request with an error naming the missing variable, never an Allow', async () => {
    await jest.isolateModulesAsync(async () => {
      process.env = { ...savedEnv, PUBLIC_BASE_URL, AUTHKIT_ISSUER: undefined };
      // A fresh module instance, so no handler built by another test is reused.
      const fresh = (require('../../../lambda/authorizer/index') as typeof authorizerModule).handler;
      const token = await signAccessToken(key);

      for (let i = 0; i < 2; i++) {
        await expect(
          Promise.resolve(fresh(tokenAuthorizerEvent(`Bearer ${token}`), noContext, noCallback)),
        ).rejects.toThrow(/AUTHKIT_ISSUER: not set/);
      }
    });
  });
});

describe('upstream failures', () => {
  it.each([
    ['answers 500', 'error500'],
    ['answers HTML', 'html'],
    ['hangs', 'hang'],
  ] as const)('answers 5xx, not 401, when the JWKS endpoint %s', async (_name, mode) => {
    const config = loadAuthorizerConfig({
      PUBLIC_BASE_URL,
      AUTHKIT_ISSUER: ISSUER,
      AUTHKIT_JWKS_URL: server.url,
      JWKS_TIMEOUT_MS: '200',
    });
    const authorize = createAuthorizerHandler({
      config,
      logger: new Logger({ serviceName: 's', logLevel: 'INFO' }),
      metrics: new Metrics({ namespace: 'n', serviceName: 's' }),
    });
    const token = await signAccessToken(key);
    server.setMode(mode);
    const output = captureOutput();
    output.start();
    try {
      const error = await authorize(tokenAuthorizerEvent(`Bearer ${token}`)).catch((e: Error) => e);

      expect(error).toMatchObject({ name: 'AuthorizerUnavailableError' });
      expect((error as Error).message).not.toBe('Unauthorized');
      expect(output.logs()).toEqual([
        expect.objectContaining({
          level: 'ERROR',
          reason: 'upstream_unavailable',
          detail: expect.stringContaining('JWKS'),
        }),
      ]);
      expect(output.metrics()).toEqual([expect.objectContaining({ token_upstream_unavailable: 1 })]);
    } finally {
      output.stop();
      server.setMode('ok');
    }
  });
});
