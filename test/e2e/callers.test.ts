/**
 * Callers and tool policies through the local stack: the `local` stage synthesized with a short
 * permissions cache, the MCP function reading the stand-in's WorkOS API key from the local Secrets
 * Manager (IAM checked against the template's grant), the real WorkOS SDK asking the stand-in's
 * WorkOS API, and tokens signed by the stand-in for people and machines.
 */
import { DEV_USER } from '../../local/authkit/contract';
import { authKitTestControls, type AuthKitTestControls } from '../../local/authkit/launch';
import { DEV_MEMBER_ORGANIZATION_ID } from '../../local/authkit/workos-api';
import { workOSTestControls, type WorkOSTestControls } from '../../local/authkit/workos-controls';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(180_000);

const CACHE_TTL_SECONDS = 2;
const MACHINE = 'client_01HMACHINE0000000000000000';
const machine = { sub: MACHINE, client_id: MACHINE, sid: null, scope: 'openid mcp:admin' };

interface Reply {
  readonly status: number;
  readonly body: {
    result?: { tools?: { name: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };
    error?: { message: string; data?: Record<string, unknown> };
  };
}

describe('callers and tool policies on the local stack', () => {
  let stack: LocalStack;
  let controls: AuthKitTestControls;
  let workos: WorkOSTestControls;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      context: { permissionsCacheTtlSeconds: String(CACHE_TTL_SECONDS) },
    });
    controls = authKitTestControls(stack.issuer);
    workos = workOSTestControls(stack.issuer);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function token(claims: Record<string, unknown> = {}): Promise<string> {
    return (await controls.mintToken({ aud: stack.mcpUrl, claims })).accessToken;
  }

  async function rpc(bearer: string, method: string, params?: Record<string, unknown>): Promise<Reply> {
    const response = await fetch(stack.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${bearer}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params ? { params } : {}) }),
    });
    return { status: response.status, body: (await response.json()) as Reply['body'] };
  }

  const call = (bearer: string, name: string, args: Record<string, unknown> = {}) =>
    rpc(bearer, 'tools/call', { name, arguments: args });

  it('tells a person its role and permissions, read with the key from the local Secrets Manager', async () => {
    const reply = await call(await token(), 'whoami');
    expect(reply.body.result?.structuredContent).toMatchObject({
      kind: 'user',
      sub: DEV_USER.sub,
      organization: DEV_USER.orgId,
      role: 'admin',
      permissions: expect.arrayContaining(['mcp:config:read']),
    });
  });

  it('knows an M2M token as a machine, refuses it confirm and server_config, and leaves them out of its tools/list', async () => {
    const bearer = await token(machine);
    expect((await call(bearer, 'whoami')).body.result?.structuredContent).toMatchObject({ kind: 'machine' });
    for (const tool of ['confirm', 'server_config']) {
      const refused = await call(bearer, tool, { question: 'sure?' });
      expect(refused.status).toBe(403);
      expect(refused.body.error?.data).toMatchObject({ requirement: 'callers', requiredCallers: 'users' });
    }
    const listed = (await rpc(bearer, 'tools/list')).body.result?.tools?.map((tool) => tool.name) ?? [];
    expect(listed).toEqual(expect.arrayContaining(['whoami', 'format_json']));
    expect(listed).not.toContain('confirm');
    expect(listed).not.toContain('server_config');
    expect(listed).not.toContain('config_audit');
  });

  it('serves server_config to a person with mcp:admin', async () => {
    const reply = await call(await token({ scope: 'openid mcp:admin' }), 'server_config');
    expect(reply.status).toBe(200);
    expect(reply.body.result?.structuredContent).toMatchObject({ rolesFromWorkOS: true, permissionsCacheTtlMs: 2000 });
  });

  it('keeps the old role within the cache TTL and applies the new one after it', async () => {
    const bearer = await token();
    expect((await call(bearer, 'config_audit')).status).toBe(200);
    await workos.setMembershipRoles(DEV_USER.orgId, ['member']);
    try {
      expect((await call(bearer, 'config_audit')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_SECONDS * 1000 + 500));
      const refused = await call(bearer, 'config_audit');
      expect(refused.status).toBe(403);
      expect(refused.body.error?.data).toMatchObject({
        requirement: 'permissions',
        missingPermissions: ['mcp:config:read'],
      });
    } finally {
      await workos.setMembershipRoles(DEV_USER.orgId, ['admin']);
    }
  });

  // Each failure with a caller of its own, so nothing is cached for it; `slow` answers after the
  // resolver's 3 s bound.
  it.each([
    ['erroring (HTTP 500)', 'error', 'user_01HWORKOSERROR000000000000'],
    ['unreachable (connection closed)', 'down', 'user_01HWORKOSDOWN0000000000000'],
    ['slower than the 3 s bound', 'slow', 'user_01HWORKOSSLOW0000000000000'],
  ] as const)(
    'answers 503, retryable, when WorkOS is %s and nothing is cached for the caller',
    async (_, mode, sub) => {
      const bearer = await token({ sub, org_id: DEV_MEMBER_ORGANIZATION_ID });
      await workos.setMode(mode, mode === 'slow' ? { delayMs: 4_500 } : {});
      try {
        const reply = await call(bearer, 'config_audit');
        expect(reply.status).toBe(503);
        expect(reply.body.error?.data).toMatchObject({ error: 'temporarily_unavailable', retryable: true });
        // whoami needs no role or permission: it still answers, without them, and says why.
        const whoami = await call(bearer, 'whoami');
        expect(whoami.status).toBe(200);
        expect(whoami.body.result?.structuredContent).toMatchObject({ sub, permissions: [] });
        expect(whoami.body.result?.structuredContent?.role).toBeUndefined();
        expect(whoami.body.result?.structuredContent?.accessNote).toEqual(expect.any(String));
      } finally {
        await workos.setMode('normal');
      }
    },
  );

  it('serves a cached role past its TTL while WorkOS is unreachable (stale-if-error)', async () => {
    const bearer = await token();
    expect((await call(bearer, 'config_audit')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, CACHE_TTL_SECONDS * 1000 + 500));
    await workos.setMode('down');
    try {
      expect((await call(bearer, 'config_audit')).status).toBe(200);
    } finally {
      await workos.setMode('normal');
    }
  });
});
