/**
 * OAuth scopes as this server handles them: what a valid scope token is, and the scope that is
 * never a resource's business.
 */

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Whether `value` is one RFC 6749 scope token (no spaces, double quotes or backslashes). */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/**
 * A client asks for `offline_access` to get refresh tokens: it is the client's business with the
 * authorization server, never something a resource requires, advertises or challenges for.
 */
export const OFFLINE_ACCESS = 'offline_access';

/** The scopes without duplicates and without `offline_access`, in their first order. */
export function resourceScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)].filter((scope) => scope !== OFFLINE_ACCESS);
}
