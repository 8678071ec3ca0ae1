/**
 * Durable tasks (the MCP tasks extension) through the whole local stack as deployed: the sample
 * server's `long_task` and `confirm`, for a user signed in with the SDK v2 client's OAuth flow, with
 * the extension declared. The task outlives the client's connection (closed, then a new client polls
 * it to its result), a cancel stops it, a question waits in the task for tasks/update, and another
 * user or another OAuth client is told the task does not exist (-32602).
 *
 * The SDK v2 client (2.4) has no tasks extension: its 2026-07-28 codec refuses `resultType: "task"`
 * ("Unsupported result type 'task' for tools/call"). So the SDK client signs in, connects and
 * disconnects, and the task methods go as JSON-RPC over fetch with the access token its OAuth flow
 * obtained, the extension declared in each request's `_meta` client capabilities.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import * as z from 'zod';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { HeadlessOAuthClient } from './headless-oauth-client';

jest.setTimeout(180_000);

const TASKS = 'io.modelcontextprotocol/tasks';
const anyResult = z.looseObject({});
type Task = z.infer<typeof anyResult> & { taskId?: string; status?: string; result?: unknown; inputRequests?: unknown };

describe('durable tasks through the local stack', () => {
  let stack: LocalStack;
  const oauth = new HeadlessOAuthClient();

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, authkitPort: 0, autoApprove: true, testControls: true });
    const first = new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth });
    await new Client({ name: 'e2e-tasks', version: '1.0.0' }).connect(first).catch(() => undefined);
    if (oauth.callbackUrl) await first.finishAuth(oauth.callbackUrl.searchParams);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** A client of the signed-in user that declares the tasks extension. */
  async function connected(): Promise<Client> {
    const client = new Client(
      { name: 'e2e-tasks', version: '1.0.0' },
      {
        versionNegotiation: { mode: 'auto' },
        capabilities: { elicitation: { form: {} }, extensions: { [TASKS]: {} } },
      },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.mcpUrl), { authProvider: oauth }));
    return client;
  }

  /** One JSON-RPC request of the signed-in user (this client's token), the extension declared; the result, or the error thrown. */
  async function call(client: Client, method: string, params: Record<string, unknown>): Promise<Task> {
    expect(client.transport).toBeDefined();
    const token = (await oauth.tokens())?.access_token;
    const request = mcpHttpRequest(method, params, {
      era: 'modern',
      id: 1,
      token,
      clientName: 'e2e-tasks',
      clientCapabilities: { elicitation: { form: {} }, extensions: { [TASKS]: {} } },
    });
    const reply = (await (await fetch(stack.mcpUrl, { method: 'POST', ...request })).json()) as {
      result?: Task;
      error?: { code: number; message: string };
    };
    if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
    return anyResult.parse(reply.result) as Task;
  }

  async function settled(client: Client, taskId: string, until: (status: string) => boolean): Promise<Task> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const task = await call(client, 'tasks/get', { taskId });
      if (until(String(task.status))) return task;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`task ${taskId} never settled`);
  }
  const terminal = (status: string) => ['completed', 'failed', 'cancelled'].includes(status);

  it('creates a long_task task, survives a reconnect, and polls it to completed with its result', async () => {
    const first = await connected();
    const created = await call(first, 'tools/call', { name: 'long_task', arguments: { seconds: 2, steps: 4 } });
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    await first.close();
    const second = await connected();
    const done = await settled(second, String(created.taskId), terminal);
    expect(done).toMatchObject({ status: 'completed', result: { content: [{ type: 'text' }] } });
    expect(JSON.stringify(done.result)).toContain('Finished 4 step(s)');
    await second.close();
  });

  it('cancels a task: the ack is empty and the task reads cancelled', async () => {
    const client = await connected();
    const created = await call(client, 'tools/call', { name: 'long_task', arguments: { seconds: 60, steps: 60 } });
    const taskId = String(created.taskId);
    expect(await call(client, 'tasks/cancel', { taskId })).toEqual({ resultType: 'complete' });
    expect(await settled(client, taskId, terminal)).toMatchObject({ status: 'cancelled' });
    await client.close();
  });

  it('waits in input_required for an answer sent with tasks/update', async () => {
    const client = await connected();
    const created = await call(client, 'tools/call', { name: 'confirm', arguments: { question: 'Ship it?' } });
    const taskId = String(created.taskId);
    const waiting = await settled(client, taskId, (status) => status !== 'working');
    expect(waiting).toMatchObject({
      status: 'input_required',
      inputRequests: { confirm: { method: 'elicitation/create' } },
    });
    const ack = await call(client, 'tasks/update', {
      taskId,
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
    });
    expect(ack).toEqual({ resultType: 'complete' });
    const done = await settled(client, taskId, terminal);
    expect(done).toMatchObject({
      status: 'completed',
      result: { structuredContent: { question: 'Ship it?', answer: 'yes' } },
    });
    await client.close();
  });

  it("refuses another user's and another client's tasks/get with -32602, as for an unknown task", async () => {
    const client = await connected();
    const whoami = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as {
      sub: string;
      client: string;
    };
    const created = await call(client, 'tools/call', { name: 'long_task', arguments: { seconds: 1, steps: 1 } });
    const taskId = String(created.taskId);
    await client.close();
    const asked = async (sub: string, clientId: string, id: string) => {
      const { accessToken } = await authKitTestControls(stack.issuer).mintToken({
        aud: stack.mcpUrl,
        claims: { sub, client_id: clientId },
      });
      const request = mcpHttpRequest(
        'tasks/get',
        { taskId: id },
        { era: 'modern', id: 1, token: accessToken, clientCapabilities: { extensions: { [TASKS]: {} } } },
      );
      return (await (await fetch(stack.mcpUrl, { method: 'POST', ...request })).json()) as {
        result?: Task;
        error?: { code: number; message: string };
      };
    };
    expect((await asked(whoami.sub, whoami.client, taskId)).result?.taskId).toBe(taskId);
    const unknown = await asked(whoami.sub, whoami.client, 'AAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.error?.code).toBe(-32602);
    expect((await asked('user_someone_else', whoami.client, taskId)).error).toEqual(unknown.error);
    expect((await asked(whoami.sub, 'client_another_app', taskId)).error).toEqual(unknown.error);
  });
});
