/**
 * Token-checking defaults shared by the authorizer, the MCP runtime and the construct, so that the
 * prop, the environment variable and the check itself agree on one value.
 */

/** Allowed clock skew when checking `exp` and `nbf`, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
/** Tens of seconds cover real clock skew; more would only stretch a token's lifetime. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
