/**
 * The sample MCP server the stack deploys by default: `whoami`, which shows that every tool knows
 * its caller, `format_json`, a deterministic JSON formatter that is useful on its own, and
 * `long_task`, which runs for as long as asked and reports progress and log lines as it goes
 * (they reach the client as they happen when the integration streams), and `confirm`, which asks
 * the user a yes/no question through the client (a 2026-07-28 multi-round-trip request).
 */
import { acceptedContent, inputRequired, McpServer, type CallToolResult } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { callerOf, type McpLambdaRequestContext } from '../runtime';

/** The largest JSON text `format_json` accepts (the request body limit applies too). */
export const MAX_JSON_INPUT_CHARS = 256 * 1024;

const whoamiOutput = z.object({
  sub: z.string().describe('The user id.'),
  organization: z.string().nullable().describe('The WorkOS organization id, or null.'),
  client: z.string().describe('The OAuth client the user authorized.'),
  scopes: z.array(z.string()).describe('The scopes granted to the token.'),
  tokenExpiresAt: z.string().nullable().describe('When the access token expires (ISO 8601), or null.'),
});

const formatJsonInput = z.object({
  json: z.string().max(MAX_JSON_INPUT_CHARS).describe('The JSON text to format.'),
  indent: z.number().int().min(0).max(8).default(2).describe('Spaces per level; 0 gives compact output.'),
  sortKeys: z.boolean().default(false).describe('Sort object keys, for stable diffs and hashing.'),
});

const formatJsonOutput = z.object({
  formatted: z.string(),
  valueType: z.enum(['object', 'array', 'string', 'number', 'boolean', 'null']),
  inputBytes: z.number().int(),
  outputBytes: z.number().int(),
});

const longTaskInput = z.object({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(900)
    .describe('How long the task runs, in seconds (at most 15 minutes, the longest a streamed request may take).'),
  steps: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe('How many equal steps it runs in; progress and a log line follow each step.'),
});

const confirmInput = z.object({
  question: z.string().min(1).max(500).describe('The yes/no question to ask the user.'),
});
const confirmAnswer = z.object({ confirm: z.boolean().describe('Yes or no.') });
const confirmOutput = z.object({ question: z.string(), answer: z.enum(['yes', 'no', 'declined']) });

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function sortKeysDeep(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeysDeep(value[key])]),
    );
  }
  return value;
}

function valueTypeOf(value: JsonValue): z.infer<typeof formatJsonOutput>['valueType'] {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as 'object' | 'string' | 'number' | 'boolean';
}

/** Waits `ms`, or rejects as soon as `signal` aborts (the client went away or time ran out). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

type SampleContext = Pick<McpLambdaRequestContext, 'serverInfo'> &
  Partial<Pick<McpLambdaRequestContext, 'era' | 'serverOptions' | 'requestState'>>;

/** Builds the sample server for one request. */
export function createSampleServer({ serverInfo, era, serverOptions, requestState }: SampleContext): McpServer {
  const server = new McpServer(serverInfo, {
    ...serverOptions,
    instructions:
      'Call whoami to see which user, organization and client this session acts for. Use format_json to validate and pretty-print JSON. long_task runs for the given number of seconds and reports progress.',
    capabilities: { logging: {} },
  });

  registerWhoami(server);
  registerFormatJson(server);
  registerLongTask(server);
  registerConfirm(server, era, requestState);
  return server;
}

/** `whoami`: the caller's identity as the authorizer passed it on, never the token. */
function registerWhoami(server: McpServer): void {
  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description:
        'Returns the identity this server sees for the caller: user, organization, OAuth client, scopes and token expiry. Never returns the token.',
      outputSchema: whoamiOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (ctx) => {
      const caller = callerOf(ctx.http?.authInfo);
      const identity: z.infer<typeof whoamiOutput> = {
        sub: caller.sub,
        organization: caller.organizationId ?? null,
        client: caller.clientId,
        scopes: [...caller.scopes],
        tokenExpiresAt: caller.expiresAt !== undefined ? new Date(caller.expiresAt * 1000).toISOString() : null,
      };
      return { content: [{ type: 'text', text: JSON.stringify(identity, null, 2) }], structuredContent: identity };
    },
  );
}

/** `format_json`: validates JSON text and re-serialises it. */
function registerFormatJson(server: McpServer): void {
  server.registerTool(
    'format_json',
    {
      title: 'Format JSON',
      description:
        'Validates JSON text and re-serialises it with the given indentation, optionally with object keys sorted. Invalid JSON is reported with the parser message.',
      inputSchema: formatJsonInput,
      outputSchema: formatJsonOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ json, indent, sortKeys }) => {
      let value: JsonValue;
      try {
        value = JSON.parse(json) as JsonValue;
      } catch (error) {
        return toolError(`The input is not valid JSON: ${(error as Error).message}`);
      }
      const formatted = JSON.stringify(sortKeys ? sortKeysDeep(value) : value, null, indent);
      const output: z.infer<typeof formatJsonOutput> = {
        formatted,
        valueType: valueTypeOf(value),
        inputBytes: Buffer.byteLength(json, 'utf8'),
        outputBytes: Buffer.byteLength(formatted, 'utf8'),
      };
      return { content: [{ type: 'text', text: formatted }], structuredContent: output };
    },
  );
}

/** `long_task`: runs in equal steps, reporting progress and a log line after each. */
function registerLongTask(server: McpServer): void {
  server.registerTool(
    'long_task',
    {
      title: 'Long task',
      description:
        'Runs for the given number of seconds in equal steps, sending a progress notification (when the request asks for progress) and a log message after each step, then returns a summary. Shows that long tools stream their progress.',
      inputSchema: longTaskInput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ seconds, steps }, ctx) => {
      const started = Date.now();
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let step = 1; step <= steps; step++) {
        await pause((seconds * 1000 * step) / steps - (Date.now() - started), ctx.mcpReq.signal);
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress: step, total: steps, message: `step ${step} of ${steps}` },
          });
        }
        await ctx.mcpReq.log(
          'info',
          `long_task: step ${step} of ${steps} done after ${((Date.now() - started) / 1000).toFixed(1)} s`,
          'long_task',
        );
      }
      const elapsed = (Date.now() - started) / 1000;
      return { content: [{ type: 'text', text: `Finished ${steps} step(s) in ${elapsed.toFixed(1)} s.` }] };
    },
  );
}

/**
 * `confirm`: the first call answers `input_required` with a form elicitation (and, with a key, a
 * sealed `requestState` holding the question); the client asks the user and calls again with the
 * answer. A 2025-era client gets a tool error: a stateless server cannot send it a request.
 */
function registerConfirm(server: McpServer, era: SampleContext['era'], codec: SampleContext['requestState']): void {
  server.registerTool(
    'confirm',
    {
      title: 'Confirm',
      description:
        'Asks the user a yes/no question through the client (elicitation) and returns the answer. Needs a client speaking MCP 2026-07-28 with elicitation.',
      inputSchema: confirmInput,
      outputSchema: confirmOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ question }, ctx) => {
      if (era === 'legacy') {
        return toolError(
          'confirm needs a client speaking MCP 2026-07-28: this server is stateless, so it cannot send a question to a 2025-era client mid-call.',
        );
      }
      const response = ctx.mcpReq.inputResponses?.confirm as { action?: string } | undefined;
      if (response === undefined) {
        const state = codec ? await codec.mint({ question }, ctx) : undefined;
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: question, requestedSchema: confirmAnswer }) },
          ...(state !== undefined ? { requestState: state } : {}),
        });
      }
      const asked = codec ? (ctx.mcpReq.requestState<{ question: string }>()?.question ?? question) : question;
      const accepted = acceptedContent<{ confirm: boolean }>(ctx.mcpReq.inputResponses, 'confirm');
      const answer: z.infer<typeof confirmOutput>['answer'] =
        accepted === undefined ? 'declined' : accepted.confirm ? 'yes' : 'no';
      return {
        content: [{ type: 'text', text: `${asked} → ${answer}` }],
        structuredContent: { question: asked, answer },
      };
    },
  );
}
