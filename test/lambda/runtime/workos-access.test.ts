/**
 * Roles and permissions from WorkOS: the resolver with the real WorkOS SDK against the AuthKit
 * stand-in's WorkOS API on loopback, its state changed through the stand-in's test controls.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { WorkOS } from '@workos-inc/node';
import fc from 'fast-check';
import { DEV_USER } from '../../../local/authkit/contract';
import { DEV_MEMBER_ORGANIZATION_ID, DEV_ROLES } from '../../../local/authkit/workos-api';
import {
  accessOf,
  createRoleResolver,
  type AccessResolution,
  type RoleResolverOptions,
} from '../../../lambda/runtime/workos-access';
import { fixedWorkOSApiKey } from '../../../lambda/runtime/workos-api-key';
import { startWorkOSApiServer, type WorkOSApiServer } from '../../../fixtures/workos-api-server';
import { captureLogs } from './fixtures';

const ORG = DEV_USER.orgId;
const ADMIN = { roles: ['admin'], permissions: [...DEV_ROLES.admin] };
const MEMBER = { roles: ['member'], permissions: [...DEV_ROLES.member] };

let workos: WorkOSApiServer;
let logs: ReturnType<typeof captureLogs>;

beforeEach(async () => {
  workos = await startWorkOSApiServer();
  logs = captureLogs();
});

afterEach(async () => {
  logs.restore();
  await workos.close();
});

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let time = start;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}

function resolverFor(options: RoleResolverOptions = {}) {
  return createRoleResolver({
    apiKey: fixedWorkOSApiKey(workos.apiKey),
    baseUrl: workos.baseUrl,
    logger: new Logger({ serviceName: 'workos-access-test', logLevel: 'INFO' }),
    env: {},
    ...options,
  });
}

function accessIn(resolution: AccessResolution) {
  if ('refusal' in resolution) throw new Error(`refused: ${resolution.refusal.reason}`);
  return resolution;
}

function refusalIn(resolution: AccessResolution) {
  if (!('refusal' in resolution)) throw new Error(`not refused: ${JSON.stringify(resolution)}`);
  return resolution.refusal;
}

async function totalRequests(): Promise<number> {
  const counts = await workos.controls.requestCounts();
  return counts.memberships + counts.roles;
}

describe('createRoleResolver against the WorkOS API', () => {
  it("gives the dev user's roles and their permissions in each organization", async () => {
    const resolver = resolverFor();

    const admin = accessIn(await resolver.resolve(DEV_USER.sub, ORG));
    const member = accessIn(await resolver.resolve(DEV_USER.sub, DEV_MEMBER_ORGANIZATION_ID));

    expect(admin).toEqual({ access: ADMIN, source: 'workos' });
    expect(member).toEqual({ access: MEMBER, source: 'workos' });
  });

  it('gives no roles and no permissions to a person without a membership there, without an error', async () => {
    await workos.controls.setMembershipRoles(ORG, []);

    const resolution = await resolverFor().resolve(DEV_USER.sub, ORG);

    expect(resolution).toEqual({ access: { roles: [], permissions: [] }, source: 'workos' });
  });

  it('serves a role change only once the TTL has passed', async () => {
    const clock = manualClock();
    const resolver = resolverFor({ ttlMs: 60_000, now: clock.now });
    await resolver.resolve(DEV_USER.sub, ORG);

    await workos.controls.setMembershipRoles(ORG, ['member']);
    clock.advance(59_999);
    const withinTtl = await resolver.resolve(DEV_USER.sub, ORG);
    clock.advance(1);
    const afterTtl = await resolver.resolve(DEV_USER.sub, ORG);

    expect(withinTtl).toEqual({ access: ADMIN, source: 'cache' });
    expect(afterTtl).toEqual({ access: MEMBER, source: 'workos' });
    expect(await workos.controls.requestCounts()).toEqual({ memberships: 2, roles: 2 });
  });

  it('answers from its cache without waiting only while the answer is fresh, and never asks WorkOS for it', async () => {
    const clock = manualClock();
    const resolver = resolverFor({ ttlMs: 60_000, now: clock.now });
    const before = resolver.cached?.(DEV_USER.sub, ORG);
    await resolver.resolve(DEV_USER.sub, ORG);

    const fresh = resolver.cached?.(DEV_USER.sub, ORG);
    clock.advance(60_000);
    const expired = resolver.cached?.(DEV_USER.sub, ORG);

    expect(before).toBeUndefined();
    expect(fresh).toEqual({ access: ADMIN, source: 'cache' });
    expect(expired).toBeUndefined();
    expect(resolver.cached?.('client_01MACHINE', ORG)).toBeUndefined();
    expect(await workos.controls.requestCounts()).toEqual({ memberships: 1, roles: 1 });
  });

  it('makes one call per endpoint for concurrent lookups of one person and organization', async () => {
    const resolver = resolverFor();

    const resolutions = await Promise.all(Array.from({ length: 8 }, () => resolver.resolve(DEV_USER.sub, ORG)));

    expect(resolutions.map((resolution) => accessIn(resolution).access)).toEqual(Array(8).fill(ADMIN));
    expect(await workos.controls.requestCounts()).toEqual({ memberships: 1, roles: 1 });
  });

  it('keeps at most maxEntries answers, dropping the oldest', async () => {
    const resolver = resolverFor({ maxEntries: 1 });

    await resolver.resolve(DEV_USER.sub, ORG);
    await resolver.resolve(DEV_USER.sub, DEV_MEMBER_ORGANIZATION_ID);
    const second = await resolver.resolve(DEV_USER.sub, DEV_MEMBER_ORGANIZATION_ID);
    const first = await resolver.resolve(DEV_USER.sub, ORG);

    expect([accessIn(second).source, accessIn(first).source]).toEqual(['cache', 'workos']);
  });

  it('serves the last answer while WorkOS fails, within the stale bound, and logs why', async () => {
    const clock = manualClock();
    const resolver = resolverFor({ ttlMs: 1_000, staleIfErrorMs: 60_000, now: clock.now });
    await resolver.resolve(DEV_USER.sub, ORG);
    await workos.controls.setMode('error');

    clock.advance(59_999);
    const stale = await resolver.resolve(DEV_USER.sub, ORG);
    clock.advance(1);
    const tooOld = await resolver.resolve(DEV_USER.sub, ORG);

    expect(stale).toEqual({ access: ADMIN, source: 'stale' });
    expect(refusalIn(tooOld)).toMatchObject({ code: 'WORKOS_UNAVAILABLE', retryable: true });
    const warnings = logs.lines().filter((line) => line.message === 'WorkOS roles lookup failed');
    expect(warnings.map((line) => line.servedStale)).toEqual([true, false]);
    expect(warnings[0].reason).toMatch(/HTTP 500/);
  });

  it.each([
    ['answers 500', 'error', /HTTP 500/],
    ['drops the connection', 'down', /fetch failed|socket|other side closed/i],
  ] as const)('refuses, retryably, when WorkOS %s and nothing is cached', async (_case, mode, why) => {
    await workos.controls.setMode(mode);

    const refusal = refusalIn(await resolverFor().resolve(DEV_USER.sub, ORG));

    expect(refusal).toMatchObject({ code: 'WORKOS_UNAVAILABLE', retryable: true });
    expect(refusal.reason).toMatch(why);
    const [warning] = logs.lines().filter((line) => line.message === 'WorkOS roles lookup failed');
    expect(warning).toMatchObject({ code: 'WORKOS_UNAVAILABLE', userId: DEV_USER.sub, organizationId: ORG });
    expect(warning.reason).toBe(refusal.reason);
  });

  it('refuses when WorkOS answers after the bound, and does not cache the late answer', async () => {
    const clock = manualClock();
    // The SDK's own timeout is lengthened so that its answer does arrive, after the resolver's bound.
    const resolver = resolverFor({
      timeoutMs: 100,
      staleIfErrorMs: 3_600_000,
      now: clock.now,
      clientFactory: (key, options) => new WorkOS(key, { ...options, timeout: 10_000 }),
    });
    await workos.controls.setMode('slow', { delayMs: 400 });

    const late = await resolver.resolve(DEV_USER.sub, ORG);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await workos.controls.setMode('error');
    const afterTheLateAnswer = await resolver.resolve(DEV_USER.sub, ORG);

    expect(refusalIn(late).reason).toMatch(/did not answer within 100 ms/);
    expect(refusalIn(afterTheLateAnswer).reason).toMatch(/HTTP 500/);
  });

  it('refuses when no API key is configured, naming the setting, without calling WorkOS', async () => {
    const refusal = refusalIn(await resolverFor({ apiKey: fixedWorkOSApiKey(undefined) }).resolve(DEV_USER.sub, ORG));

    expect(refusal).toMatchObject({ code: 'WORKOS_NOT_CONFIGURED', retryable: false });
    expect(refusal.reason).toMatch(/workosApiKeySecret/);
    expect(refusal.reason).toMatch(/WORKOS_API_KEY_SECRET_ARN/);
    expect(await totalRequests()).toBe(0);
  });

  it('reads no key from an environment without WORKOS_API_KEY_SECRET_ARN', async () => {
    const refusal = refusalIn(await resolverFor({ apiKey: undefined }).resolve(DEV_USER.sub, ORG));

    expect(refusal.code).toBe('WORKOS_NOT_CONFIGURED');
  });

  it('refuses a key WorkOS does not accept, and never logs the key', async () => {
    const wrongKey = `sk_test_${'x'.repeat(43)}`;

    const refusal = refusalIn(await resolverFor({ apiKey: fixedWorkOSApiKey(wrongKey) }).resolve(DEV_USER.sub, ORG));

    expect(refusal).toMatchObject({ code: 'WORKOS_UNAVAILABLE' });
    expect(refusal.reason).toMatch(/refused the API key \(HTTP 401\)/);
    expect(logs.raw()).toContain('refused the API key');
    expect(logs.raw()).not.toContain(wrongKey);
    expect(logs.raw()).not.toContain(workos.apiKey);
  });

  it('forgets a refused key so that a rotated one is read on the next lookup', async () => {
    const keys = ['sk_test_rotated_away', workos.apiKey];
    let reads = 0;
    const resolver = resolverFor({
      apiKey: {
        read: async () => keys[Math.min(reads, 1)],
        forget() {
          reads += 1;
        },
      },
    });

    const first = await resolver.resolve(DEV_USER.sub, ORG);
    const second = await resolver.resolve(DEV_USER.sub, ORG);

    expect(refusalIn(first).reason).toMatch(/HTTP 401/);
    expect(second).toEqual({ access: ADMIN, source: 'workos' });
  });

  it.each(['client_01DEVM2MAPPLICATION000000', 'app_123', ''])(
    'never asks WorkOS about %j, which is not a person',
    async (sub) => {
      const refusal = refusalIn(await resolverFor().resolve(sub, ORG));

      expect(refusal).toMatchObject({ code: 'NOT_A_PERSON', retryable: false });
      expect(await totalRequests()).toBe(0);
    },
  );

  it('refuses a malformed PERMISSIONS_CACHE_TTL_MS at creation', () => {
    expect(() => createRoleResolver({ env: { PERMISSIONS_CACHE_TTL_MS: '1m' } })).toThrow(/PERMISSIONS_CACHE_TTL_MS/);
  });
});

describe('accessOf', () => {
  const slug = fc.stringMatching(/^[a-z]{1,6}$/);
  const permission = fc.stringMatching(/^[a-z]{1,4}:[a-z]{1,4}$/);
  const roles = fc.uniqueArray(fc.record({ slug, permissions: fc.array(permission, { maxLength: 4 }) }), {
    selector: (role) => role.slug,
    maxLength: 5,
  });

  it('grants exactly the permissions of the held roles that the organization defines, each once', () => {
    fc.assert(
      fc.property(roles, fc.array(slug, { maxLength: 4 }), (organizationRoles, held) => {
        const access = accessOf(held, organizationRoles);

        const expected = new Set(
          organizationRoles.filter((role) => held.includes(role.slug)).flatMap((role) => role.permissions),
        );
        expect(new Set(access.permissions)).toEqual(expected);
        expect(access.permissions).toHaveLength(expected.size);
        expect(access.roles).toEqual([...new Set(held)]);
      }),
    );
  });
});
