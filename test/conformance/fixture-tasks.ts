/**
 * The conformance fixture's tools for the tasks extension scenarios (`tasks-*` of
 * `@modelcontextprotocol/conformance` 0.2.0-alpha.12, SEP-2663), each defined with its task support
 * so that the runtime turns a call from a client that declared the extension into a task:
 * - `greet` (no task support): `Hello, {name}!`.
 * - `slow_compute` (optional): sleeps `seconds`, reporting progress every second, so a cancelled
 *   task's worker learns of the cancel at its next report and stops.
 * - `failing_job` (required): a tool error after about a second (`completed` with `isError`).
 * - `protocol_error_job` (optional): returns a result larger than a task keeps (350 000 bytes), which
 *   the worker records as `failed` with the JSON-RPC error inlined, a failure outside the tool.
 * - `confirm_delete` (optional): one elicitation, then done; `multi_input` (optional): two at once.
 * - `test_tool_with_task` (required): asks for `user_name` as a plain multi-round-trip call, and
 *   becomes a task only on the round that carries the answer (`when`).
 */
import { acceptedContent, inputRequired, type CallToolResult, type ServerContext } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { defineTool, type ToolDefinition } from '../../lambda/runtime';

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** Waits `ms`, or rejects once `signal` aborts (the task was cancelled). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

async function progress(ctx: ServerContext, done: number, total: number, message: string): Promise<void> {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  if (progressToken === undefined) return;
  await ctx.mcpReq.notify({
    method: 'notifications/progress',
    params: { progressToken, progress: done, total, message },
  });
}

const greet = defineTool(
  'greet',
  { description: 'Greets by name (no task support).', inputSchema: z.object({ name: z.string() }) },
  async ({ name }) => text(`Hello, ${name}!`),
);

const slowCompute = defineTool(
  'slow_compute',
  {
    description: 'Sleeps for `seconds`, reporting progress each second, then returns.',
    inputSchema: z.object({ seconds: z.number().min(0).max(120), label: z.string().optional() }),
    task: { support: 'optional' },
  },
  async ({ seconds, label }, ctx) => {
    for (let second = 1; second <= Math.ceil(seconds); second++) {
      await pause(Math.min(1, seconds - second + 1) * 1000, ctx.mcpReq.signal);
      await progress(ctx, second, Math.ceil(seconds), `${second} of ${Math.ceil(seconds)} s`);
    }
    return text(`Computed ${label ?? 'a result'} in ${seconds} s.`);
  },
);

const failingJob = defineTool(
  'failing_job',
  { description: 'Fails with a tool error after about a second.', task: { support: 'required' } },
  async (ctx) => {
    await pause(1000, ctx.mcpReq.signal);
    return { isError: true, content: [{ type: 'text', text: 'The job failed, as it always does.' }] };
  },
);

const protocolErrorJob = defineTool(
  'protocol_error_job',
  { description: 'Fails with a protocol-level error.', task: { support: 'optional' } },
  // The SDK turns anything a tool throws into a tool error (`isError`), so the protocol-level failure
  // here is the runtime's own: a result over what a task keeps inline fails the task (-32603).
  async () => text('x'.repeat(400_000)),
);

const confirmAnswer = z.object({ confirm: z.boolean() });
const nameAnswer = z.object({ name: z.string() });

const confirmDelete = defineTool(
  'confirm_delete',
  {
    description: 'Asks the user to confirm, then deletes (nothing).',
    inputSchema: z.object({ filename: z.string() }),
    task: { support: 'optional' },
  },
  async ({ filename }, ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', confirmAnswer);
    if (answer === undefined)
      return inputRequired({
        inputRequests: {
          confirm: inputRequired.elicit({ message: `Delete ${filename}?`, requestedSchema: confirmAnswer }),
        },
      });
    return text(answer.confirm ? `Deleted ${filename}.` : `Kept ${filename}.`);
  },
);

const multiInput = defineTool(
  'multi_input',
  { description: 'Asks two questions at once, then answers.', task: { support: 'optional' } },
  async (ctx) => {
    const first = acceptedContent(ctx.mcpReq.inputResponses, 'first', nameAnswer);
    const second = acceptedContent(ctx.mcpReq.inputResponses, 'second', nameAnswer);
    if (first === undefined || second === undefined)
      return inputRequired({
        inputRequests: {
          first: inputRequired.elicit({ message: 'First name?', requestedSchema: nameAnswer }),
          second: inputRequired.elicit({ message: 'Second name?', requestedSchema: nameAnswer }),
        },
      });
    return text(`Got ${first.name} and ${second.name}.`);
  },
);

const toolWithTask = defineTool(
  'test_tool_with_task',
  {
    description: 'Asks for a name as a plain call, then runs as a task with the answer.',
    task: { support: 'required', when: (params) => params.inputResponses !== undefined },
  },
  async (ctx) => {
    const answer = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', nameAnswer);
    if (answer === undefined)
      return inputRequired({
        inputRequests: { user_name: inputRequired.elicit({ message: 'Your name?', requestedSchema: nameAnswer }) },
      });
    await pause(500, ctx.mcpReq.signal);
    return text(`Hello, ${answer.name}, from a task.`);
  },
);

export const TASK_FIXTURE_TOOLS: readonly ToolDefinition[] = [
  greet,
  slowCompute,
  failingJob,
  protocolErrorJob,
  confirmDelete,
  multiInput,
  toolWithTask,
];
