/**
 * The syntax of a Bearer `Authorization` header (RFC 6750 §2.1), defined once for the three places
 * that read it: API Gateway's identity validation expression, the authorizer's parser and the MCP
 * runtime's extraction of the token it hands to tools.
 *
 * They share the scheme and the token grammar but not the same strictness, on purpose:
 * - the gateway's expression ({@link BEARER_TOKEN_VALIDATION_REGEX}) turns away, without invoking
 *   the authorizer, anything that is not `Bearer` + spaces + a JWT-shaped token. It lets an empty
 *   signature through (`Bearer a.b.`), so such a token reaches the authorizer and is refused there
 *   with a reason in its log.
 * - the authorizer ({@link bearerJwsOf}) takes exactly a compact JWS (three non-empty segments)
 *   after trimming surrounding spaces and tabs, and explains every refusal.
 * - the runtime ({@link bearerCredentialsOf}) only runs behind those two, so it reads any single
 *   credential after the scheme, with any whitespace around it, and never judges the token.
 *
 * Every expression uses character classes and anchors only, so API Gateway (Java regular
 * expressions) and JavaScript read the gateway's the same way.
 */

/** `Bearer`, in any letter case (RFC 7235 §2.1), spelled per letter so no flag is needed in Java or JavaScript. */
const SCHEME = '[Bb][Ee][Aa][Rr][Ee][Rr]';
/** One or more spaces between scheme and token (RFC 7235 `1*SP`). */
const SEPARATOR = ' +';
/** A base64url character (RFC 7515 §2), the alphabet of every JWS segment. */
const BASE64URL = '[A-Za-z0-9_-]';
/** A compact JWS: header, payload and signature, each non-empty. */
const COMPACT_JWS = `${BASE64URL}+\\.${BASE64URL}+\\.${BASE64URL}+`;
/** A compact JWS whose signature may be empty: what the gateway lets through to the authorizer. */
const JWS_SHAPED = `${BASE64URL}+\\.${BASE64URL}+\\.${BASE64URL}*`;

/** The scheme that names a Bearer header, for clients and test fixtures that write one. */
export const BEARER_SCHEME = 'Bearer';

/**
 * API Gateway's identity validation expression for the TOKEN authorizer: a regular-expression
 * source (no flags) that a header must match whole, or API Gateway answers 401 without invoking
 * the authorizer.
 */
export const BEARER_TOKEN_VALIDATION_REGEX = `^${SCHEME}${SEPARATOR}${JWS_SHAPED}$`;

const BEARER_JWS_HEADER = new RegExp(`^${SCHEME}${SEPARATOR}(${COMPACT_JWS})$`);
const BEARER_CREDENTIALS_HEADER = new RegExp(`^\\s*${SCHEME}\\s+(\\S+)\\s*$`);

/** The authorizer's form: the compact JWS of a header value without surrounding whitespace, if it is one. */
export function bearerJwsOf(trimmedHeader: string): string | undefined {
  return BEARER_JWS_HEADER.exec(trimmedHeader)?.[1];
}

/** The runtime's form: the single credential after the scheme, surrounding whitespace allowed. */
export function bearerCredentialsOf(header: string | undefined): string | undefined {
  return BEARER_CREDENTIALS_HEADER.exec(header ?? '')?.[1];
}

/** Whether a word is the Bearer scheme, compared as RFC 7235 says (case-insensitively). */
export function isBearerScheme(word: string): boolean {
  return word.toLowerCase() === BEARER_SCHEME.toLowerCase();
}

/** The `Authorization` header value that carries `token`. */
export function bearerAuthorization(token: string): string {
  return `${BEARER_SCHEME} ${token}`;
}
