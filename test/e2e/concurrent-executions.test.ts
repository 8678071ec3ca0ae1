/**
 * Held requests do not make others wait: below the MCP function's reserved concurrency, Lambda
 * gives every invocation an execution environment of its own at once
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html), and so does the local
 * stack. With 12 streamed `long_task` calls of one user running, another user's request is
 * answered while all 12 still run, and the gateway's log shows 13 execution environments.
 */
import { defined } from '../../fixtures/defined';
import { mcpHttpRequest } from '../../fixtures/mcp-requests';
import { authKitTestControls } from '../../local/authkit/launch';
import type { FunctionStats } from '../../local/gateway';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(180_000);

const HELD = 12;
/** Longer than the test needs to start the held calls and answer the other user, by far. */
const TASK_SECONDS = 150;
/** The MCP function's logical id in the synthesized stack: `McpServerMcp` and CDK's hash. */
const MCP_FUNCTION = /^McpServerMcp[0-9A-F]{8}$/;

/** Starts a streamed long_task and resolves once its first progress notification arrived: it runs. */
async function startLongTask(stack: LocalStack, token: string, id: number): Promise<AbortController> {
  const controller = new AbortController();
  const request = mcpHttpRequest(
    'tools/call',
    { name: 'long_task', arguments: { seconds: TASK_SECONDS, steps: TASK_SECONDS / 2 }, _meta: { progressToken: id } },
    { era: 'legacy', id, token },
  );
  const response = await fetch(stack.mcpUrl, { method: 'POST', ...request, signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = defined(response.body, 'a body on the long_task stream').getReader();
  let text = '';
  while (!text.includes('notifications/progress')) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the long_task stream ended before its first progress: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return controller;
}

function mcpFunction(stack: LocalStack): FunctionStats {
  return defined(
    Object.values(stack.gateway.stats().functions).find((f) => MCP_FUNCTION.test(f.logicalId)),
    'the MCP function',
  );
}

describe('many held requests of one user and another user’s request', () => {
  let stack: LocalStack;
  const log: string[] = [];
  const held: AbortController[] = [];

  beforeAll(async () => {
    // The local bound is sized here, so that the test does not depend on the machine's memory:
    // 16 GB for functions gives the 1024 MB MCP function 16 processes, more than this test needs.
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      localMemoryMb: 16 * 1024,
      // Lambda's own concurrency is under test, not the per-caller limit, which would stop one
      // user's eleventh held call.
      context: { maxConcurrentRequestsPerCaller: 'false' },
      log: (line) => log.push(line),
    });
  });

  afterAll(async () => {
    for (const controller of held) controller.abort();
    await stack?.stop();
  });

  it('answers the other user while all 12 calls still run, each in an execution environment of its own', async () => {
    const controls = authKitTestControls(stack.issuer);
    const holder = (await controls.mintToken({ aud: stack.mcpUrl, claims: { sub: 'user_holder' } })).accessToken;
    const other = (await controls.mintToken({ aud: stack.mcpUrl, claims: { sub: 'user_other' } })).accessToken;
    // One after the other: each call is running (its first progress arrived) before the next
    // starts, so they hold 12 executions at once, while their cold starts do not share this
    // machine's few cores (on AWS each environment has its own CPU; 12 node processes loading at
    // once on 2 cores pass Lambda's 10 s init limit). The later calls find the authorizer warm.
    for (let id = 1; id <= HELD; id++) held.push(await startLongTask(stack, holder, id));
    expect(mcpFunction(stack).processes.filter((p) => p.busy)).toHaveLength(HELD);

    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      ...mcpHttpRequest('tools/call', { name: 'whoami', arguments: {} }, { era: 'legacy', id: 99, token: other }),
    });
    const body = await response.text();

    expect(response.status).toBe(200);
    expect(body).toContain('user_other');
    const mcp = mcpFunction(stack);
    // The 12 long tasks are still running: their processes are busy and none has finished.
    expect(mcp.processes.filter((p) => p.busy)).toHaveLength(HELD);
    expect(mcp.processes).toHaveLength(HELD + 1);
    expect(mcp.throttles).toBe(0);
    const started = log.filter((line) =>
      line.startsWith(`${mcpFunction(stack).logicalId}: execution environment started`),
    );
    expect(started).toHaveLength(HELD + 1);
    // Only the other user's request has been answered so far.
    expect(log.filter((line) => /^POST \/mcp /.test(line))).toEqual([
      expect.stringMatching(/^POST \/mcp 200 [\d.]+ms/),
    ]);
  });
});
