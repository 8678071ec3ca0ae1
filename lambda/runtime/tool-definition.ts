/**
 * `defineTool`: a tool and who may call it, declared in one place. The handler takes the
 * definitions (`createMcpLambdaHandler(factory, { tools: [...] })`), registers each on the server
 * the factory returns, and enforces each policy before the tool runs.
 */
import type { McpServer, RegisteredTool, StandardSchemaWithJSON, ToolCallback } from '@modelcontextprotocol/server';
import { isScopeToken } from '../shared/scopes';
import { RuntimeConfigError } from './errors';
import type { McpLambdaRequestContext } from './server-factory';
import type { PolicyCallers, ToolPolicies, ToolPolicy } from './tool-policy';
import type { ToolTaskOptions } from './tasks/support';

/** The SDK's `registerTool` config less the schemas (title, description, annotations, icons, _meta, ...). */
type SdkToolConfigRest = Omit<Parameters<McpServer['registerTool']>[1], 'inputSchema' | 'outputSchema'>;

/** `registerTool`'s config with the SDK's own schema types, plus the tool's {@link ToolPolicy}. */
export type ToolDefinitionConfig<
  OutputArgs extends StandardSchemaWithJSON,
  InputArgs extends StandardSchemaWithJSON | undefined,
> = SdkToolConfigRest & {
  readonly inputSchema?: InputArgs;
  readonly outputSchema?: OutputArgs;
  /** Who may call the tool. @default - every authorized caller */
  readonly policy?: ToolPolicy;
  /** Whether a call may become a durable task (the MCP tasks extension; tasks/support.ts). @default - never */
  readonly task?: ToolTaskOptions;
};

/** A tool ready for the handler's `tools` option. */
export interface ToolDefinition {
  readonly name: string;
  readonly policy: ToolPolicy;
  readonly task?: ToolTaskOptions;
  /** Registers the tool on a server (the runtime does this for each request's server). */
  register(server: McpServer, request: McpLambdaRequestContext): RegisteredTool;
}

/**
 * Defines a tool with its policy. The config and callback are those of the SDK's
 * `McpServer.registerTool` (zod schemas, typed arguments), plus `policy`.
 *
 * ```ts
 * const report = defineTool(
 *   'monthly_report',
 *   { description: 'The month in numbers', inputSchema: z.object({ month: z.string() }),
 *     policy: { callers: 'users', permissions: ['reports:read'] } },
 *   async ({ month }, ctx) => ({ content: [{ type: 'text', text: month }] }),
 * );
 * ```
 */
export function defineTool<
  OutputArgs extends StandardSchemaWithJSON,
  InputArgs extends StandardSchemaWithJSON | undefined = undefined,
>(
  name: string,
  config: ToolDefinitionConfig<OutputArgs, InputArgs>,
  callback: ToolCallback<InputArgs>,
): ToolDefinition {
  return defineToolWithContext<OutputArgs, InputArgs>(name, config, () => callback);
}

/**
 * {@link defineTool} for a tool whose callback needs what the factory receives for the request
 * (the era, the `requestState` codec): `callbackFor(ctx)` is called once per request.
 */
export function defineToolWithContext<
  OutputArgs extends StandardSchemaWithJSON,
  InputArgs extends StandardSchemaWithJSON | undefined = undefined,
>(
  name: string,
  config: ToolDefinitionConfig<OutputArgs, InputArgs>,
  callbackFor: (request: McpLambdaRequestContext) => ToolCallback<InputArgs>,
): ToolDefinition {
  const { policy = {}, task, ...sdkConfig } = config;
  validatePolicy(name, policy);
  return {
    name,
    policy,
    ...(task === undefined ? {} : { task }),
    register: (server, request) => server.registerTool<OutputArgs, InputArgs>(name, sdkConfig, callbackFor(request)),
  };
}

const CALLERS: readonly PolicyCallers[] = ['users', 'machines', 'any'];

/** Refuses, at definition time, a policy the runtime could not enforce as written. */
function validatePolicy(tool: string, policy: ToolPolicy): void {
  const problem = policyProblem(policy);
  if (problem !== undefined) {
    throw new RuntimeConfigError('tools', `The policy of tool "${tool}" ${problem}.`);
  }
}

function policyProblem(policy: ToolPolicy): string | undefined {
  for (const field of ['scopes', 'permissions', 'roles'] as const) {
    const list = policy[field];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || !isScopeToken(item))) {
      return `has ${field} ${JSON.stringify(list)}: give a list of names without spaces or quotes`;
    }
  }
  if (policy.roles !== undefined && policy.roles.length === 0) {
    return 'has roles []: no role could admit anyone; leave roles out to admit any role';
  }
  if (policy.callers !== undefined && !CALLERS.includes(policy.callers)) {
    return `has callers ${JSON.stringify(policy.callers)}: use 'users', 'machines' or 'any'`;
  }
  return undefined;
}

/** The policies of the definitions, by tool name; a name defined twice is refused. */
export function policiesOf(definitions: readonly ToolDefinition[]): ToolPolicies {
  const policies = new Map<string, ToolPolicy>();
  for (const definition of definitions) {
    if (policies.has(definition.name)) {
      throw new RuntimeConfigError('tools', `The tool "${definition.name}" is defined twice in the tools option.`);
    }
    policies.set(definition.name, definition.policy);
  }
  return policies;
}

/**
 * Each tool's required scopes by tool name, for the construct's `stepUpChallenge` option: the
 * gateway then refuses a call of a tool whose scopes the token lacks with a step-up challenge,
 * judged from the same definitions the handler enforces. Tools without required scopes are left out.
 */
export function toolScopesOf(definitions: readonly ToolDefinition[]): Record<string, readonly string[]> {
  const entries: [string, readonly string[]][] = [];
  for (const [name, policy] of policiesOf(definitions)) {
    if (policy.scopes !== undefined && policy.scopes.length > 0) entries.push([name, [...policy.scopes]]);
  }
  return Object.fromEntries(entries);
}
