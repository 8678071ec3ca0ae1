/**
 * Organizations at the gateway, on the local stack synthesized with allowedOrganizations and a
 * required scope: tokens signed by the AuthKit stand-in go through the real gateway emulator, the
 * bundled authorizer and the gateway responses of the template.
 */
import { authKitTestControls, type AuthKitTestControls } from '../../local/authkit/launch';
import { DEV_USER } from '../../local/authkit/contract';
import type { GatewayStats } from '../../local/gateway';
import { startLocalStack, type LocalStack } from '../../local/stack';

jest.setTimeout(120_000);

const REQUIRED_SCOPE = 'mcp:tools';
/** A second listed organization, besides the stand-in's dev organization. */
const ACME = 'org_01EHZNVPK3SFK441A1RGBFSHRT';
const OTHER = 'org_01HOTHER00000000000000000B';
const MACHINE = 'client_01HMACHINE0000000000000000';

const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });

function postMcp(stack: LocalStack, token: string): Promise<Response> {
  return fetch(stack.mcpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      authorization: `Bearer ${token}`,
    },
    body: toolsList,
  });
}

function authorizerInvocations(stats: GatewayStats): number {
  const entry = Object.entries(stats.functions).find(([logicalId]) => logicalId.startsWith('McpServerAuthorizer'));
  if (!entry) throw new Error(`No authorizer function; functions: ${Object.keys(stats.functions).join(', ')}`);
  return entry[1].invocations;
}

describe('organizations at the local gateway (allowedOrganizations: the dev organization and one more)', () => {
  let stack: LocalStack;
  let controls: AuthKitTestControls;
  let challenge: string;
  const authorizerOutput: string[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      authkitPort: 0,
      testControls: true,
      // The local stage's step-up challenge cannot be combined with organizations: turned off here.
      context: {
        requiredScopes: REQUIRED_SCOPE,
        allowedOrganizations: `${DEV_USER.orgId},${ACME}`,
        stepUpChallenge: 'false',
      },
      onFunctionOutput: (logicalId, line) => {
        if (logicalId.startsWith('McpServerAuthorizer')) authorizerOutput.push(line);
      },
    });
    controls = authKitTestControls(stack.issuer);
    challenge = `Bearer resource_metadata="${stack.urls.base}/.well-known/oauth-protected-resource/mcp"`;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** A token from the stand-in; `claims` override its AuthKit-shaped defaults (`null` removes one). */
  async function token(claims: Record<string, unknown> = {}): Promise<string> {
    const minted = await controls.mintToken({ aud: stack.mcpUrl, claims });
    tokens.push(minted.accessToken);
    return minted.accessToken;
  }

  const machine = (orgId: string) => ({ sub: MACHINE, client_id: MACHINE, sid: null, org_id: orgId });

  it.each([
    ['a user of the dev organization', {}],
    ['a user of the other listed organization', { org_id: ACME }],
    ['a machine (client credentials) of a listed organization', machine(ACME)],
  ])('lets %s through to the MCP function', async (_case, claims) => {
    const response = await postMcp(stack, await token(claims));

    expect(response.status).toBe(200);
  });

  it.each([
    ['a user of another organization', { org_id: OTHER }],
    ['a user without organization', { org_id: null }],
    ['a machine of another organization', machine(OTHER)],
    ['a user of a listed organization without the required scope', { scope: 'openid' }],
  ])('answers %s 403 with the static body and a challenge that invites no step-up', async (_case, claims) => {
    const response = await postMcp(stack, await token(claims));

    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(challenge);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      error: 'access_denied',
      error_description: `The access token lacks the scopes this server requires: ${REQUIRED_SCOPE}, or the caller does not belong to an organization this server serves.`,
    });
  });

  it('caches the refusal like any decision: the same token again does not invoke the authorizer', async () => {
    // Prepare
    const foreign = await token({ org_id: OTHER });
    const before = authorizerInvocations(stack.gateway.stats());

    // Act
    const statuses = [(await postMcp(stack, foreign)).status, (await postMcp(stack, foreign)).status];

    // Assess
    expect(statuses).toEqual([403, 403]);
    expect(authorizerInvocations(stack.gateway.stats()) - before).toBe(1);
  });

  it('logs each organization refusal with its readable reason, and never a token', () => {
    const refusals = authorizerOutput
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      })
      .filter((entry) => entry.reason === 'wrong_organization');

    // Another organization (user, machine, cached case once) and no organization.
    expect(refusals).toHaveLength(4);
    expect(refusals.map((entry) => entry.detail)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`"${OTHER}" is not one this server serves`),
        expect.stringContaining('Token has no org_id'),
      ]),
    );
    const everything = authorizerOutput.join('\n');
    for (const minted of tokens) expect(everything).not.toContain(minted.split('.')[2]);
  });
});
