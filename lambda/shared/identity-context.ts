/**
 * The identity the token authorizer hands the functions behind it, through API Gateway.
 *
 * The authorizer returns it as the flat `context` of its answer ({@link authorizerContextOf}); the
 * backend finds it in `event.requestContext.authorizer` and reads it back
 * ({@link readAuthorizerIdentity}). Both sides import this module, so a key or an encoding cannot
 * drift between them. AWS-free: the construct, the functions and the tests all import it.
 *
 * Encodings, as API Gateway requires and delivers them:
 * - flat values only (API Gateway refuses nested ones); scopes travel as one space-separated string;
 * - the authorizer may return numbers, but the backend receives every value as a string (`exp`
 *   arrives as `"1900000000"`); a test invocation from the console delivers numbers, which read the same;
 * - absent claims are left out, never set to null or `""`; an empty value reads as absent.
 */

/** The identity of a verified access token, in the form both sides of API Gateway work with. */
export interface AuthorizerIdentity {
  /** `sub`: the WorkOS user (or client, for machine tokens). */
  readonly sub: string;
  /** `client_id`: the OAuth client the token was issued to. */
  readonly clientId?: string;
  /** `org_id`: the WorkOS organization, when the user signed in through one. */
  readonly orgId?: string;
  /** `sid`: the AuthKit session. */
  readonly sid?: string;
  /** The granted scopes (`scope`, split on spaces). */
  readonly scopes: readonly string[];
  /** `jti`: the token id. */
  readonly jti?: string;
  /** `exp`: expiry, seconds since the epoch. */
  readonly exp: number;
  /** The audience that made the token acceptable here. The authorizer always writes it; tools see it as `caller.audience`. */
  readonly aud?: string;
}

/**
 * The context key of each identity field. They are the JWT claim names, so the context, the logs
 * and the API Gateway access log (`$context.authorizer.<key>`) use the names AuthKit documents.
 */
export const AUTHORIZER_CONTEXT_KEYS = {
  sub: 'sub',
  clientId: 'client_id',
  orgId: 'org_id',
  sid: 'sid',
  scopes: 'scope',
  jti: 'jti',
  exp: 'exp',
  aud: 'aud',
} as const satisfies { readonly [Field in keyof AuthorizerIdentity]-?: string };

type ContextKeys = typeof AUTHORIZER_CONTEXT_KEYS;
/** A key of the authorizer context (`sub`, `client_id`, ...). */
export type AuthorizerContextKey = ContextKeys[keyof ContextKeys];

/**
 * What the authorizer returns as `context`: one entry per identity field, under its key, optional
 * where the field is. `exp` is a number; API Gateway turns it into a string on the way.
 */
// A mapped type alias, not an interface, so it stays assignable to API Gateway's index-signature context type.
export type AuthorizerContext = {
  readonly [Field in keyof AuthorizerIdentity as ContextKeys[Field]]: NonNullable<
    AuthorizerIdentity[Field]
  > extends number
    ? number
    : string;
};

/** `event.requestContext.authorizer` as the backend receives it: values are strings, other keys may be present. */
export type DeliveredAuthorizerContext = Readonly<Record<string, unknown>>;

/** Scopes travel as one string; one separator both ways, so a scope with a tab in it stays one scope. */
const SCOPE_SEPARATOR = ' ';

function encodeScopes(scopes: readonly string[]): string {
  return scopes.join(SCOPE_SEPARATOR);
}

function decodeScopes(scope: string | undefined): string[] {
  return scope === undefined ? [] : scope.split(SCOPE_SEPARATOR).filter((s) => s !== '');
}

const K = AUTHORIZER_CONTEXT_KEYS;

/** The authorizer's `context` for an identity. Absent and empty values are left out. */
export function authorizerContextOf(identity: AuthorizerIdentity): AuthorizerContext {
  const context: Record<string, string | number> = { [K.sub]: identity.sub };
  const optional: ReadonlyArray<readonly [AuthorizerContextKey, string | undefined]> = [
    [K.clientId, identity.clientId],
    [K.orgId, identity.orgId],
    [K.sid, identity.sid],
    [K.scopes, encodeScopes(identity.scopes)],
    [K.jti, identity.jti],
    [K.aud, identity.aud],
  ];
  for (const [key, value] of optional) if (value !== undefined && value !== '') context[key] = value;
  context[K.exp] = identity.exp;
  return context as AuthorizerContext;
}

/** Which part of the identity a delivered context lacks. */
export type MissingIdentityPart = 'context' | 'sub' | 'exp';

/** The identity read from a delivered context, or the part that is missing. */
export type AuthorizerIdentityReading =
  | { readonly identity: AuthorizerIdentity; readonly missing?: undefined }
  | { readonly missing: MissingIdentityPart };

/** A string as delivered; numbers and booleans (console test invocations) read as their text; `""` reads as absent. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Reads the identity back from `event.requestContext.authorizer`. A context without `sub`, or
 * without a positive finite `exp`, was not written by the token authorizer: the reading names
 * what is missing instead of guessing. Absent optional claims stay absent (no undefined-valued keys).
 */
export function readAuthorizerIdentity(
  context: DeliveredAuthorizerContext | null | undefined,
): AuthorizerIdentityReading {
  if (!context || typeof context !== 'object') return { missing: 'context' };
  const sub = text(context[K.sub]);
  if (sub === undefined) return { missing: 'sub' };
  const exp = Number(text(context[K.exp]));
  if (!Number.isFinite(exp) || exp <= 0) return { missing: 'exp' };
  // Assigned one by one: this runs on every request.
  const identity: { -readonly [Field in keyof AuthorizerIdentity]: AuthorizerIdentity[Field] } = {
    sub,
    scopes: decodeScopes(text(context[K.scopes])),
    exp,
  };
  const clientId = text(context[K.clientId]);
  if (clientId !== undefined) identity.clientId = clientId;
  const orgId = text(context[K.orgId]);
  if (orgId !== undefined) identity.orgId = orgId;
  const sid = text(context[K.sid]);
  if (sid !== undefined) identity.sid = sid;
  const jti = text(context[K.jti]);
  if (jti !== undefined) identity.jti = jti;
  const aud = text(context[K.aud]);
  if (aud !== undefined) identity.aud = aud;
  return { identity };
}
