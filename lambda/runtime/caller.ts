/**
 * The caller of a request as a tool sees it: a person (`user`) or a machine, its ids, scopes and
 * token facts read from the `AuthInfo` the runtime built, and its role and permissions in the
 * token's organization, looked up only when asked.
 *
 * A machine is an M2M application using the client-credentials grant: WorkOS documents its token's
 * `sub` as the application's client id, equal to `client_id`, and no `sid`, while a user token's
 * `sub` is the user id and carries the consent id as `sid`
 * (https://workos.com/docs/authkit/connect/token-claims, https://workos.com/docs/authkit/connect/m2m).
 */
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { AuthInfoExtra } from './auth-info';
import { NoCallerError } from './errors';
import type { AccessRefusal, CallerAccess, RoleResolver } from './workos-access';

/** A person signed in through AuthKit, or an M2M application (client-credentials token). */
export type CallerKind = 'user' | 'machine';

/** A caller's role and permissions in the token's organization, once resolved. */
export interface ResolvedCallerAccess extends CallerAccess {
  /** The first role of the membership (WorkOS's order), or undefined when the person has none there. */
  readonly role: string | undefined;
}

/**
 * What {@link Caller.access} answers: the access and where it came from, or the refusal saying why
 * there is none (`NOT_A_PERSON` for a machine, `NO_ORGANIZATION` for a token without `org_id`,
 * `WORKOS_NOT_CONFIGURED`, `WORKOS_UNAVAILABLE`).
 */
export type CallerAccessResolution =
  | { readonly access: ResolvedCallerAccess; readonly source: 'workos' | 'cache' | 'stale' }
  | { readonly refusal: AccessRefusal };

/** Who is calling a tool: the identity a tool should act for. Never contains the token. */
export interface Caller {
  /** `machine` for a client-credentials token (`sub` equals `client_id`, no `sid`), else `user`. */
  readonly kind: CallerKind;
  /** The user id, or the M2M application's client id (`sub`). */
  readonly sub: string;
  /** The WorkOS organization (`org_id`), when the token carries one. */
  readonly organizationId?: string;
  /** The OAuth client the token was issued to (`client_id`). */
  readonly clientId: string;
  /** The granted scopes. */
  readonly scopes: readonly string[];
  /** Token expiry, seconds since the epoch. */
  readonly expiresAt?: number;
  /** The audience the token was accepted for (`aud`). */
  readonly audience?: string;
  /** The session (consent) id (`sid`); users only. */
  readonly sessionId?: string;
  /**
   * The caller's role and permissions in `organizationId`, from WorkOS through the handler's role
   * resolver (cached per container). Asked once per request: the policy check and the tool share
   * the answer. Never rejects; a machine or a caller without an organization gets a refusal.
   */
  access(): Promise<CallerAccessResolution>;
}

/** The facts of a caller that decide its kind. */
export function callerKindOf(facts: {
  readonly sub: string;
  readonly clientId: string;
  readonly sid?: string;
}): CallerKind {
  return facts.sub === facts.clientId && facts.sid === undefined ? 'machine' : 'user';
}

/** Resolves a request's access once; the handler binds one to each `AuthInfo` it serves. */
export type AccessLookup = () => Promise<CallerAccessResolution>;

/** A machine is refused roles and permissions without asking WorkOS. */
export const MACHINE_HOLDS_NO_ROLE: AccessRefusal = {
  code: 'NOT_A_PERSON',
  retryable: false,
  reason: 'the caller is a machine (client-credentials token): only people hold organization roles',
};

/** A token without `org_id` names no membership to read. */
export const NO_ORGANIZATION: AccessRefusal = {
  code: 'NO_ORGANIZATION',
  retryable: false,
  reason: 'the token names no organization (no org_id), so the person holds no role there',
};

/**
 * Where a request's bound lookup is kept: on its `AuthInfo` itself, under a symbol, not in a
 * WeakMap keyed by it. Every request makes a new `AuthInfo`, and a WeakMap entry per request costs
 * the garbage collector far more than the lookup it holds (tool-policy.bench.ts).
 */
const LOOKUP = Symbol('mcp-authkit-apigateway.accessLookup');
type WithLookup = AuthInfo & { [LOOKUP]?: AccessLookup };

const lookupOf = (authInfo: AuthInfo): AccessLookup | undefined => (authInfo as WithLookup)[LOOKUP];

const UNBOUND: CallerAccessResolution = {
  refusal: {
    code: 'WORKOS_NOT_CONFIGURED',
    retryable: false,
    reason: 'this AuthInfo was not served by createMcpLambdaHandler, which resolves roles and permissions',
  },
};

/**
 * Binds the access lookup of one request to its `AuthInfo`, memoised, so every reader of the
 * request (the policy check, `callerOf(...).access()` in the tool) shares one lookup.
 */
export function bindCallerAccess(authInfo: AuthInfo, resolver: RoleResolver | undefined): AccessLookup {
  const bound = lookupOf(authInfo);
  if (bound !== undefined) return bound;
  let pending: Promise<CallerAccessResolution> | undefined;
  const lookup: AccessLookup = () => {
    pending ??= resolveAccess(authInfo, resolver);
    return pending;
  };
  // Not enumerable: a copy or a log of the AuthInfo does not carry it.
  Object.defineProperty(authInfo, LOOKUP, { value: lookup });
  return lookup;
}

async function resolveAccess(authInfo: AuthInfo, resolver: RoleResolver | undefined): Promise<CallerAccessResolution> {
  const caller = identityOf(authInfo);
  if (caller.kind === 'machine') return { refusal: MACHINE_HOLDS_NO_ROLE };
  if (caller.organizationId === undefined) return { refusal: NO_ORGANIZATION };
  if (resolver === undefined) return UNBOUND;
  const resolution = await resolver.resolve(caller.sub, caller.organizationId);
  if ('refusal' in resolution) return resolution;
  return { access: { ...resolution.access, role: resolution.access.roles[0] }, source: resolution.source };
}

type CallerIdentity = Omit<Caller, 'access'>;

function identityOf(authInfo: AuthInfo | undefined): CallerIdentity {
  const extra = authInfo?.extra as Partial<AuthInfoExtra> | undefined;
  if (!authInfo || typeof extra?.sub !== 'string') throw new NoCallerError();
  const identity: { -readonly [Field in keyof CallerIdentity]: CallerIdentity[Field] } = {
    kind: callerKindOf({ sub: extra.sub, clientId: authInfo.clientId, sid: extra.sid }),
    sub: extra.sub,
    clientId: authInfo.clientId,
    scopes: [...authInfo.scopes],
  };
  if (extra.orgId !== undefined) identity.organizationId = extra.orgId;
  if (authInfo.expiresAt !== undefined) identity.expiresAt = authInfo.expiresAt;
  if (extra.aud !== undefined) identity.audience = extra.aud;
  if (extra.sid !== undefined) identity.sessionId = extra.sid;
  return identity;
}

/**
 * The caller of the current request, from the `AuthInfo` a tool receives
 * (`ctx.http?.authInfo` in a v2 SDK tool callback). Throws {@link NoCallerError} when there is
 * none, which the SDK turns into a tool error result.
 */
export function callerOf(authInfo: AuthInfo | undefined): Caller {
  const identity = identityOf(authInfo);
  const bound = authInfo as AuthInfo;
  return { ...identity, access: lookupOf(bound) ?? (() => resolveAccess(bound, undefined)) };
}
