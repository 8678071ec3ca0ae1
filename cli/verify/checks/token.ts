/**
 * 6. With a token: its `aud` is `<McpUrl>`, `iss` is the issuer, its scopes are listed (and cover
 * the challenge's), and it has not expired. The claims are read without verifying the signature:
 * the server verifies it, and the MCP session checks (mcp-session.ts) show whether it did.
 */
import { sectionResults, type CheckResult } from '../report';

const { pass, fail } = sectionResults('token');

const AUDIENCE_TITLE = "The token's aud is <McpUrl>";
const ISSUER_TITLE = "The token's iss is the issuer of the protected-resource metadata";
const SCOPES_TITLE = 'The token lists its scopes, including those the challenge asks for';
const EXPIRY_TITLE = 'The token has not expired';

/** The payload of a JWS compact token, or undefined when it is not one. */
export function decodeClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function judgeAudience(claims: Record<string, unknown>, mcpUrl: string): CheckResult {
  const aud = claims.aud;
  const audiences =
    typeof aud === 'string'
      ? [aud]
      : Array.isArray(aud)
        ? aud.filter((item): item is string => typeof item === 'string')
        : [];
  if (audiences.length === 1 && audiences[0] === mcpUrl)
    return pass('token.audience', AUDIENCE_TITLE, `aud: ${mcpUrl}`);
  if (audiences.includes(mcpUrl)) {
    return fail(
      'token.audience',
      AUDIENCE_TITLE,
      `aud lists ${audiences.length} audiences: ${audiences.join(', ')}`,
      'the authorizer refuses multi-audience tokens unless allowMultipleAudiences is true; have the client request the token with resource=<McpUrl> only',
    );
  }
  const clientAudience = audiences.find((item) => item.startsWith('client_'));
  if (clientAudience !== undefined) {
    return fail(
      'token.audience',
      AUDIENCE_TITLE,
      `aud is ${clientAudience}, AuthKit's environment-wide audience: the token names no resource`,
      `register ${mcpUrl} as the MCP Resource Indicator in WorkOS (Connect → Configuration), then get a new token`,
    );
  }
  return fail(
    'token.audience',
    AUDIENCE_TITLE,
    audiences.length === 0 ? 'the token has no aud' : `aud is ${audiences.join(', ')}`,
    `the token was issued for another resource: get one requested with resource=${mcpUrl} (RFC 8707), and register ${mcpUrl} as the MCP Resource Indicator in WorkOS`,
  );
}

export function judgeIssuer(claims: Record<string, unknown>, issuer: string | undefined): CheckResult {
  if (issuer === undefined)
    return fail(
      'token.issuer',
      ISSUER_TITLE,
      `iss is ${String(claims.iss)}; the metadata names no single issuer to compare with`,
      'fix the protected-resource metadata first (authkitDomain)',
    );
  if (claims.iss === issuer) return pass('token.issuer', ISSUER_TITLE, `iss: ${issuer}`);
  return fail(
    'token.issuer',
    ISSUER_TITLE,
    `iss is "${String(claims.iss)}", the server trusts "${issuer}"`,
    `get a token from ${issuer}, or set authkitDomain to the AuthKit domain that issued this one and redeploy`,
  );
}

export function judgeScopes(claims: Record<string, unknown>, challengeScopes: readonly string[]): CheckResult {
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  if (scopes.length === 0)
    return fail(
      'token.scopes',
      SCOPES_TITLE,
      'the token has no scope claim',
      "request the scopes of the protected-resource metadata's scopes_supported when signing in",
    );
  const missing = challengeScopes.filter((scope) => !scopes.includes(scope));
  if (missing.length > 0) {
    return fail(
      'token.scopes',
      SCOPES_TITLE,
      `scopes: ${scopes.join(' ')}; missing ${missing.join(' ')}, which the challenge requires`,
      `sign in again requesting ${missing.join(' ')}; for AuthKit to grant a custom scope, add it to the environment's scopes in WorkOS`,
    );
  }
  return pass('token.scopes', SCOPES_TITLE, `scopes: ${scopes.join(' ')}`);
}

export function judgeExpiry(claims: Record<string, unknown>, now: Date): CheckResult {
  if (typeof claims.exp !== 'number')
    return fail(
      'token.expiry',
      EXPIRY_TITLE,
      'the token has no exp',
      'AuthKit tokens carry exp; get a token from AuthKit',
    );
  const expires = new Date(claims.exp * 1000);
  if (expires.getTime() <= now.getTime())
    return fail(
      'token.expiry',
      EXPIRY_TITLE,
      `expired at ${expires.toISOString()}`,
      'get a fresh token (or use --login)',
    );
  return pass('token.expiry', EXPIRY_TITLE, `expires at ${expires.toISOString()}`);
}

export function checkTokenClaims(
  token: string,
  mcpUrl: string,
  issuer: string | undefined,
  challengeScopes: readonly string[],
  now = new Date(),
): { results: CheckResult[]; claims?: Record<string, unknown> } {
  const claims = decodeClaims(token);
  if (claims === undefined) {
    return {
      results: [
        fail(
          'token.audience',
          AUDIENCE_TITLE,
          'the token is not a JWT, so its claims cannot be read',
          'pass the access token AuthKit issued (a JWT), not an ID token, a refresh token or an opaque value',
        ),
      ],
    };
  }
  return {
    results: [
      judgeAudience(claims, mcpUrl),
      judgeIssuer(claims, issuer),
      judgeScopes(claims, challengeScopes),
      judgeExpiry(claims, now),
    ],
    claims,
  };
}
