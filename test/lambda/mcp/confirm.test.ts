/**
 * `confirm`, the sample's multi-round-trip tool: the SDK client fulfils the elicitation through its
 * own handler and retries, statelessly; a `requestState` sealed for one caller is refused when it
 * is tampered with or replayed by another user or client.
 */
import { Client } from '@modelcontextprotocol/client';
import { Logger } from '@aws-lambda-powertools/logger';
import { inputRequired, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { createMcpLambdaHandler } from '../../../lambda/runtime/handler';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import {
  authorizerContext,
  callerContext,
  inProcessTransport,
  type JsonRpcReply,
  mcpEvent,
  modernRequest,
  PUBLIC_BASE_URL,
  replyOf,
} from '../runtime/fixtures';

const logger = new Logger({ serviceName: 'confirm-test', logLevel: 'SILENT' });
const KEY = 'a-test-key-of-at-least-thirty-two-bytes!';
const handler = createMcpLambdaHandler(createSampleServer, {
  tools: SAMPLE_TOOLS,
  publicBaseUrl: PUBLIC_BASE_URL,
  logger,
  requestStateKey: KEY,
  responseTransferMode: 'buffered',
});

async function connect(
  mode: 'legacy' | 'auto',
  answer: (message: string) => { action: 'accept' | 'decline'; content?: Record<string, string | number | boolean> },
) {
  const asked: string[] = [];
  const client = new Client(
    { name: 'confirm-client', version: '1.0.0' },
    { versionNegotiation: { mode }, capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler('elicitation/create', async (request) => {
    const message = (request.params as { message: string }).message;
    asked.push(message);
    return answer(message);
  });
  await client.connect(inProcessTransport(handler));
  return { client, asked };
}

describe('confirm', () => {
  it.each([
    [true, 'yes'],
    [false, 'no'],
  ])('asks the user through a 2026-07-28 client and returns the answer (%s → %s)', async (confirmed, answer) => {
    const { client, asked } = await connect('auto', () => ({ action: 'accept', content: { confirm: confirmed } }));
    const result = await client.callTool({ name: 'confirm', arguments: { question: 'Deploy to prod?' } });
    expect(asked).toEqual(['Deploy to prod?']);
    expect(result.structuredContent).toEqual({ question: 'Deploy to prod?', answer });
    await client.close();
  });

  it('reports a declined question as declined', async () => {
    const { client } = await connect('auto', () => ({ action: 'decline' }));
    const result = await client.callTool({ name: 'confirm', arguments: { question: 'Delete it?' } });
    expect(result.structuredContent).toEqual({ question: 'Delete it?', answer: 'declined' });
    await client.close();
  });

  it('gives a 2025-era client a tool error that says why', async () => {
    const { client, asked } = await connect('legacy', () => ({ action: 'accept', content: { confirm: true } }));
    const result = await client.callTool({ name: 'confirm', arguments: { question: 'Deploy?' } });
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([
      { type: 'text', text: expect.stringMatching(/needs a client speaking MCP 2026-07-28/) },
    ]);
    expect(asked).toEqual([]);
    await client.close();
  });
});

describe('requestState of confirm', () => {
  const withElicitation = (params: Record<string, unknown>, id = 5) => {
    const request = modernRequest('tools/call', params, id);
    const body = request.body as { params: { _meta: Record<string, unknown> } };
    body.params._meta['io.modelcontextprotocol/clientCapabilities'] = { elicitation: { form: {} } };
    return request;
  };

  /** The requestState of an input_required answer. */
  function requestStateOf(reply: JsonRpcReply): string {
    const state = reply.result?.requestState;
    if (typeof state !== 'string') throw new Error('the answer carries no requestState');
    return state;
  }

  async function firstRound(authorizer = authorizerContext()): Promise<string> {
    const { body, headers } = withElicitation({ name: 'confirm', arguments: { question: 'Pay 100 EUR?' } });
    const reply = replyOf(await handler(mcpEvent(body, { headers, authorizer })));
    expect(reply.result).toMatchObject({ resultType: 'input_required' });
    return requestStateOf(reply);
  }

  async function secondRound(requestState: string, authorizer = authorizerContext()) {
    const { body, headers } = withElicitation({
      name: 'confirm',
      arguments: { question: 'Pay 100 EUR?' },
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
      requestState,
    });
    return replyOf(await handler(mcpEvent(body, { headers, authorizer })));
  }

  it('carries the sealed question through the round trip for the same caller', async () => {
    const reply = await secondRound(await firstRound());
    expect(reply.result?.structuredContent).toEqual({ question: 'Pay 100 EUR?', answer: 'yes' });
  });

  it('refuses a tampered requestState with -32602', async () => {
    const state = await firstRound();
    const [version, body, mac] = state.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: { question: string } };
    payload.p.question = 'Pay 1 EUR?';
    const tampered = [version, Buffer.from(JSON.stringify(payload)).toString('base64url'), mac].join('.');
    const reply = await secondRound(tampered);
    expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });

  it.each([
    ['another user', { sub: 'user_02B' }],
    ['another client of the same user', { clientId: 'client_02X' }],
  ])('refuses a requestState captured from user A and replayed by %s', async (_who, other) => {
    const state = await firstRound();
    const reply = await secondRound(state, callerContext(other));
    expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });

  it('refuses a stale requestState, past its time to live, with -32602', async () => {
    const shortLived = createMcpLambdaHandler(createSampleServer, {
      tools: SAMPLE_TOOLS,
      publicBaseUrl: PUBLIC_BASE_URL,
      logger,
      requestStateKey: KEY,
      requestStateTtlSeconds: 1,
      responseTransferMode: 'buffered',
    });
    const { body, headers } = withElicitation({ name: 'confirm', arguments: { question: 'Pay 100 EUR?' } });
    const state = requestStateOf(
      replyOf(await shortLived(mcpEvent(body, { headers, authorizer: authorizerContext() }))),
    );
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const retry = withElicitation({
      name: 'confirm',
      arguments: { question: 'Pay 100 EUR?' },
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
      requestState: state,
    });
    const reply = replyOf(
      await shortLived(mcpEvent(retry.body, { headers: retry.headers, authorizer: authorizerContext() })),
    );
    expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });

  it('refuses to start without a key of at least 32 bytes', () => {
    expect(() =>
      createMcpLambdaHandler(createSampleServer, {
        tools: SAMPLE_TOOLS,
        publicBaseUrl: PUBLIC_BASE_URL,
        requestStateKey: 'short',
      }),
    ).toThrow(/requestStateKey is unusable/);
  });
});

describe('a sampling round trip', () => {
  it("returns what the client's model answered, through input_required and a retry", async () => {
    const sampling = createMcpLambdaHandler(
      ({ serverInfo, serverOptions }) => {
        const server = new McpServer(serverInfo, { ...serverOptions });
        server.registerTool('summarise', { inputSchema: z.object({ text: z.string() }) }, async ({ text }, ctx) => {
          const answer = ctx.mcpReq.inputResponses?.summary as
            | { content?: { type: string; text?: string } }
            | undefined;
          if (answer === undefined) {
            return inputRequired({
              inputRequests: {
                summary: inputRequired.createMessage({
                  messages: [{ role: 'user', content: { type: 'text', text: `Summarise: ${text}` } }],
                  maxTokens: 50,
                }),
              },
            });
          }
          return { content: [{ type: 'text', text: `model said: ${answer.content?.text}` }] };
        });
        return server;
      },
      { publicBaseUrl: PUBLIC_BASE_URL, logger, responseTransferMode: 'buffered' },
    );
    const prompts: string[] = [];
    const client = new Client(
      { name: 'sampling-client', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' }, capabilities: { sampling: {} } },
    );
    client.setRequestHandler('sampling/createMessage', async (request) => {
      const first = (request.params as { messages: { content: { text: string } }[] }).messages[0];
      prompts.push(first.content.text);
      return { role: 'assistant', content: { type: 'text', text: 'short' }, model: 'test-model' };
    });
    await client.connect(inProcessTransport(sampling));
    const result = await client.callTool({ name: 'summarise', arguments: { text: 'a long story' } });
    expect(prompts).toEqual(['Summarise: a long story']);
    expect(result.content).toEqual([{ type: 'text', text: 'model said: short' }]);
    await client.close();
  });
});
