/**
 * Who may call a tool, declared once where the tool is defined. The runtime enforces it before the
 * tool runs (both protocol eras), leaves out of `tools/list` what a caller can never call, and
 * counts the tools that declare themselves long-running against the per-caller limit.
 */

/** Who a policy admits: people (user tokens), machines (client-credentials tokens), or both. */
export type PolicyCallers = 'users' | 'machines' | 'any';

export interface ToolPolicy {
  /** OAuth scopes the access token must carry, all of them. @default - none beyond the authorizer's */
  readonly scopes?: readonly string[];
  /** WorkOS permissions the person must hold in the token's organization, all of them. @default - none */
  readonly permissions?: readonly string[];
  /** WorkOS role slugs, any one of which admits the person in the token's organization. @default - any role */
  readonly roles?: readonly string[];
  /** Who may call the tool. @default 'any' */
  readonly callers?: PolicyCallers;
  /**
   * The tool may hold its request (and one execution of the function) for longer than a short call:
   * it takes a lease against the caller's `maxConcurrentRequestsPerCaller` before it runs, and a
   * caller at the limit is refused with 429 before the tool starts.
   * @default false
   */
  readonly longRunning?: boolean;
}

/** Each tool's policy by tool name; a tool without an entry is open to every authorized caller. */
export type ToolPolicies = ReadonlyMap<string, ToolPolicy>;

/** The policy of `tool`, or undefined; own entries only, so `constructor` or `__proto__` has none. */
export function policyOf(policies: ToolPolicies, tool: string | undefined): ToolPolicy | undefined {
  return tool === undefined ? undefined : policies.get(tool);
}
