/**
 * The conformance fixture's multi-round-trip tools and `server-stateless` diagnostics, driven in
 * process: by the SDK v2 client (which fulfils input requests with its own handlers and retries), and
 * by hand-written requests for what a client would never send (a tampered state, an undeclared
 * capability, a wrong answer).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Client } from '@modelcontextprotocol/client';
import type { ProxyResult } from '../../lambda/runtime/adapter';
import { createMcpLambdaHandler } from '../../lambda/runtime/handler';
import { inProcessTransport, mcpEvent, modernRequest, PUBLIC_BASE_URL, replyOf } from '../lambda/runtime/fixtures';
import type { createConformanceFixtureServer as FixtureFactory } from './fixture-server';

// The fixture module builds its Lambda handler at import, from the environment the construct sets.
process.env.PUBLIC_BASE_URL ??= PUBLIC_BASE_URL;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createConformanceFixtureServer } = require('./fixture-server') as {
  createConformanceFixtureServer: typeof FixtureFactory;
};

const logger = new Logger({ serviceName: 'fixture-test', logLevel: 'SILENT' });
const serverInfo = { name: 'mcp-conformance-fixture', version: '1.0.0' };
const handler = createMcpLambdaHandler(createConformanceFixtureServer, {
  publicBaseUrl: PUBLIC_BASE_URL,
  logger,
  serverInfo,
  requestStateKey: 'a-test-key-of-at-least-thirty-two-bytes!',
  responseTransferMode: 'buffered',
});

const ALL_CAPABILITIES = { elicitation: { form: {} }, sampling: {}, roots: {} };

async function connect(mode: 'legacy' | 'auto') {
  const asked: string[] = [];
  const client = new Client(
    { name: 'fixture-client', version: '1.0.0' },
    { versionNegotiation: { mode }, capabilities: ALL_CAPABILITIES },
  );
  client.setRequestHandler('elicitation/create', async (request) => {
    const { message } = request.params as { message: string };
    asked.push(message);
    const accept = (content: Record<string, string | boolean>) => ({ action: 'accept' as const, content });
    if (message.includes('color')) return accept({ color: 'blue' });
    if (message.includes('context')) return accept({ context: 'a test' });
    if (message.includes('confirm')) return accept({ ok: true });
    return accept({ name: 'Alice' });
  });
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    content: { type: 'text', text: 'Paris.' },
    model: 'test-model',
    stopReason: 'endTurn',
  }));
  client.setRequestHandler('roots/list', async () => ({ roots: [{ uri: 'file:///test/root', name: 'Test Root' }] }));
  await client.connect(inProcessTransport(handler));
  return { client, asked };
}

const textOf = (result: { content?: unknown }) =>
  ((result.content ?? []) as { text?: string }[]).map((block) => block.text).join('\n');

/** A hand-written 2026-07-28 request with the given client capabilities. */
async function call(
  method: string,
  params: Record<string, unknown>,
  capabilities: Record<string, unknown> = ALL_CAPABILITIES,
) {
  const { body, headers } = modernRequest(method, params);
  (body as { params: { _meta: Record<string, unknown> } }).params._meta['io.modelcontextprotocol/clientCapabilities'] =
    capabilities;
  const result = (await handler(mcpEvent(body, { headers }))) as ProxyResult;
  return { status: result.statusCode, ...replyOf(result) };
}

describe('the multi-round-trip fixtures, through the SDK v2 client', () => {
  it.each([
    ['test_input_required_result_elicitation', ['What is your name?'], 'Hello, Alice!'],
    ['test_input_required_result_sampling', [], 'The model answered: Paris.'],
    ['test_input_required_result_list_roots', [], 'The client has 1 root(s): file:///test/root'],
    ['test_input_required_result_request_state', ['Please confirm'], 'state-ok'],
    [
      'test_input_required_result_multiple_inputs',
      ['What is your name?'],
      'Paris. Alice; your roots: file:///test/root',
    ],
    [
      'test_input_required_result_multi_round',
      ['Step 1: What is your name?', 'Step 2: What is your favorite color?'],
      "Alice's favorite color is blue.",
    ],
    ['test_streaming_elicitation', ['Please confirm'], 'Confirmed: true'],
  ])('%s asks, the client answers, the tool completes', async (name, questions, expected) => {
    const { client, asked } = await connect('auto');
    const result = await client.callTool({ name, arguments: {} });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain(expected);
    expect(asked).toEqual(questions);
    await client.close();
  });

  it('builds the input-required prompt from the context the user gives', async () => {
    const { client } = await connect('auto');
    const prompt = await client.getPrompt({ name: 'test_input_required_result_prompt' });
    expect(prompt.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'Answer with this context in mind: a test' } },
    ]);
    await client.close();
  });

  it('gives a 2025-era client a tool error that says why', async () => {
    const { client, asked } = await connect('legacy');
    const result = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/needs a client speaking MCP 2026-07-28/);
    expect(asked).toEqual([]);
    await client.close();
  });
});

describe('the multi-round-trip fixtures, by hand', () => {
  it('asks again when the answer is missing, under another key, or not an object', async () => {
    for (const inputResponses of [
      { wrong_key: { action: 'accept', content: { data: 'wrong' } } },
      { user_name: 12345 },
    ]) {
      const reply = await call('tools/call', {
        name: 'test_input_required_result_elicitation',
        arguments: {},
        inputResponses,
      });
      expect(reply.result).toMatchObject({
        resultType: 'input_required',
        inputRequests: { user_name: { method: 'elicitation/create' } },
      });
    }
  });

  it('ignores answers it did not ask for', async () => {
    const reply = await call('tools/call', {
      name: 'test_input_required_result_elicitation',
      arguments: {},
      inputResponses: {
        user_name: { action: 'accept', content: { name: 'Alice' } },
        unknown_extra_key: { action: 'accept', content: { foo: 'bar' } },
      },
    });
    expect(reply.result).toMatchObject({ content: [{ type: 'text', text: 'Hello, Alice!' }] });
  });

  it('mints a new state in each round of the multi-round tool', async () => {
    const first = await call('tools/call', { name: 'test_input_required_result_multi_round', arguments: {} });
    const second = await call('tools/call', {
      name: 'test_input_required_result_multi_round',
      arguments: {},
      inputResponses: { step1: { action: 'accept', content: { name: 'Alice' } } },
      requestState: first.result?.requestState,
    });
    expect(second.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { step2: { method: 'elicitation/create' } },
    });
    expect(second.result?.requestState).toEqual(expect.any(String));
    expect(second.result?.requestState).not.toEqual(first.result?.requestState);
  });

  it('refuses a tampered state with a JSON-RPC error', async () => {
    const first = await call('tools/call', { name: 'test_input_required_result_tampered_state', arguments: {} });
    const reply = await call('tools/call', {
      name: 'test_input_required_result_tampered_state',
      arguments: {},
      inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
      requestState: `${first.result?.requestState as string}-TAMPERED`,
    });
    expect(reply.error).toMatchObject({ code: -32602 });
  });

  it('does not accept a state minted by another fixture: the runtime refuses it before any handler runs', async () => {
    const other = await call('tools/call', { name: 'test_input_required_result_tampered_state', arguments: {} });
    const reply = await call('tools/call', {
      name: 'test_input_required_result_request_state',
      arguments: {},
      inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
      requestState: other.result?.requestState,
    });
    expect(reply.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
  });

  it('asks only for what the client declared it can give', async () => {
    const reply = await call(
      'tools/call',
      { name: 'test_input_required_result_capabilities', arguments: {} },
      { sampling: {} },
    );
    expect(reply.result).toMatchObject({ resultType: 'input_required' });
    expect(
      Object.values(reply.result?.inputRequests as Record<string, { method: string }>).map((request) => request.method),
    ).toEqual(['sampling/createMessage']);
  });

  it('refuses test_missing_capability without sampling: -32021 naming sampling, HTTP 400', async () => {
    const reply = await call('tools/call', { name: 'test_missing_capability', arguments: {} }, {});
    expect(reply.status).toBe(400);
    expect(reply.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { sampling: {} } } });
  });

  it('sends no log line from test_logging_tool when the request sets no log level', async () => {
    const { body, headers } = modernRequest('tools/call', { name: 'test_logging_tool', arguments: {} });
    const result = (await handler(mcpEvent(body, { headers }))) as ProxyResult;
    expect(result.body).not.toContain('notifications/message');
    expect(replyOf(result).result).toMatchObject({ content: [{ type: 'text', text: 'test_logging_tool done' }] });
  });
});
