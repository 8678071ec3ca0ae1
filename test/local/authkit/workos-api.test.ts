/**
 * The stand-in serves the WorkOS API the runtime calls: a signed-in dev user's token names the dev
 * organization, and the WorkOS SDK, pointed at the stand-in, resolves the user's role there; the
 * `/__test/workos/*` controls change it and break the API.
 */
import { decodeJwt } from 'jose';
import { Logger } from '@aws-lambda-powertools/logger';
import { WorkOS } from '@workos-inc/node';
import { authorizeHeadlessly, DEV_USER, startAuthKitStandIn, type AuthKitStandIn } from '../../../local/authkit/launch';
import { DEV_MEMBER_ORGANIZATION_ID, DEV_ROLES } from '../../../local/authkit/workos-api';
import { workOSTestControls, type WorkOSTestControls } from '../../../local/authkit/workos-controls';
import { createRoleResolver } from '../../../lambda/runtime/workos-access';
import { fixedWorkOSApiKey } from '../../../lambda/runtime/workos-api-key';
import { RESOURCE, authorizationUrl, exchangeCode, pkcePair, registeredClientId } from './oauth-client';

describe('AuthKit stand-in: the WorkOS API', () => {
  let standIn: AuthKitStandIn;
  let controls: WorkOSTestControls;

  beforeAll(async () => {
    standIn = await startAuthKitStandIn({ port: 0, autoApprove: true, testControls: true });
    controls = workOSTestControls(standIn.issuer);
  });

  afterEach(async () => {
    await controls.setMode('normal');
    await controls.setMembershipRoles(DEV_USER.orgId, ['admin']);
  });

  afterAll(async () => {
    await standIn?.stop();
  });

  function sdk(apiKey = standIn.workosApiKey): WorkOS {
    const url = new URL(standIn.workosApiBaseUrl);
    return new WorkOS(apiKey, { apiHostname: url.hostname, https: false, port: Number(url.port), maxRetries: 0 });
  }

  function resolver() {
    return createRoleResolver({
      apiKey: fixedWorkOSApiKey(standIn.workosApiKey),
      baseUrl: standIn.workosApiBaseUrl,
      ttlMs: 0,
      logger: new Logger({ logLevel: 'SILENT' }),
      env: {},
    });
  }

  it('resolves the role of a signed-in dev user in the organization the token names', async () => {
    const clientId = await registeredClientId(standIn.issuer);
    const pkce = pkcePair();
    const callback = await authorizeHeadlessly(
      authorizationUrl(standIn.issuer, { client_id: clientId, code_challenge: pkce.challenge }),
    );
    const { body } = await exchangeCode(standIn.issuer, {
      clientId,
      callback,
      verifier: pkce.verifier,
      resource: RESOURCE,
    });
    const claims = decodeJwt(String(body.access_token));

    const resolution = await resolver().resolve(String(claims.sub), String(claims.org_id));

    expect(claims.org_id).toBe(DEV_USER.orgId);
    expect(resolution).toEqual({ access: { roles: ['admin'], permissions: [...DEV_ROLES.admin] }, source: 'workos' });
  });

  it("answers WorkOS's shapes to the SDK: memberships with role slugs, roles with permissions", async () => {
    const memberships = await sdk().userManagement.listOrganizationMemberships({ userId: DEV_USER.sub });
    const roles = await sdk().authorization.listOrganizationRoles(DEV_MEMBER_ORGANIZATION_ID);

    expect(
      memberships.data.map((m) => ({ org: m.organizationId, role: m.role.slug, roles: m.roles, status: m.status })),
    ).toEqual(
      expect.arrayContaining([
        { org: DEV_USER.orgId, role: 'admin', roles: [{ slug: 'admin' }], status: 'active' },
        { org: DEV_MEMBER_ORGANIZATION_ID, role: 'member', roles: [{ slug: 'member' }], status: 'active' },
      ]),
    );
    expect(memberships.object).toBe('list');
    expect(roles.data.map((role) => [role.slug, role.permissions])).toEqual(Object.entries(DEV_ROLES));
  });

  it('answers 401 to a wrong API key, as WorkOS does', async () => {
    await expect(
      sdk('sk_test_wrong').userManagement.listOrganizationMemberships({ userId: DEV_USER.sub }),
    ).rejects.toMatchObject({
      status: 401,
      name: 'UnauthorizedException',
    });
  });

  it("changes a membership's role through the test controls", async () => {
    await controls.setMembershipRoles(DEV_USER.orgId, ['member']);

    const resolution = await resolver().resolve(DEV_USER.sub, DEV_USER.orgId);

    expect(resolution).toEqual({ access: { roles: ['member'], permissions: [...DEV_ROLES.member] }, source: 'workos' });
  });

  it('fails the WorkOS API through the test controls, and counts its requests', async () => {
    const before = await controls.requestCounts();
    await controls.setMode('error');

    const resolution = await resolver().resolve(DEV_USER.sub, DEV_USER.orgId);
    const after = await controls.requestCounts();

    expect(resolution).toMatchObject({ refusal: { code: 'WORKOS_UNAVAILABLE', retryable: true } });
    expect(after).toEqual({ memberships: before.memberships + 1, roles: before.roles + 1 });
  });

  it('refuses a role the stand-in does not define', async () => {
    await expect(controls.setMembershipRoles(DEV_USER.orgId, ['owner'])).rejects.toThrow(
      /HTTP 400: unknown role owner/,
    );
  });
});
