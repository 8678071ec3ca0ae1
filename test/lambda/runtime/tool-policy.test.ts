/**
 * Tool policies: the decision against a reference written from the policy's documented meaning,
 * for every combination of caller kind, organization, scopes, roles and permissions; then the
 * handler enforcing it in both protocol eras with the real WorkOS SDK against the stand-in's
 * WorkOS API (loopback), `tools/list` leaving out what a caller can never call, and a refused
 * tool's callback never running.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { McpServer } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { DEV_USER } from '../../../local/authkit/contract';
import { DEV_ROLES } from '../../../local/authkit/workos-api';
import { startWorkOSApiServer, type WorkOSApiServer } from '../../../fixtures/workos-api-server';
import { callerOf } from '../../../lambda/runtime/caller';
import { createMcpLambdaHandler, type McpLambdaHandlerOptions } from '../../../lambda/runtime/handler';
import { defineTool } from '../../../lambda/runtime/tool-definition';
import type { PolicyCallers, ToolPolicy } from '../../../lambda/runtime/tool-policy';
import {
  decideByAccess,
  decideByToken,
  type PolicyCallerFacts,
  type PolicyRefusal,
} from '../../../lambda/runtime/tool-policy-decision';
import { createRoleResolver, type CallerAccess, type RoleResolver } from '../../../lambda/runtime/workos-access';
import { fixedWorkOSApiKey } from '../../../lambda/runtime/workos-api-key';
import type { AuthorizerIdentity } from '../../../lambda/shared/identity-context';
import {
  callerContext,
  captureLogs,
  legacyRequest,
  mcpEvent,
  modernRequest,
  PUBLIC_BASE_URL,
  replyOf,
  type JsonRpcReply,
} from './fixtures';

const SCOPES = ['notes:read', 'notes:write', 'mcp:admin'];
const PERMISSIONS = ['mcp:config:read', 'mcp:config:write', 'reports:read', 'billing:manage'];
const ROLES = ['admin', 'member', 'owner'];

const PERSON: Partial<AuthorizerIdentity> = { sub: DEV_USER.sub, orgId: DEV_USER.orgId };
const MACHINE: Partial<AuthorizerIdentity> = { sub: 'client_01M2M', clientId: 'client_01M2M', sid: undefined };

/** What a policy means, written from its documentation, independently of the runtime's code. */
type ReferenceOutcome = 'allowed' | 'callers' | 'scopes' | 'roles' | 'permissions' | 'unresolved';

function reference(policy: ToolPolicy, caller: PolicyCallerFacts, access: CallerAccess | undefined): ReferenceOutcome {
  const callers = policy.callers ?? 'any';
  if (callers === 'users' && caller.kind !== 'user') return 'callers';
  if (callers === 'machines' && caller.kind !== 'machine') return 'callers';
  if (!(policy.scopes ?? []).every((scope) => caller.scopes.includes(scope))) return 'scopes';
  const asksRoles = policy.roles !== undefined;
  const asksPermissions = (policy.permissions ?? []).length > 0;
  if (!asksRoles && !asksPermissions) return 'allowed';
  if (caller.kind === 'machine' || caller.organizationId === undefined || access === undefined) return 'unresolved';
  if (asksRoles && !access.roles.some((role) => policy.roles?.includes(role))) return 'roles';
  if (!(policy.permissions ?? []).every((permission) => access.permissions.includes(permission))) return 'permissions';
  return 'allowed';
}

function outcomeOf(refused: PolicyRefusal | undefined): ReferenceOutcome {
  if (refused === undefined) return 'allowed';
  return 'unresolved' in refused ? 'unresolved' : refused.requirement;
}

const subsetOf = <T>(values: readonly T[]) => fc.subarray([...values]);
const policyArbitrary: fc.Arbitrary<ToolPolicy> = fc.record(
  {
    scopes: subsetOf(SCOPES),
    permissions: subsetOf(PERMISSIONS),
    roles: subsetOf(ROLES).filter((roles) => roles.length > 0),
    callers: fc.constantFrom<PolicyCallers>('users', 'machines', 'any'),
  },
  { requiredKeys: [] },
);
const callerArbitrary: fc.Arbitrary<PolicyCallerFacts> = fc.record(
  {
    kind: fc.constantFrom('user' as const, 'machine' as const),
    scopes: subsetOf(SCOPES),
    organizationId: fc.constant(DEV_USER.orgId),
  },
  { requiredKeys: ['kind', 'scopes'] },
);
/** A membership's roles, and the permissions those roles grant in the stand-in. */
const rolesArbitrary = subsetOf(Object.keys(DEV_ROLES));
const accessOfRoles = (roles: readonly string[]): CallerAccess => ({
  roles,
  permissions: [...new Set(roles.flatMap((role) => DEV_ROLES[role] ?? []))],
});

describe('the policy decision', () => {
  it('agrees with the reference for every combination of caller kind, organization, scopes, roles and permissions', () => {
    fc.assert(
      fc.property(policyArbitrary, callerArbitrary, rolesArbitrary, (policy, caller, roles) => {
        const access = accessOfRoles(roles);
        const byToken = decideByToken(policy, caller);
        const decided = byToken === 'access' ? decideByAccess(policy, access) : byToken;
        expect(outcomeOf(decided)).toBe(reference(policy, caller, access));
      }),
      { numRuns: 2000 },
    );
  });

  it('names exactly the scopes and permissions that are missing', () => {
    fc.assert(
      fc.property(policyArbitrary, subsetOf(SCOPES), rolesArbitrary, (policy, scopes, roles) => {
        const access = accessOfRoles(roles);
        const byToken = decideByToken(policy, { kind: 'user', scopes, organizationId: DEV_USER.orgId });
        const decided = byToken === 'access' ? decideByAccess(policy, access) : byToken;
        if (decided?.requirement === 'scopes' && 'missing' in decided) {
          expect(decided.missing).toEqual((policy.scopes ?? []).filter((s) => !scopes.includes(s)));
        }
        if (decided?.requirement === 'permissions' && 'missing' in decided) {
          expect(decided.missing).toEqual((policy.permissions ?? []).filter((p) => !access.permissions.includes(p)));
        }
      }),
      { numRuns: 500 },
    );
  });
});

let workos: WorkOSApiServer;
let logs: ReturnType<typeof captureLogs>;
/** Tools whose callback ran, in order. */
let ran: string[];

beforeEach(async () => {
  workos = await startWorkOSApiServer();
  logs = captureLogs();
  ran = [];
});

afterEach(async () => {
  logs.restore();
  await workos.close();
});

function resolverFor(options: { apiKey?: string | null; ttlMs?: number } = {}): RoleResolver {
  return createRoleResolver({
    apiKey: fixedWorkOSApiKey(options.apiKey === null ? undefined : (options.apiKey ?? workos.apiKey)),
    baseUrl: workos.baseUrl,
    ttlMs: options.ttlMs ?? 0,
    staleIfErrorMs: 0,
    env: {},
    logger: new Logger({ serviceName: 'tool-policy-test', logLevel: 'INFO' }),
  });
}

function guarded(name: string, policy: ToolPolicy) {
  return defineTool(name, { description: `${name}, under a policy`, policy }, async () => {
    ran.push(name);
    return { content: [{ type: 'text', text: `${name} ran` }] };
  });
}

function handlerFor(tools: ReturnType<typeof guarded>[], options: McpLambdaHandlerOptions = {}) {
  return createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), {
    publicBaseUrl: PUBLIC_BASE_URL,
    logger: new Logger({ serviceName: 'tool-policy-test', logLevel: 'INFO' }),
    roleResolver: resolverFor(),
    tools,
    ...options,
  });
}

const ERAS = [
  ['2025-11-25', (method: string, params?: Record<string, unknown>) => legacyRequest(method, params)],
  ['2026-07-28', (method: string, params?: Record<string, unknown>) => modernRequest(method, params)],
] as const;

async function call(
  handler: ReturnType<typeof handlerFor>,
  build: (typeof ERAS)[number][1],
  tool: string,
  caller: Partial<AuthorizerIdentity>,
): Promise<{ status: number; reply: JsonRpcReply; headers: Record<string, string[] | undefined> }> {
  const { body, headers } = build('tools/call', { name: tool, arguments: {} });
  const result = await handler(mcpEvent(body, { headers, authorizer: callerContext(caller) }));
  return { status: result.statusCode, reply: replyOf(result), headers: result.multiValueHeaders };
}

async function listed(
  handler: ReturnType<typeof handlerFor>,
  build: (typeof ERAS)[number][1],
  caller: Partial<AuthorizerIdentity>,
): Promise<string[]> {
  const { body, headers } = build('tools/list');
  const reply = replyOf(await handler(mcpEvent(body, { headers, authorizer: callerContext(caller) })));
  return ((reply.result?.tools ?? []) as { name: string }[]).map((tool) => tool.name).sort();
}

describe.each(ERAS)('the handler enforcing policies (%s)', (_era, build) => {
  it('runs each tool exactly when the reference allows it, through the real WorkOS SDK', async () => {
    await fc.assert(
      fc.asyncProperty(
        policyArbitrary,
        fc.constantFrom('user' as const, 'machine' as const),
        subsetOf(SCOPES),
        rolesArbitrary,
        async (policy, kind, scopes, roles) => {
          ran = [];
          await workos.controls.setMembershipRoles(DEV_USER.orgId, roles);
          const handler = handlerFor([guarded('guarded', policy)]);
          const caller = { ...(kind === 'user' ? PERSON : MACHINE), scopes };
          const { status, reply } = await call(handler, build, 'guarded', caller);
          const expected = reference(
            policy,
            { kind, scopes, organizationId: DEV_USER.orgId },
            roles.length > 0 ? accessOfRoles(roles) : { roles: [], permissions: [] },
          );
          expect({ status, ran }).toEqual(
            expected === 'allowed' ? { status: 200, ran: ['guarded'] } : { status: 403, ran: [] },
          );
          if (expected === 'scopes') expect(reply.error?.data?.error).toBe('insufficient_scope');
          else if (expected === 'unresolved') expect(reply.error?.data?.code).toBe('NOT_A_PERSON');
          else if (expected !== 'allowed') expect(reply.error?.data?.requirement).toBe(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a machine a users-only tool with 403 naming the requirement; the callback never runs', async () => {
    const handler = handlerFor([guarded('confirm', { callers: 'users' })]);
    const { status, reply } = await call(handler, build, 'confirm', MACHINE);
    expect(status).toBe(403);
    expect(reply.error?.message).toMatch(/for users only.*machine/);
    expect(reply.error?.data).toEqual({
      error: 'forbidden',
      tool: 'confirm',
      requirement: 'callers',
      requiredCallers: 'users',
      callerKind: 'machine',
    });
    expect(ran).toEqual([]);
  });

  it('refuses a member a permission only admins hold, naming the missing permission, after the role changed', async () => {
    const handler = handlerFor([guarded('server_config', { permissions: ['mcp:config:read'] })]);
    expect((await call(handler, build, 'server_config', PERSON)).status).toBe(200);
    await workos.controls.setMembershipRoles(DEV_USER.orgId, ['member']);
    const { status, reply } = await call(handler, build, 'server_config', PERSON);
    expect(status).toBe(403);
    expect(reply.error?.data).toMatchObject({
      requirement: 'permissions',
      requiredPermissions: ['mcp:config:read'],
      missingPermissions: ['mcp:config:read'],
    });
    expect(ran).toEqual(['server_config']);
  });

  it('answers 503, retryable, while WorkOS fails and nothing fresh is cached, and logs the reason', async () => {
    const handler = handlerFor([guarded('reports', { roles: ['admin', 'member'] })]);
    await workos.controls.setMode('error');
    const { status, reply, headers } = await call(handler, build, 'reports', PERSON);
    expect(status).toBe(503);
    expect(reply.error?.data).toMatchObject({
      error: 'temporarily_unavailable',
      requirement: 'roles',
      code: 'WORKOS_UNAVAILABLE',
      retryable: true,
    });
    expect(headers['retry-after']).toEqual(['5']);
    expect(ran).toEqual([]);
    const line = logs.lines().find((entry) => entry.message === 'mcp request');
    expect(String(line?.reason)).toMatch(/tool reports refused for now: .*WorkOS failed with HTTP 500/);
    expect(logs.raw()).not.toContain(workos.apiKey);
  });

  it('refuses, naming workosApiKeySecret, when no WorkOS API key is configured', async () => {
    const handler = handlerFor([guarded('reports', { permissions: ['reports:read'] })], {
      roleResolver: resolverFor({ apiKey: null }),
    });
    const { status, reply } = await call(handler, build, 'reports', PERSON);
    expect(status).toBe(403);
    expect(reply.error?.message).toMatch(/workosApiKeySecret/);
    expect(reply.error?.data).toMatchObject({ code: 'WORKOS_NOT_CONFIGURED', retryable: false });
    expect(ran).toEqual([]);
  });

  it('never asks WorkOS for tools whose policy names no role or permission', async () => {
    const handler = handlerFor([guarded('open', {}), guarded('scoped', { scopes: ['notes:read'], callers: 'any' })]);
    await call(handler, build, 'open', PERSON);
    await call(handler, build, 'scoped', { ...PERSON, scopes: ['notes:read'] });
    await listed(handler, build, PERSON);
    expect(ran).toEqual(['open', 'scoped']);
    expect(Object.values(await workos.controls.requestCounts()).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('leaves out of tools/list what the caller can never call, unless listAllTools', async () => {
    const tools = [
      guarded('whoami', { callers: 'any' }),
      guarded('confirm', { callers: 'users' }),
      guarded('server_config', { scopes: ['mcp:admin'], callers: 'users' }),
      guarded('reports', { permissions: ['reports:read'] }),
      guarded('billing', { permissions: ['billing:manage'] }),
    ];
    const handler = handlerFor(tools);
    // Roles and permissions do not hide a tool: billing stays listed for a person who lacks it.
    expect(await listed(handler, build, PERSON)).toEqual(['billing', 'confirm', 'reports', 'whoami']);
    expect(await listed(handler, build, { ...PERSON, scopes: ['mcp:admin'] })).toEqual([
      'billing',
      'confirm',
      'reports',
      'server_config',
      'whoami',
    ]);
    // A machine holds no role: a tool needing a permission is one it can never call.
    expect(await listed(handler, build, { ...MACHINE, scopes: ['mcp:admin'] })).toEqual(['whoami']);
    expect(await listed(handlerFor(tools, { listAllTools: true }), build, MACHINE)).toEqual([
      'billing',
      'confirm',
      'reports',
      'server_config',
      'whoami',
    ]);
  });
});

describe('caller.access() in a tool', () => {
  it('shares the one lookup of the request with the policy check', async () => {
    let resolves = 0;
    const real = resolverFor();
    const counting: RoleResolver = {
      resolve: (user, organization) => {
        resolves += 1;
        return real.resolve(user, organization);
      },
    };
    let seen: unknown;
    const reports = defineTool('reports', { policy: { permissions: ['reports:read'] } }, async (ctx) => {
      seen = await callerOf(ctx.http?.authInfo).access();
      return { content: [] };
    });
    const handler = handlerFor([], { roleResolver: counting, tools: [reports] });
    const { status } = await call(handler, ERAS[1][1], 'reports', PERSON);
    expect(status).toBe(200);
    expect(resolves).toBe(1);
    expect(seen).toEqual({
      access: { role: 'admin', roles: ['admin'], permissions: [...DEV_ROLES.admin] },
      source: 'workos',
    });
  });
});
