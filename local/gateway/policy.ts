/**
 * Evaluating a Lambda authorizer's IAM policy against a method ARN the way API Gateway does:
 * a matching Deny wins, otherwise a matching Allow is needed, otherwise the request is denied
 * implicitly.
 */
import { LocalError } from '../errors';

export type PolicyDecision = 'ALLOW' | 'EXPLICIT_DENY' | 'IMPLICIT_DENY';

export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
}

export class MalformedPolicyError extends LocalError {
  readonly code = 'MALFORMED_POLICY';
  constructor(reason: string) {
    super(`The authorizer returned an invalid policy: ${reason}`);
  }
}

const INVOKE_ACTION = 'execute-api:Invoke';

function stringList(value: unknown, field: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === 'string')) {
    throw new MalformedPolicyError(`${field} must be a string or a non-empty list of strings`);
  }
  return list;
}

/** Parses `policyDocument`, rejecting what API Gateway rejects (missing statements, bad effects). */
export function parsePolicyDocument(document: unknown): PolicyStatement[] {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new MalformedPolicyError('policyDocument must be an object');
  }
  const raw = (document as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : undefined;
  if (!statements || statements.length === 0)
    throw new MalformedPolicyError('policyDocument.Statement is missing or empty');
  return statements.map((statement, index) => {
    if (statement === null || typeof statement !== 'object')
      throw new MalformedPolicyError(`Statement[${index}] is not an object`);
    const s = statement as Record<string, unknown>;
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
      throw new MalformedPolicyError(`Statement[${index}].Effect must be Allow or Deny`);
    if (s.Condition !== undefined)
      throw new MalformedPolicyError(`Statement[${index}] has a Condition, which authorizer policies do not support`);
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw new MalformedPolicyError(`Statement[${index}] needs exactly one of Action or NotAction`);
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      throw new MalformedPolicyError(`Statement[${index}] needs exactly one of Resource or NotResource`);
    return {
      effect: s.Effect,
      actions: s.Action === undefined ? [] : stringList(s.Action, `Statement[${index}].Action`),
      notActions: s.NotAction === undefined ? undefined : stringList(s.NotAction, `Statement[${index}].NotAction`),
      resources: s.Resource === undefined ? undefined : stringList(s.Resource, `Statement[${index}].Resource`),
      notResources:
        s.NotResource === undefined ? undefined : stringList(s.NotResource, `Statement[${index}].NotResource`),
    };
  });
}

/** IAM wildcard match: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function statementApplies(statement: PolicyStatement, methodArn: string): boolean {
  // Action names are case-insensitive in IAM; resource ARNs are not.
  const actionMatches = statement.notActions
    ? !statement.notActions.some((p) => wildcardMatch(p, INVOKE_ACTION, true))
    : statement.actions.some((p) => wildcardMatch(p, INVOKE_ACTION, true));
  if (!actionMatches) return false;
  return statement.notResources
    ? !statement.notResources.some((p) => wildcardMatch(p, methodArn))
    : (statement.resources ?? []).some((p) => wildcardMatch(p, methodArn));
}

/** Evaluates parsed statements against the method ARN of the current request. */
export function evaluatePolicy(statements: readonly PolicyStatement[], methodArn: string): PolicyDecision {
  const applicable = statements.filter((s) => statementApplies(s, methodArn));
  if (applicable.some((s) => s.effect === 'Deny')) return 'EXPLICIT_DENY';
  if (applicable.some((s) => s.effect === 'Allow')) return 'ALLOW';
  return 'IMPLICIT_DENY';
}
