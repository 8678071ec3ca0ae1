/**
 * The sample MCP server the stack deploys by default, each tool defined with its policy
 * ({@link SAMPLE_TOOLS}): `whoami` (any caller), which shows that every tool knows its caller, its
 * kind and its role; `format_json`, a deterministic JSON formatter that is useful on its own;
 * `long_task` (long-running), which runs for as long as asked and reports progress and log lines
 * as it goes (they reach the client as they happen when the integration streams), or runs as a
 * durable task for a client that declares the MCP tasks extension; `confirm`
 * (people only: a machine cannot answer), which asks the user a yes/no question through the
 * client (a 2026-07-28 multi-round-trip request); `server_config` (people with the `mcp:admin`
 * scope), the server's non-secret settings; and `config_audit` (the `mcp:config:read` permission in
 * the token's organization), which tool needs what.
 */
import {
  acceptedContent,
  inputRequired,
  McpServer,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolResult,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { FUNCTION_TIMEOUT_SECONDS, MCP_SETTINGS } from '../shared/settings/mcp';
import { type Env, readSetting } from '../shared/settings/setting';
import {
  callerOf,
  defineTool,
  defineToolWithContext,
  type McpLambdaRequestContext,
  type ToolDefinition,
} from '../runtime';

/** The stateless protocol version the runtime serves besides the SDK's 2025-era list. */
const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** The largest JSON text `format_json` accepts (the request body limit applies too). */
export const MAX_JSON_INPUT_CHARS = 256 * 1024;
/** The deepest nesting of arrays and objects `format_json` accepts. */
export const MAX_JSON_DEPTH = 64;
/** The longest formatted text `format_json` returns, in UTF-8 bytes (measured before it is built). */
export const MAX_JSON_OUTPUT_BYTES = 1024 * 1024;

const whoamiOutput = z.object({
  kind: z.enum(['user', 'machine']).describe('A person, or a machine (an M2M client-credentials token).'),
  sub: z.string().describe('The user id, or the M2M application client id.'),
  organization: z.string().optional().describe('The WorkOS organization id; absent when the token names none.'),
  client: z.string().describe('The OAuth client the user authorized.'),
  scopes: z.array(z.string()).describe('The scopes granted to the token.'),
  tokenExpiresAt: z
    .string()
    .optional()
    .describe('When the access token expires (ISO 8601); absent when the token states no expiry.'),
  role: z.string().optional().describe("The person's role in the organization, when known."),
  permissions: z.array(z.string()).describe("The person's permissions in the organization; empty when unknown."),
  accessNote: z.string().optional().describe('Why role and permissions are unknown, when they are.'),
});

const serverConfigOutput = z.object({
  serviceName: z.string(),
  resource: z.string().describe('The canonical resource URL (the token audience).'),
  responseTransferMode: z.enum(['stream', 'buffered']),
  maxBodyBytes: z.number().int(),
  listenMaxSeconds: z.number().int().optional(),
  maxConcurrentRequestsPerCaller: z.union([z.number().int(), z.literal('off')]).optional(),
  permissionsCacheTtlMs: z.number().int().optional(),
  rolesFromWorkOS: z.boolean().describe('Whether a WorkOS API key is configured.'),
  protocolVersions: z.array(z.string()),
});

const configAuditOutput = z.object({
  tools: z.array(
    z.object({
      name: z.string(),
      callers: z.enum(['users', 'machines', 'any']),
      scopes: z.array(z.string()),
      roles: z.array(z.string()),
      permissions: z.array(z.string()),
      longRunning: z.boolean(),
    }),
  ),
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

/**
 * Seconds kept free after a `long_task` run: the runtime gives a request up 2 s before the
 * function's deadline, and the answer and the invocation's start need the rest.
 */
const LONG_TASK_HEADROOM_SECONDS = 4;

/**
 * The longest `long_task` run this function can finish: its timeout (`FUNCTION_TIMEOUT_SECONDS`,
 * which the construct writes from `mcpTimeout`; 299 s unless a stage raises it) less the headroom.
 */
export function longTaskMaxSeconds(env: Env): number {
  const timeout =
    readSetting(
      MCP_SETTINGS.functionTimeoutSeconds,
      env,
      ({ variable, message }) => new Error(`${variable}: ${message}`),
    ) ?? FUNCTION_TIMEOUT_SECONDS.fallback;
  return Math.max(1, timeout - LONG_TASK_HEADROOM_SECONDS);
}

/** Read once, at cold start. */
const LONG_TASK_MAX_SECONDS = longTaskMaxSeconds(process.env);

const longTaskInput = z.object({
  seconds: z
    .number()
    .int()
    .min(1)
    .max(LONG_TASK_MAX_SECONDS)
    .describe(
      `How long the task runs, in seconds (at most ${LONG_TASK_MAX_SECONDS}, what this function's timeout leaves; longer work belongs in a task).`,
    ),
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

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

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

const INSTRUCTIONS =
  'Call whoami to see which user or machine, organization, role and client this session acts for. Use format_json to validate and pretty-print JSON. long_task runs for the given number of seconds and reports progress.';

/** The sample's server for one request; the handler registers {@link SAMPLE_TOOLS} on it. */
export function createSampleServer({ serverInfo, serverOptions }: SampleContext): McpServer {
  return new McpServer(serverInfo, { ...serverOptions, instructions: INSTRUCTIONS, capabilities: { logging: {} } });
}

/**
 * The sample server with its tools registered directly, for running it outside this runtime (the
 * benches compare it with the SDK alone): there, nothing enforces the tools' policies.
 */
export function createStandaloneSampleServer(ctx: SampleContext): McpServer {
  const server = createSampleServer(ctx);
  // Standalone, the era and codec are what the caller passed; the rest of the context is unused.
  for (const tool of SAMPLE_TOOLS) tool.register(server, ctx as McpLambdaRequestContext);
  return server;
}

/** `whoami`: the caller's identity as the authorizer passed it on, never the token, and its role. */
const whoami = defineTool(
  'whoami',
  {
    title: 'Who am I',
    description:
      'Returns the identity this server sees for the caller: user or machine, organization, role and permissions, OAuth client, scopes and token expiry. Never returns the token.',
    outputSchema: whoamiOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    policy: { callers: 'any' },
  },
  async (ctx) => {
    const caller = callerOf(ctx.http?.authInfo);
    const resolution = await caller.access();
    const identity: z.infer<typeof whoamiOutput> = {
      kind: caller.kind,
      sub: caller.sub,
      ...(caller.organizationId !== undefined ? { organization: caller.organizationId } : {}),
      client: caller.clientId,
      scopes: [...caller.scopes],
      ...(caller.expiresAt !== undefined ? { tokenExpiresAt: new Date(caller.expiresAt * 1000).toISOString() } : {}),
      ...('access' in resolution
        ? {
            ...(resolution.access.role !== undefined ? { role: resolution.access.role } : {}),
            permissions: [...resolution.access.permissions],
          }
        : { permissions: [], accessNote: resolution.refusal.reason }),
    };
    return { content: [{ type: 'text', text: JSON.stringify(identity, null, 2) }], structuredContent: identity };
  },
);

/** The rows `server_config` shows, read from the function's environment (the construct writes it). */
function configuredSettings() {
  const read = <T>(row: Parameters<typeof readSetting<T>>[0]): T =>
    readSetting(row, process.env, (problem) => new Error(`${problem.variable}: ${problem.message}`));
  return {
    serviceName: read(MCP_SETTINGS.serviceName),
    responseTransferMode: read(MCP_SETTINGS.responseTransferMode),
    maxBodyBytes: read(MCP_SETTINGS.maxBodyBytes),
    listenMaxSeconds: read(MCP_SETTINGS.listenMaxSeconds),
    maxConcurrentRequestsPerCaller: read(MCP_SETTINGS.maxConcurrentRequestsPerCaller),
    permissionsCacheTtlMs: read(MCP_SETTINGS.permissionsCacheTtlMs),
    workosApiKeySecretArn: read(MCP_SETTINGS.workosApiKeySecretArn),
  };
}

/**
 * How deeply `text` nests arrays and objects, counted on the text before it is parsed. The count
 * stops at `limit + 1`, so a long run of brackets costs no more than reading it.
 */
function nestingDepthOf(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length && deepest <= limit; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '[' || char === '{') deepest = Math.max(deepest, ++depth);
    else if (char === ']' || char === '}') depth--;
  }
  return deepest;
}

/**
 * The UTF-8 length of `JSON.stringify(value, null, indent)`, computed without building it: with an
 * indent, every member of a container at level `level` starts on a new line indented
 * `indent × (level + 1)` spaces, so the text grows with indent × depth for each value.
 */
export function formattedJsonBytes(value: JsonValue, indent: number, level = 0): number {
  if (value === null || typeof value !== 'object') return Buffer.byteLength(JSON.stringify(value), 'utf8');
  const entries: [string | undefined, JsonValue][] = Array.isArray(value)
    ? value.map((item) => [undefined, item])
    : Object.keys(value).map((key) => [key, value[key]]);
  if (entries.length === 0) return 2;
  const memberIndent = indent > 0 ? 1 + indent * (level + 1) : 0;
  let total = 2 + (entries.length - 1) + (indent > 0 ? 1 + indent * level : 0);
  for (const [key, item] of entries) {
    total += memberIndent + formattedJsonBytes(item, indent, level + 1);
    if (key !== undefined) total += Buffer.byteLength(JSON.stringify(key), 'utf8') + (indent > 0 ? 2 : 1);
  }
  return total;
}

/** Why `format_json` refuses to parse `json` (nested too deeply), or undefined. */
function nestingRefusal(json: string): string | undefined {
  if (nestingDepthOf(json, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH) return undefined;
  return `The input nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; format_json accepts at most ${MAX_JSON_DEPTH}.`;
}

/** Why `format_json` refuses to format `value` at `indent` (the text would be too large), or undefined. */
function outputSizeRefusal(value: JsonValue, indent: number): string | undefined {
  const bytes = formattedJsonBytes(value, indent);
  if (bytes <= MAX_JSON_OUTPUT_BYTES) return undefined;
  return `The formatted JSON would be ${bytes} bytes; format_json returns at most ${MAX_JSON_OUTPUT_BYTES} (1 MiB). Use a smaller indent (0 is compact) or a smaller input.`;
}

/** `server_config`: what this function runs with, none of it secret. */
const serverConfig = defineTool(
  'server_config',
  {
    title: 'Server configuration',
    description:
      "Returns this server's non-secret settings: service name, resource, transfer mode, limits and protocol versions. Needs the mcp:admin scope; people only.",
    outputSchema: serverConfigOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    policy: { scopes: ['mcp:admin'], callers: 'users' },
  },
  async (ctx) => {
    const settings = configuredSettings();
    const config: z.infer<typeof serverConfigOutput> = {
      serviceName: settings.serviceName ?? '',
      resource: String(ctx.http?.authInfo?.resource ?? ''),
      responseTransferMode: settings.responseTransferMode === 'stream' ? 'stream' : 'buffered',
      maxBodyBytes: settings.maxBodyBytes,
      ...(settings.listenMaxSeconds !== undefined ? { listenMaxSeconds: settings.listenMaxSeconds } : {}),
      ...(settings.maxConcurrentRequestsPerCaller !== undefined
        ? {
            maxConcurrentRequestsPerCaller:
              settings.maxConcurrentRequestsPerCaller === false ? 'off' : settings.maxConcurrentRequestsPerCaller,
          }
        : {}),
      ...(settings.permissionsCacheTtlMs !== undefined
        ? { permissionsCacheTtlMs: settings.permissionsCacheTtlMs }
        : {}),
      rolesFromWorkOS: settings.workosApiKeySecretArn !== undefined,
      // The 2026-07-28 era goes through the SDK's createMcpHandler; the list holds the 2025-era ones.
      protocolVersions: [MODERN_PROTOCOL_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS],
    };
    return { content: [{ type: 'text', text: JSON.stringify(config, null, 2) }], structuredContent: config };
  },
);

/** `config_audit`: which caller each sample tool admits; needs a permission admins hold. */
const configAudit = defineTool(
  'config_audit',
  {
    title: 'Tool policy audit',
    description:
      "Lists each tool's policy (callers, scopes, roles, permissions, long-running). Needs the mcp:config:read permission in the token's organization.",
    outputSchema: configAuditOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    policy: { callers: 'users', permissions: ['mcp:config:read'] },
  },
  async () => {
    const audit: z.infer<typeof configAuditOutput> = {
      tools: SAMPLE_TOOLS.map(({ name, policy }) => ({
        name,
        callers: policy.callers ?? 'any',
        scopes: [...(policy.scopes ?? [])],
        roles: [...(policy.roles ?? [])],
        permissions: [...(policy.permissions ?? [])],
        longRunning: policy.longRunning ?? false,
      })),
    };
    return { content: [{ type: 'text', text: JSON.stringify(audit, null, 2) }], structuredContent: audit };
  },
);

/** `format_json`: validates JSON text and re-serialises it. */
const formatJson = defineTool(
  'format_json',
  {
    title: 'Format JSON',
    description:
      'Validates JSON text and re-serialises it with the given indentation, optionally with object keys sorted. Invalid JSON is reported with the parser message; input nested more than 64 levels deep, or output over 1 MiB, is refused.',
    inputSchema: formatJsonInput,
    outputSchema: formatJsonOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    policy: { callers: 'any' },
  },
  async ({ json, indent, sortKeys }) => {
    const tooDeep = nestingRefusal(json);
    if (tooDeep !== undefined) return toolError(tooDeep);
    let value: JsonValue;
    try {
      value = JSON.parse(json) as JsonValue;
    } catch (error) {
      return toolError(`The input is not valid JSON: ${(error as Error).message}`);
    }
    const tooLarge = outputSizeRefusal(value, indent);
    if (tooLarge !== undefined) return toolError(tooLarge);
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

/** `long_task`: runs in equal steps, reporting progress and a log line after each. */
const longTask = defineTool(
  'long_task',
  {
    title: 'Long task',
    description:
      'Runs for the given number of seconds in equal steps, sending a progress notification (when the request asks for progress) and a log message after each step, then returns a summary. Shows that long tools stream their progress. A client that declares the tasks extension gets a task to poll instead.',
    inputSchema: longTaskInput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    policy: { callers: 'any', longRunning: true },
    // A client that declares the tasks extension gets a task; any other, the streamed call.
    task: { support: 'optional' },
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

/**
 * `confirm`: the first call answers `input_required` with a form elicitation (and, with a key, a
 * sealed `requestState` holding the question); the client asks the user and calls again with the
 * answer. A 2025-era client gets a tool error: a stateless server cannot send it a request.
 */
const confirm = defineToolWithContext(
  'confirm',
  {
    title: 'Confirm',
    description:
      'Asks the user a yes/no question through the client (elicitation) and returns the answer. Needs a client speaking MCP 2026-07-28 with elicitation.',
    inputSchema: confirmInput,
    outputSchema: confirmOutput,
    annotations: { readOnlyHint: true, openWorldHint: false },
    policy: { callers: 'users' },
    // With the tasks extension the question waits in the task (input_required) for tasks/update.
    task: { support: 'optional' },
  },
  ({ era, requestState: codec }) =>
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

/** Every tool of the sample, with its policy: the handler's `tools`. */
export const SAMPLE_TOOLS: readonly ToolDefinition[] = [
  whoami,
  formatJson,
  longTask,
  confirm,
  serverConfig,
  configAudit,
];
