/**
 * The part of the WorkOS REST API that the MCP runtime calls through `@workos-inc/node` to learn a
 * person's roles and permissions in an organization, served locally so that `npm run dev` and the
 * tests run the real SDK against it:
 *
 * - `GET /user_management/organization_memberships?user_id=&organization_id=&statuses=` answers a
 *   list of organization memberships, each with `role: { slug }` and `roles: [{ slug }]`; only
 *   `active` ones unless `statuses` says otherwise
 *   (https://workos.com/docs/reference/authkit/organization-membership).
 * - `GET /authorization/organizations/:organizationId/roles` answers the roles that apply to the
 *   organization, each with its `slug` and `permissions` (https://workos.com/docs/reference/roles).
 *
 * Both answer WorkOS's list envelope (`{ object: 'list', data, list_metadata }`) and require
 * `Authorization: Bearer <api key>`; a missing or wrong key gets 401, as WorkOS answers it
 * (https://workos.com/docs/reference/api-authentication). Plain CommonJS-compatible TypeScript, so
 * the stand-in (ESM, under tsx) mounts it and jest starts it on its own.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEV_USER, JWKS_MODES, type JwksMode } from './contract';

/** How the WorkOS API answers: as the JWKS can, normally, 500, a dropped connection or late. */
export type WorkOSApiMode = JwksMode;
export const WORKOS_API_MODES: readonly WorkOSApiMode[] = JWKS_MODES;

/** The second organization the dev user belongs to, with the `member` role. */
export const DEV_MEMBER_ORGANIZATION_ID = 'org_01DEVMEMBERORG0000000000000';

/** The roles of every organization (WorkOS environment roles) and what each grants. */
export const DEV_ROLES: Readonly<Record<string, readonly string[]>> = {
  admin: ['mcp:config:read', 'mcp:config:write', 'reports:read'],
  member: ['reports:read'],
};

export interface DevOrganization {
  readonly id: string;
  readonly name: string;
  /** The dev user's role slugs there. */
  readonly devUserRoles: readonly string[];
}

/** The dev user's organizations: `admin` in the one its tokens name, `member` in a second. */
export const DEV_ORGANIZATIONS: readonly DevOrganization[] = [
  { id: DEV_USER.orgId, name: 'Dev Organization', devUserRoles: ['admin'] },
  { id: DEV_MEMBER_ORGANIZATION_ID, name: 'Dev Member Organization', devUserRoles: ['member'] },
];

export const MEMBERSHIPS_PATH = '/user_management/organization_memberships';
const ROLES_PATH = /^\/authorization\/organizations\/([^/]+)\/roles$/;
const DEFAULT_SLOW_DELAY_MS = 10_000;
const SEEDED_AT = '2026-01-01T00:00:00.000Z';

type MembershipStatus = 'active' | 'inactive' | 'pending';

interface Membership {
  readonly id: string;
  readonly userId: string;
  readonly organizationId: string;
  roles: readonly string[];
  status: MembershipStatus;
  updatedAt: string;
}

/** A WorkOS-shaped API key for local use: `sk_test_` and 32 random bytes. */
export function generateWorkOSApiKey(): string {
  return `sk_test_${randomBytes(32).toString('base64url')}`;
}

/** Requests the API has received, by endpoint (failed and refused ones included). */
export interface WorkOSApiRequestCounts {
  readonly memberships: number;
  readonly roles: number;
}

export class LocalWorkOSApi {
  readonly apiKey: string;
  mode: WorkOSApiMode = 'normal';
  delayMs = DEFAULT_SLOW_DELAY_MS;
  readonly #memberships: Membership[] = [];
  readonly #counts = { memberships: 0, roles: 0 };

  constructor(options: { readonly apiKey?: string } = {}) {
    this.apiKey = options.apiKey ?? generateWorkOSApiKey();
    DEV_ORGANIZATIONS.forEach((organization, index) => {
      this.#memberships.push({
        id: `om_01DEVMEMBERSHIP${String(index).padStart(10, '0')}`,
        userId: DEV_USER.sub,
        organizationId: organization.id,
        roles: organization.devUserRoles,
        status: 'active',
        updatedAt: SEEDED_AT,
      });
    });
  }

  get requestCounts(): WorkOSApiRequestCounts {
    return { ...this.#counts };
  }

  /** Whether `path` (without query) belongs to this API. */
  serves(path: string): boolean {
    return path === MEMBERSHIPS_PATH || ROLES_PATH.test(path);
  }

  /**
   * Gives the user these roles in the organization (creating an active membership if there was
   * none), or takes the membership away with an empty list. Unknown role slugs are refused.
   */
  setMembershipRoles(userId: string, organizationId: string, roles: readonly string[]): void {
    const unknown = roles.filter((role) => !(role in DEV_ROLES));
    if (unknown.length > 0)
      throw new Error(`unknown role ${unknown.join(', ')}: use ${Object.keys(DEV_ROLES).join(', ')}`);
    const index = this.#memberships.findIndex((m) => m.userId === userId && m.organizationId === organizationId);
    const updatedAt = new Date().toISOString();
    if (roles.length === 0) {
      if (index >= 0) this.#memberships.splice(index, 1);
      return;
    }
    if (index >= 0) {
      Object.assign(this.#memberships[index], { roles: [...roles], status: 'active', updatedAt });
      return;
    }
    const id = `om_01LOCAL${randomBytes(9).toString('hex').toUpperCase()}`;
    this.#memberships.push({ id, userId, organizationId, roles: [...roles], status: 'active', updatedAt });
  }

  /** Answers a request whose path {@link serves} accepts. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const roles = ROLES_PATH.exec(url.pathname);
    if (roles) this.#counts.roles += 1;
    else this.#counts.memberships += 1;
    void this.#answer(req, res, () => {
      if (req.method !== 'GET') return send(res, 405, { message: `${req.method} is not served here` });
      if (!this.#authorized(req)) return send(res, 401, { message: 'Unauthorized' });
      if (roles) return this.#listRoles(res, decodeURIComponent(roles[1]));
      return this.#listMemberships(res, url.searchParams);
    });
  }

  async #answer(req: IncomingMessage, res: ServerResponse, answer: () => void): Promise<void> {
    switch (this.mode) {
      case 'error':
        return send(res, 500, { message: 'WorkOS API failure switched on by test controls' });
      case 'down':
        req.socket.destroy();
        return;
      case 'slow':
        await waitUnlessClosed(res, this.delayMs);
        if (!res.destroyed && !res.writableEnded) answer();
        return;
      case 'normal':
        return answer();
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const given = Buffer.from(match[1]);
    const expected = Buffer.from(this.apiKey);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #listMemberships(res: ServerResponse, query: URLSearchParams): void {
    const userId = query.get('user_id');
    const organizationId = query.get('organization_id');
    if (!userId && !organizationId) {
      send(res, 422, {
        code: 'invalid_request_parameters',
        message: 'At least one of user_id or organization_id must be provided.',
      });
      return;
    }
    const statuses = (query.get('statuses') ?? 'active').split(',');
    const data = this.#memberships
      .filter((m) => (!userId || m.userId === userId) && (!organizationId || m.organizationId === organizationId))
      .filter((m) => statuses.includes(m.status))
      .map(membershipResponse);
    send(res, 200, { object: 'list', data, list_metadata: { before: null, after: null } });
  }

  #listRoles(res: ServerResponse, organizationId: string): void {
    if (!DEV_ORGANIZATIONS.some((organization) => organization.id === organizationId)) {
      send(res, 404, { code: 'entity_not_found', message: `Organization not found: '${organizationId}'.` });
      return;
    }
    const data = Object.entries(DEV_ROLES).map(([slug, permissions]) => ({
      object: 'role',
      id: `role_01DEV${slug.toUpperCase().padEnd(21, '0')}`,
      name: slug[0].toUpperCase() + slug.slice(1),
      slug,
      description: null,
      permissions: [...permissions],
      resource_type_slug: 'organization',
      type: 'EnvironmentRole',
      created_at: SEEDED_AT,
      updated_at: SEEDED_AT,
    }));
    send(res, 200, { object: 'list', data });
  }
}

function membershipResponse(membership: Membership) {
  const organization = DEV_ORGANIZATIONS.find((o) => o.id === membership.organizationId);
  return {
    object: 'organization_membership',
    id: membership.id,
    user_id: membership.userId,
    organization_id: membership.organizationId,
    ...(organization ? { organization_name: organization.name } : {}),
    status: membership.status,
    role: { slug: membership.roles[0] },
    roles: membership.roles.map((slug) => ({ slug })),
    directory_managed: false,
    custom_attributes: {},
    created_at: SEEDED_AT,
    updated_at: membership.updatedAt,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-request-id': `req_local_${randomBytes(8).toString('hex')}`,
  });
  res.end(JSON.stringify(body));
}

function waitUnlessClosed(res: ServerResponse, delayMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, delayMs);
    res.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
