/**
 * A `requestState` is bound to the request it was minted for: its caller, its method and a digest
 * of its params (for `tools/call`, the tool name and its arguments), less what a client changes on
 * a multi-round-trip retry (`inputResponses`, `requestState`, `_meta`). A state captured from one
 * call is refused (`-32602`) when replayed with other arguments or to another tool.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { createMcpLambdaHandler } from '../../../lambda/runtime/handler';
import { createStandaloneSampleServer } from '../../../lambda/mcp/server';
import { authorizerContext, mcpEvent, modernRequest, PUBLIC_BASE_URL, replyOf } from './fixtures';

const KEY = 'a-test-key-of-at-least-thirty-two-bytes!';
const answer = { inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } };

// The sample server plus a tool that acts on whatever state it is handed.
const handler = createMcpLambdaHandler(
  (ctx) => {
    const server: McpServer = createStandaloneSampleServer(ctx);
    server.registerTool('delete_env', { inputSchema: z.object({ env: z.string() }) }, async ({ env }, toolCtx) => {
      const state = toolCtx.mcpReq.requestState<{ question: string }>();
      return { content: [{ type: 'text', text: state ? `deleted ${env} after "${state.question}"` : 'asked' }] };
    });
    return server;
  },
  {
    publicBaseUrl: PUBLIC_BASE_URL,
    logger: new Logger({ serviceName: 'request-state-test', logLevel: 'SILENT' }),
    requestStateKey: KEY,
    responseTransferMode: 'buffered',
  },
);

async function call(
  tool: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  id = 1,
  metaExtra: Record<string, unknown> = {},
) {
  const request = modernRequest('tools/call', { name: tool, arguments: args, ...extra }, id);
  const meta = (request.body as { params: { _meta: Record<string, unknown> } }).params._meta;
  Object.assign(meta, { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } }, ...metaExtra });
  return replyOf(await handler(mcpEvent(request.body, { headers: request.headers, authorizer: authorizerContext() })));
}

async function stateOf(question: string): Promise<string> {
  const first = await call('confirm', { question });
  expect(first.result?.resultType).toBe('input_required');
  return first.result?.requestState as string;
}

describe('requestState bound to its request', () => {
  it('accepts the state back on the retry of the same call, with a new id and other _meta', async () => {
    const state = await stateOf('Delete prod?');
    const retry = await call('confirm', { question: 'Delete prod?' }, { ...answer, requestState: state }, 2, {
      progressToken: 'retry-2',
    });
    expect(retry.result?.structuredContent).toEqual({ question: 'Delete prod?', answer: 'yes' });
  });

  it('refuses a replayed state with other arguments', async () => {
    const state = await stateOf('Delete prod?');
    const replayed = await call('confirm', { question: 'harmless question' }, { ...answer, requestState: state });
    expect(replayed.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
    expect(replayed.result).toBeUndefined();
  });

  it('refuses a replayed state with another tool', async () => {
    const state = await stateOf('Delete prod?');
    const replayed = await call('delete_env', { env: 'prod' }, { ...answer, requestState: state });
    expect(replayed.error).toMatchObject({ code: -32602, message: 'Invalid or expired requestState' });
    expect(replayed.result).toBeUndefined();
  });

  it('is not single-use: the same retry is accepted again until the state expires', async () => {
    const state = await stateOf('Twice?');
    for (const id of [2, 3]) {
      const retry = await call('confirm', { question: 'Twice?' }, { ...answer, requestState: state }, id);
      expect(retry.result?.structuredContent).toEqual({ question: 'Twice?', answer: 'yes' });
    }
  });
});
