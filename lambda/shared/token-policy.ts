/**
 * Token-checking settings shared by the authorizer, the MCP runtime and the construct, so that the
 * prop, the environment variable and the check itself agree.
 */

/** Signature algorithms the authorizer can verify. HMAC and `none` are deliberately absent. */
export const TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];
/** What AuthKit signs with. */
export const DEFAULT_TOKEN_ALGORITHMS: readonly TokenAlgorithm[] = ['RS256'];

export function isTokenAlgorithm(name: string): name is TokenAlgorithm {
  return (TOKEN_ALGORITHMS as readonly string[]).includes(name);
}

/** Allowed clock skew when checking `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Tens of seconds cover real clock skew; more would only stretch a token's lifetime. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
