/**
 * The message check that enforces each tool's {@link ToolPolicy} before the tool runs, for both
 * protocol eras: the token decides caller kind and scopes; only a policy naming roles or
 * permissions asks the person's access (through the role resolver, once per request). Every
 * refusal names the requirement that failed and never holds a secret.
 */
import type { AuthInfo, RequestId } from '@modelcontextprotocol/server';
import { insufficientScopeChallenge } from '../shared/challenges';
import { bindCallerAccess, callerOf } from './caller';
import type { readRuntimeSettings } from './config';
import type { ParsedMessage } from './json-rpc';
import { type Refusal, refusal } from './refusal';
import { jsonRpcErrorResponse, TRANSPORT_ERROR } from './responses';
import { policyOf, type ToolPolicies, type ToolPolicy } from './tool-policy';
import { decideByAccess, decideByToken, type PolicyRefusal } from './tool-policy-decision';
import type { RoleResolver } from './workos-access';

type Urls = ReturnType<typeof readRuntimeSettings>['urls'];

/** Seconds a client is asked to wait before retrying while WorkOS cannot be reached. */
export const WORKOS_RETRY_AFTER_SECONDS = 5;

/** A message check (`message-checks.ts`), typed here so the two modules do not import each other. */
export type PolicyCheck = (facts: {
  readonly parsed: ParsedMessage;
  readonly authInfo: AuthInfo;
}) => Refusal | undefined | Promise<Refusal | undefined>;

export function policyCheck(urls: Urls, policies: ToolPolicies, resolver: RoleResolver | undefined): PolicyCheck {
  return ({ parsed: { tool, id }, authInfo }) => {
    const policy = policyOf(policies, tool);
    if (tool === undefined || policy === undefined) return undefined;
    const caller = callerOf(authInfo);
    const decision = decideByToken(policy, caller);
    if (decision === undefined) return undefined;
    const answer = { urls, tool, id, policy };
    if (decision !== 'access') return refusalFor(answer, decision);
    // A warm call finds the person's access cached: decided here, without a promise.
    const cached =
      caller.organizationId === undefined ? undefined : resolver?.cached?.(caller.sub, caller.organizationId);
    if (cached !== undefined && 'access' in cached) {
      const refused = decideByAccess(policy, cached.access);
      return refused === undefined ? undefined : refusalFor(answer, refused);
    }
    return bindCallerAccess(authInfo, resolver)().then((resolution) => {
      if ('refusal' in resolution) {
        return refusalFor(answer, {
          requirement: policy.roles !== undefined ? 'roles' : 'permissions',
          unresolved: resolution.refusal,
        });
      }
      const refused = decideByAccess(policy, resolution.access);
      return refused === undefined ? undefined : refusalFor(answer, refused);
    });
  };
}

interface Answer {
  readonly urls: Urls;
  readonly tool: string;
  readonly id: RequestId | null;
  readonly policy: ToolPolicy;
}

function refusalFor({ urls, tool, id, policy }: Answer, refused: PolicyRefusal): Refusal {
  if ('unresolved' in refused) {
    const { code, retryable, reason } = refused.unresolved;
    if (retryable) {
      return refusal(
        jsonRpcErrorResponse(
          503,
          TRANSPORT_ERROR,
          `temporarily_unavailable: the ${refused.requirement} the tool "${tool}" requires cannot be checked now; retry shortly`,
          {
            id,
            data: { error: 'temporarily_unavailable', tool, requirement: refused.requirement, code, retryable: true },
            headers: { 'Retry-After': String(WORKOS_RETRY_AFTER_SECONDS) },
          },
        ),
        `tool ${tool} refused for now: ${reason}`,
      );
    }
    return forbidden(id, tool, `the tool "${tool}" requires ${describe(policy, refused.requirement)}, and ${reason}`, {
      requirement: refused.requirement,
      code,
      retryable: false,
    });
  }
  switch (refused.requirement) {
    case 'scopes':
      return insufficientScope(urls, tool, id, refused.required, refused.missing);
    case 'callers':
      return forbidden(
        id,
        tool,
        `the tool "${tool}" is for ${refused.callers} only, and the caller is a ${refused.kind}`,
        {
          requirement: 'callers',
          requiredCallers: refused.callers,
          callerKind: refused.kind,
        },
      );
    case 'roles':
      return forbidden(
        id,
        tool,
        `the tool "${tool}" requires one of the roles ${refused.required.join(', ')} in the token's organization`,
        {
          requirement: 'roles',
          requiredRoles: [...refused.required],
        },
      );
    case 'permissions':
      return forbidden(
        id,
        tool,
        `the tool "${tool}" requires the permission(s) ${refused.missing.join(', ')} in the token's organization`,
        {
          requirement: 'permissions',
          requiredPermissions: [...refused.required],
          missingPermissions: [...refused.missing],
        },
      );
  }
}

function describe(policy: ToolPolicy, requirement: 'roles' | 'permissions'): string {
  return requirement === 'roles'
    ? `one of the roles ${(policy.roles ?? []).join(', ')}`
    : `the permission(s) ${(policy.permissions ?? []).join(', ')}`;
}

function forbidden(id: RequestId | null, tool: string, message: string, data: Record<string, unknown>): Refusal {
  return refusal(
    jsonRpcErrorResponse(403, TRANSPORT_ERROR, `forbidden: ${message}`, {
      id,
      data: { error: 'forbidden', tool, ...data },
    }),
    `tool ${tool} refused: ${message}`,
  );
}

/**
 * The 403 `insufficient_scope` answer, with the challenge naming the scopes the tool requires.
 * The body is what reaches clients: API Gateway renames a proxy integration's `WWW-Authenticate`.
 */
export function insufficientScope(
  urls: Urls,
  tool: string,
  id: RequestId | null,
  required: readonly string[],
  missing: readonly string[],
): Refusal {
  const refused = jsonRpcErrorResponse(
    403,
    TRANSPORT_ERROR,
    `insufficient_scope: the tool "${tool}" requires the scope(s) ${missing.join(', ')} that the access token lacks`,
    {
      id,
      data: { error: 'insufficient_scope', tool, requiredScopes: [...required], missingScopes: [...missing] },
      headers: { 'WWW-Authenticate': insufficientScopeChallenge(urls, required) },
    },
  );
  return refusal(refused, `tool ${tool} needs scopes the caller lacks`);
}
