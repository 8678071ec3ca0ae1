/**
 * Whether a caller may call a tool under its {@link ToolPolicy}, as pure functions: first what the
 * token alone decides (caller kind, scopes, whether the caller can hold a role at all), then,
 * only for policies that name roles or permissions, what the person's access in the token's
 * organization decides. The first requirement that fails is the answer.
 */
import { type CallerKind, MACHINE_HOLDS_NO_ROLE, NO_ORGANIZATION } from './caller';
import type { PolicyCallers, ToolPolicy } from './tool-policy';
import type { AccessRefusal, CallerAccess } from './workos-access';

/** What the token says about the caller. */
export interface PolicyCallerFacts {
  readonly kind: CallerKind;
  readonly scopes: readonly string[];
  readonly organizationId?: string;
}

/** A requirement of a policy that a caller failed. */
export type PolicyRefusal =
  | { readonly requirement: 'callers'; readonly callers: PolicyCallers; readonly kind: CallerKind }
  | { readonly requirement: 'scopes'; readonly required: readonly string[]; readonly missing: readonly string[] }
  | { readonly requirement: 'roles'; readonly required: readonly string[]; readonly held: readonly string[] }
  | {
      readonly requirement: 'permissions';
      readonly required: readonly string[];
      readonly missing: readonly string[];
    }
  /** The person's access could not be known: a machine, no organization, or WorkOS unconfigured or down. */
  | { readonly requirement: 'roles' | 'permissions'; readonly unresolved: AccessRefusal };

/** Undefined: allowed; `'access'`: the token allows it, and the person's access decides. */
export type TokenDecision = PolicyRefusal | 'access' | undefined;

/** Whether the policy needs the person's roles or permissions (and so a WorkOS lookup). */
export function needsAccess(policy: ToolPolicy): boolean {
  return policy.roles !== undefined || (policy.permissions?.length ?? 0) > 0;
}

function admits(callers: PolicyCallers | undefined, kind: CallerKind): boolean {
  return callers === undefined || callers === 'any' || (callers === 'users' ? kind === 'user' : kind === 'machine');
}

/** The part of the decision the token alone makes, without asking WorkOS. */
export function decideByToken(policy: ToolPolicy, caller: PolicyCallerFacts): TokenDecision {
  if (!admits(policy.callers, caller.kind)) {
    return { requirement: 'callers', callers: policy.callers ?? 'any', kind: caller.kind };
  }
  const required = policy.scopes ?? [];
  // Runs for every tool on every request (neverCallable); both lists are a handful of names.
  const missing = required.length === 0 ? required : required.filter((scope) => !caller.scopes.includes(scope));
  if (missing.length > 0) return { requirement: 'scopes', required, missing };
  if (!needsAccess(policy)) return undefined;
  const requirement = policy.roles !== undefined ? 'roles' : 'permissions';
  if (caller.kind === 'machine') return { requirement, unresolved: MACHINE_HOLDS_NO_ROLE };
  if (caller.organizationId === undefined) return { requirement, unresolved: NO_ORGANIZATION };
  return 'access';
}

/** The rest of the decision, from the person's access in the token's organization. */
export function decideByAccess(policy: ToolPolicy, access: CallerAccess): PolicyRefusal | undefined {
  if (policy.roles !== undefined && !policy.roles.some((role) => access.roles.includes(role))) {
    return { requirement: 'roles', required: policy.roles, held: access.roles };
  }
  const required = policy.permissions ?? [];
  const missing = required.filter((permission) => !access.permissions.includes(permission));
  if (missing.length > 0) return { requirement: 'permissions', required, missing };
  return undefined;
}

/**
 * Whether the caller can never call the tool with this token, whatever WorkOS says later: the
 * token's kind, scopes or missing organization fail the policy. Roles and permissions do not
 * count: they change without a new token.
 */
export function neverCallable(policy: ToolPolicy, caller: PolicyCallerFacts): boolean {
  const decision = decideByToken(policy, caller);
  return decision !== undefined && decision !== 'access';
}
