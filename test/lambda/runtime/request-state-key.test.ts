/**
 * The requestState key from Secrets Manager: read with Powertools Parameters and the AWS SDK's
 * Secrets Manager client, from the local Secrets Manager endpoint the local stack gives functions
 * (the SDK finds it through AWS_ENDPOINT_URL_SECRETS_MANAGER, as it would find the real service),
 * and through a real loopback endpoint in front of it that can hang or be down.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { createMcpLambdaHandler } from '../../../lambda/runtime/handler';
import { RequestStateKeyError, requestStateKeyLoader } from '../../../lambda/runtime/request-state-key';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import {
  generateSecretString,
  startLocalSecretsManager,
  type LocalSecretsManager,
} from '../../../local/aws/secrets-manager';
import { authorizerContext, captureLogs, mcpEvent, modernRequest, PUBLIC_BASE_URL, replyOf } from './fixtures';

const KEY_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:RequestStateKey-AbCdEf';
const KEY = generateSecretString(64);
const SHORT_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:Short-AbCdEf';
const FORBIDDEN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:Other-AbCdEf';
const MCP_KEY_ID = 'AKIALOCALMCPFUNCTION';

let secrets: LocalSecretsManager;
const saved = { ...process.env };

beforeAll(async () => {
  secrets = await startLocalSecretsManager(
    [
      { arn: KEY_ARN, name: 'RequestStateKey', value: KEY },
      { arn: SHORT_ARN, name: 'Short', value: 'too-short' },
      { arn: FORBIDDEN_ARN, name: 'Other', value: generateSecretString(64) },
    ],
    (accessKeyId, action, arn) =>
      accessKeyId === MCP_KEY_ID && action === 'secretsmanager:GetSecretValue' && arn !== FORBIDDEN_ARN,
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: MCP_KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'local-secret-access-key',
  });
});

afterAll(async () => {
  process.env = saved;
  await secrets.close();
});

describe('requestStateKeyLoader', () => {
  it('reads the secret once, whatever the number of requests', async () => {
    const load = requestStateKeyLoader({ REQUEST_STATE_SECRET_ARN: KEY_ARN });
    const keys = await Promise.all([load(), load(), load()]);
    expect(await load()).toBe(keys[0]);
    expect(typeof keys[0]).toBe('string');
    expect((keys[0] as string).length).toBe(64);
    expect(secrets.reads.get(KEY_ARN)).toBe(1);
  });

  it('needs no secret when none is configured', async () => {
    expect(await requestStateKeyLoader({})()).toBeUndefined();
  });

  it.each([
    [
      'a secret the role may not read',
      FORBIDDEN_ARN,
      /could not read the requestState key from Secrets Manager \(REQUEST_STATE_SECRET_ARN\): .*not authorized/,
    ],
    ['a secret shorter than 32 bytes', SHORT_ARN, /holds 9 bytes; it needs at least 32/],
    [
      'a secret that does not exist',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:Missing-000000',
      /can't find the specified secret/,
    ],
  ])('fails with a reason on %s, and tries again on the next request', async (_case, arn, reason) => {
    const load = requestStateKeyLoader({ REQUEST_STATE_SECRET_ARN: arn });
    await expect(load()).rejects.toThrow(RequestStateKeyError);
    await expect(load()).rejects.toThrow(reason);
  });
});

describe('the MCP handler with REQUEST_STATE_SECRET_ARN', () => {
  const logger = new Logger({ serviceName: 'key-test', logLevel: 'SILENT' });
  const confirmCall = (extra: Record<string, unknown> = {}) => {
    const request = modernRequest('tools/call', { name: 'confirm', arguments: { question: 'Ship it?' }, ...extra }, 4);
    (request.body as { params: { _meta: Record<string, unknown> } }).params._meta[
      'io.modelcontextprotocol/clientCapabilities'
    ] = { elicitation: { form: {} } };
    return mcpEvent(request.body, { headers: request.headers, authorizer: authorizerContext() });
  };

  it('seals and verifies requestState with the key read from the secret', async () => {
    process.env.REQUEST_STATE_SECRET_ARN = KEY_ARN;
    const handler = createMcpLambdaHandler(createSampleServer, {
      tools: SAMPLE_TOOLS,
      publicBaseUrl: PUBLIC_BASE_URL,
      logger,
      responseTransferMode: 'buffered',
    });
    const first = replyOf(await handler(confirmCall()));
    const state = first.result?.requestState as string;
    expect(state).toMatch(/^v1\./);
    const second = replyOf(
      await handler(
        confirmCall({
          requestState: state,
          inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
        }),
      ),
    );
    expect(second.result?.structuredContent).toEqual({ question: 'Ship it?', answer: 'yes' });
  });

  it('reads no secret for requests that seal no state', async () => {
    process.env.REQUEST_STATE_SECRET_ARN = FORBIDDEN_ARN;
    const handler = createMcpLambdaHandler(createSampleServer, {
      tools: SAMPLE_TOOLS,
      publicBaseUrl: PUBLIC_BASE_URL,
      logger,
      responseTransferMode: 'buffered',
    });
    const request = modernRequest('tools/call', { name: 'whoami', arguments: {} }, 6);
    const reply = replyOf(
      await handler(mcpEvent(request.body, { headers: request.headers, authorizer: authorizerContext() })),
    );
    expect(reply.result?.isError).toBeFalsy();
    expect(secrets.reads.get(FORBIDDEN_ARN)).toBeUndefined();
  });

  it('gives the tool an error that names no secret, and logs the reason, while the secret cannot be read', async () => {
    process.env.REQUEST_STATE_SECRET_ARN = FORBIDDEN_ARN;
    const logs = captureLogs();
    try {
      const handler = createMcpLambdaHandler(createSampleServer, {
        tools: SAMPLE_TOOLS,
        publicBaseUrl: PUBLIC_BASE_URL,
        logger: new Logger({ serviceName: 'key-test' }),
        responseTransferMode: 'buffered',
      });
      const reply = replyOf(await handler(confirmCall()));
      expect(reply.result?.isError).toBe(true);
      expect(JSON.stringify(reply.result?.content)).toMatch(/could not load its requestState key; try again shortly/);
      expect(JSON.stringify(reply.result?.content)).not.toMatch(/arn:aws|Secrets Manager/);
      const logged = logs.lines().find((line) => line.message === 'requestState key unavailable');
      expect(String(logged?.reason)).toMatch(/not authorized to perform secretsmanager:GetSecretValue/);
    } finally {
      logs.restore();
    }
  });
});

/**
 * A Secrets Manager endpoint on loopback that accepts connections and either never answers
 * (`hang`) or passes requests on to the local Secrets Manager (`forward`).
 */
async function frontEndpoint(
  port = 0,
): Promise<{ endpoint: string; mode: 'hang' | 'forward'; close(): Promise<void> }> {
  const front = { endpoint: '', mode: 'hang' as 'hang' | 'forward', close: async (): Promise<void> => undefined };
  const target = new URL(secrets.endpoint);
  const server: Server = createServer((incoming, outgoing) => {
    if (front.mode === 'hang') return;
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  front.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return front;
}

/** A loopback port nothing listens on: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Runs `act` with the Secrets Manager endpoint set to `endpoint`. */
async function withEndpoint<T>(endpoint: string, act: () => Promise<T>): Promise<T> {
  const previous = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoint;
  try {
    return await act();
  } finally {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = previous;
  }
}

describe('a Secrets Manager endpoint that does not answer', () => {
  const logger = new Logger({ serviceName: 'key-test', logLevel: 'SILENT' });
  it('gives up a read from an endpoint that never answers, and reads again on the next call', async () => {
    const front = await frontEndpoint();
    try {
      await withEndpoint(front.endpoint, async () => {
        const load = requestStateKeyLoader({ REQUEST_STATE_SECRET_ARN: KEY_ARN }, { timeoutMs: 300 });
        await expect(load()).rejects.toThrow(/did not answer the requestState key read .* within 300 ms/);
        front.mode = 'forward';
        expect(await load()).toBe(KEY);
      });
    } finally {
      await front.close();
    }
  });

  it('fails a read from an endpoint that refuses connections, and reads again once it is back', async () => {
    const port = await refusingPort();
    await withEndpoint(`http://127.0.0.1:${port}`, async () => {
      const load = requestStateKeyLoader({ REQUEST_STATE_SECRET_ARN: KEY_ARN }, { timeoutMs: 1500 });
      await expect(load()).rejects.toThrow(RequestStateKeyError);
      const front = await frontEndpoint(port);
      try {
        front.mode = 'forward';
        expect(await load()).toBe(KEY);
      } finally {
        await front.close();
      }
    });
  });

  it('answers a retry whose state it cannot verify yet with a retryable -32603, then verifies it once the endpoint answers', async () => {
    const request = (extra: Record<string, unknown> = {}) => {
      const call = modernRequest('tools/call', { name: 'confirm', arguments: { question: 'Ship it?' }, ...extra }, 4);
      (call.body as { params: { _meta: Record<string, unknown> } }).params._meta[
        'io.modelcontextprotocol/clientCapabilities'
      ] = { elicitation: { form: {} } };
      return mcpEvent(call.body, { headers: call.headers, authorizer: authorizerContext() });
    };
    const options = {
      tools: SAMPLE_TOOLS,
      publicBaseUrl: PUBLIC_BASE_URL,
      logger,
      responseTransferMode: 'buffered' as const,
    };
    // The same key as the secret's, given in code: what another instance of the function minted.
    const minted = replyOf(
      await createMcpLambdaHandler(createSampleServer, { ...options, requestStateKey: KEY })(request()),
    );
    const retry = request({
      requestState: minted.result?.requestState,
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
    });
    const front = await frontEndpoint();
    process.env.REQUEST_STATE_SECRET_ARN = KEY_ARN;
    try {
      await withEndpoint(front.endpoint, async () => {
        const handler = createMcpLambdaHandler(createSampleServer, options);
        const stuck = await handler(retry);
        expect(stuck.statusCode).toBe(503);
        expect(replyOf(stuck).error).toMatchObject({ code: -32603, data: { retryable: true } });
        expect(replyOf(stuck).error?.message).toMatch(/could not load its requestState key; try again shortly/);
        front.mode = 'forward';
        const verified = replyOf(await handler(retry));
        expect(verified.result?.structuredContent).toEqual({ question: 'Ship it?', answer: 'yes' });
      });
    } finally {
      await front.close();
    }
  });
});
