/**
 * A person's roles and permissions in an organization, from WorkOS.
 *
 * AuthKit's access tokens for MCP (Connect tokens) carry `sub` and `org_id` but not the role;
 * WorkOS documents resolving it through its API
 * (https://workos.com/docs/authkit/connect/token-claims). Two calls of the official SDK, made
 * together:
 *
 * - `userManagement.listOrganizationMemberships({ userId, organizationId, statuses: ['active'] })`
 *   → `GET /user_management/organization_memberships`: the membership's `roles[].slug` (or its one
 *   `role.slug`); no active membership means no roles and no permissions
 *   (https://workos.com/docs/reference/authkit/organization-membership).
 * - `authorization.listOrganizationRoles(organizationId)` →
 *   `GET /authorization/organizations/:id/roles`: every role that applies to the organization
 *   (environment and custom roles) with its `slug` and `permissions`
 *   (https://workos.com/docs/reference/roles).
 *
 * The permissions are the union of those of the membership's roles. Answers are kept per container
 * for each (user, organization) for `ttlMs`; concurrent lookups of one pair share one call; each
 * lookup is bounded by `timeoutMs` (the SDK's own timeout aborts the fetch, with its retries off,
 * since its back-off alone would outlast the bound), and an answer that comes after the bound is
 * dropped, never cached. When WorkOS fails, an answer younger than `staleIfErrorMs` is served;
 * otherwise the lookup is refused (fail closed), with the reason logged. Machines (M2M tokens, whose
 * `sub` is a client id) never reach WorkOS.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { WorkOS, type WorkOSOptions } from '@workos-inc/node';
import { MCP_SETTINGS, PERMISSIONS_CACHE_TTL_MS, WORKOS_API_BASE_URL } from '../shared/settings/mcp';
import { type Env, readSetting, type Setting, type SettingProblem } from '../shared/settings/setting';
import { RuntimeConfigError } from './errors';
import { type WorkOSApiKeySource, WorkOSApiKeyError, workosApiKeyFromEnvironment } from './workos-api-key';

/** What a person may do in an organization. */
export interface CallerAccess {
  /** Role slugs of the person's active membership, in WorkOS's order; empty without one. */
  readonly roles: readonly string[];
  /** Permission slugs granted by those roles, each once. */
  readonly permissions: readonly string[];
}

/**
 * Why no access could be resolved. `WORKOS_NOT_CONFIGURED`: no API key is configured.
 * `WORKOS_UNAVAILABLE`: WorkOS failed, was too slow or refused the key, and nothing recent enough
 * was cached. `NOT_A_PERSON`: the id is not a WorkOS user id (a machine's client id).
 * `NO_ORGANIZATION`: the token names no organization, so there is no membership to read.
 */
export type AccessRefusalCode = 'WORKOS_NOT_CONFIGURED' | 'WORKOS_UNAVAILABLE' | 'NOT_A_PERSON' | 'NO_ORGANIZATION';

export interface AccessRefusal {
  readonly code: AccessRefusalCode;
  /** Whether the same lookup may succeed later without a change of configuration. */
  readonly retryable: boolean;
  /** One sentence a person can act on; never holds the API key. */
  readonly reason: string;
}

/** Where an answer came from: WorkOS just now, the cache within its TTL, or a stale copy while WorkOS fails. */
export type AccessSource = 'workos' | 'cache' | 'stale';

export type AccessResolution =
  | { readonly access: CallerAccess; readonly source: AccessSource }
  | { readonly refusal: AccessRefusal };

export interface RoleResolver {
  /** The roles and permissions of `userId` (a token's `sub`) in `organizationId` (its `org_id`). */
  resolve(userId: string, organizationId: string): Promise<AccessResolution>;
  /**
   * What `resolve` would answer from its cache, without waiting: a fresh cached answer, else
   * undefined. Lets a warm call's policy check decide without a promise.
   */
  cached?(userId: string, organizationId: string): AccessResolution | undefined;
}

/** The SDK calls the resolver makes; a `WorkOS` instance is one. */
export type WorkOSClient = Pick<WorkOS, 'userManagement' | 'authorization'>;

export interface RoleResolverOptions {
  /** The WorkOS API key. @default - read from the secret named by `WORKOS_API_KEY_SECRET_ARN` */
  readonly apiKey?: WorkOSApiKeySource;
  /** WorkOS API base URL. @default - `WORKOS_API_BASE_URL`, else https://api.workos.com */
  readonly baseUrl?: string;
  /** How long an answer is served without asking again. @default - `PERMISSIONS_CACHE_TTL_MS`, else 60000 */
  readonly ttlMs?: number;
  /** Longest wait for WorkOS (key read and both calls). @default 3000 */
  readonly timeoutMs?: number;
  /** How old an answer may be and still be served while WorkOS fails. @default 300000 */
  readonly staleIfErrorMs?: number;
  /** Most (user, organization) answers kept; the oldest go first. @default 10000 */
  readonly maxEntries?: number;
  /** Builds the SDK client for a key. @default - `new WorkOS(key, options)` */
  readonly clientFactory?: (apiKey: string, options: WorkOSOptions) => WorkOSClient;
  /** @default Date.now */
  readonly now?: () => number;
  /** Receives one warning per failed lookup. @default - a new Powertools Logger */
  readonly logger?: Pick<Logger, 'warn'>;
  /** Where the defaults above are read from. @default process.env */
  readonly env?: Env;
}

export const DEFAULT_WORKOS_TIMEOUT_MS = 3_000;
export const DEFAULT_STALE_IF_ERROR_MS = 5 * 60_000;
const DEFAULT_MAX_ENTRIES = 10_000;

const NOT_CONFIGURED: AccessRefusal = {
  code: 'WORKOS_NOT_CONFIGURED',
  retryable: false,
  reason: `no WorkOS API key is configured, so roles and permissions cannot be resolved: give the construct a workosApiKeySecret (the function reads it through ${MCP_SETTINGS.workosApiKeySecretArn.variable}).`,
};

/**
 * The permissions of the membership's roles. `roleSlugs` come from the membership, `organizationRoles`
 * from the organization's role list; a slug the list does not hold grants nothing.
 */
export function accessOf(
  roleSlugs: readonly string[],
  organizationRoles: readonly { readonly slug: string; readonly permissions: readonly string[] }[],
): CallerAccess {
  const roles = [...new Set(roleSlugs)];
  const permissions = new Set<string>();
  for (const slug of roles) {
    for (const permission of organizationRoles.find((role) => role.slug === slug)?.permissions ?? []) {
      permissions.add(permission);
    }
  }
  return { roles, permissions: [...permissions] };
}

/** WorkOS user ids start with `user_`; an M2M token's `sub` is the application's client id. */
function isWorkOSUserId(id: string): boolean {
  return id.startsWith('user_');
}

type Lookup = { readonly access: CallerAccess } | { readonly failure: AccessRefusal };

interface Entry {
  readonly access: CallerAccess;
  /** When the lookup that produced it started. */
  readonly askedAt: number;
}

export function createRoleResolver(options: RoleResolverOptions = {}): RoleResolver {
  const env = options.env ?? process.env;
  const ttlMs =
    options.ttlMs ?? readEnvSetting(MCP_SETTINGS.permissionsCacheTtlMs, env) ?? PERMISSIONS_CACHE_TTL_MS.fallback;
  const staleIfErrorMs = Math.max(options.staleIfErrorMs ?? DEFAULT_STALE_IF_ERROR_MS, ttlMs);
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? new Logger();
  const lookUp = createWorkOSLookup(options, env);
  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<AccessResolution>>();

  const remember = (key: string, entry: Entry) => {
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  };

  const ask = async (key: string, userId: string, organizationId: string): Promise<AccessResolution> => {
    const askedAt = now();
    const lookup = await lookUp(userId, organizationId);
    if ('access' in lookup) {
      remember(key, { access: lookup.access, askedAt });
      return { access: lookup.access, source: 'workos' };
    }
    const stale = cache.get(key);
    const servedStale = stale !== undefined && now() - stale.askedAt < staleIfErrorMs;
    logger.warn('WorkOS roles lookup failed', {
      code: lookup.failure.code,
      reason: lookup.failure.reason,
      userId,
      organizationId,
      servedStale,
      ...(servedStale ? { staleForMs: now() - stale.askedAt } : {}),
    });
    return servedStale ? { access: stale.access, source: 'stale' } : { refusal: lookup.failure };
  };

  const fresh = (key: string): Entry | undefined => {
    const entry = cache.get(key);
    return entry !== undefined && now() - entry.askedAt < ttlMs ? entry : undefined;
  };

  return {
    cached(userId, organizationId) {
      if (!isWorkOSUserId(userId)) return undefined;
      const entry = fresh(JSON.stringify([userId, organizationId]));
      return entry === undefined ? undefined : { access: entry.access, source: 'cache' };
    },
    resolve(userId, organizationId) {
      if (!isWorkOSUserId(userId)) {
        return Promise.resolve({
          refusal: {
            code: 'NOT_A_PERSON',
            retryable: false,
            reason: `"${userId.slice(0, 64)}" is not a WorkOS user id: only people have organization roles (a machine's token names its client).`,
          },
        });
      }
      const key = JSON.stringify([userId, organizationId]);
      const cached = fresh(key);
      if (cached !== undefined) return Promise.resolve({ access: cached.access, source: 'cache' });
      let pending = inFlight.get(key);
      if (pending === undefined) {
        const asking = ask(key, userId, organizationId).finally(() => {
          if (inFlight.get(key) === asking) inFlight.delete(key);
        });
        pending = asking;
        inFlight.set(key, asking);
      }
      return pending;
    },
  };
}

/** One bounded lookup at WorkOS: the key, then both calls; never rejects. */
function createWorkOSLookup(
  options: RoleResolverOptions,
  env: Env,
): (userId: string, organizationId: string) => Promise<Lookup> {
  const keySource = options.apiKey ?? workosApiKeyFromEnvironment(env);
  const timeoutMs = options.timeoutMs ?? DEFAULT_WORKOS_TIMEOUT_MS;
  const clientOptions = sdkOptions(
    options.baseUrl ?? readEnvSetting(MCP_SETTINGS.workosApiBaseUrl, env) ?? WORKOS_API_BASE_URL,
    timeoutMs,
  );
  const factory = options.clientFactory ?? ((apiKey, sdk) => new WorkOS(apiKey, sdk));
  let client: { readonly apiKey: string; readonly sdk: WorkOSClient } | undefined;

  const clientFor = (apiKey: string): WorkOSClient => {
    if (client?.apiKey !== apiKey) client = { apiKey, sdk: factory(apiKey, { ...clientOptions }) };
    return client.sdk;
  };

  const attempt = async (userId: string, organizationId: string): Promise<Lookup> => {
    const apiKey = await keySource.read();
    if (apiKey === undefined) return { failure: NOT_CONFIGURED };
    const sdk = clientFor(apiKey);
    const roles = sdk.authorization.listOrganizationRoles(organizationId);
    // Read only when there is a membership; a non-member's failed role list must not go unhandled.
    roles.catch(() => undefined);
    const memberships = await sdk.userManagement.listOrganizationMemberships({
      userId,
      organizationId,
      statuses: ['active'],
    });
    const membership = memberships.data.find(
      (m) => m.userId === userId && m.organizationId === organizationId && m.status === 'active',
    );
    if (membership === undefined) return { access: { roles: [], permissions: [] } };
    const slugs = membership.roles?.map((role) => role.slug) ?? [membership.role.slug];
    return { access: accessOf(slugs, (await roles).data) };
  };

  return async (userId, organizationId) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Lookup>((resolve) => {
      timer = setTimeout(
        () => resolve({ failure: unavailable(`WorkOS did not answer within ${timeoutMs} ms`) }),
        timeoutMs,
      );
    });
    const answer = attempt(userId, organizationId).catch((error: unknown): Lookup => {
      if (isUnauthorized(error)) keySource.forget?.();
      return { failure: unavailable(describeFailure(error)) };
    });
    try {
      return await Promise.race([answer, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

function unavailable(what: string): AccessRefusal {
  return {
    code: 'WORKOS_UNAVAILABLE',
    retryable: true,
    reason: `roles and permissions could not be resolved: ${what}; try again shortly.`,
  };
}

function isUnauthorized(error: unknown): boolean {
  return (error as { status?: unknown } | null)?.status === 401;
}

/** What went wrong, from the SDK's error: its class, HTTP status and message (which never hold the key). */
function describeFailure(error: unknown): string {
  if (isUnauthorized(error)) {
    return `WorkOS refused the API key (HTTP 401); check the secret named by ${MCP_SETTINGS.workosApiKeySecretArn.variable}`;
  }
  if (error instanceof WorkOSApiKeyError) return error.message;
  if (!(error instanceof Error)) return `WorkOS failed: ${String(error).slice(0, 200)}`;
  const status = (error as { status?: unknown }).status;
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `WorkOS failed${typeof status === 'number' ? ` with HTTP ${status}` : ''}: ${error.name}: ${error.message.slice(0, 200)}${cause}`;
}

/** The SDK's connection options for a base URL; retries off, since the lookup has its own bound. */
function sdkOptions(baseUrl: string, timeoutMs: number): WorkOSOptions {
  const url = new URL(baseUrl);
  return {
    apiHostname: url.hostname,
    https: url.protocol === 'https:',
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    timeout: timeoutMs,
    maxRetries: 0,
  };
}

function readEnvSetting<T>(setting: Setting<T>, env: Env): T {
  return readSetting(setting, env, (problem: SettingProblem) => {
    return new RuntimeConfigError(problem.variable, `${problem.variable}: ${problem.message}`);
  });
}
