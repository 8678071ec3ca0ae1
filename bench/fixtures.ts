/**
 * Fixed inputs shared by the benchmarks: one RSA key, one token signed with it, the API Gateway
 * events each Lambda receives, and the MCP messages a client sends. Everything here is constant,
 * so two runs measure exactly the same work.
 */
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { authorizerIdentityContext, mcpProxyEvent, restProxyEvent, type RestProxyEvent } from '../fixtures/events';
import { LEGACY_PROTOCOL_VERSION, mcpHttpRequest, type McpEra, type McpHttpRequest } from '../fixtures/mcp-requests';
import type { AuthorizerIdentity } from '../lambda/shared/identity-context';
import { MCP_PATH, PROTECTED_RESOURCE_METADATA_PATH, serverUrls } from '../lambda/shared/urls';

/** An RSA-2048 key made for these benchmarks only; it is public and protects nothing. */
const BENCH_PRIVATE_JWK = {
  kty: 'RSA',
  n: 'x1GHjnesm4819V1nqhgtW2-Wp5aMi25vlhvVajhZEtLt8tsb4Oez_G4beYBb6T4W8u5qTiUL1PyBj55Sr0cypjL5TKBhefvcKtzzf5XdAj105PdQztTgad56uJioNK34ELbETYuiIZ1M24165Y4-6hhVNa2L0uAiTUSxy54Qb52GRKnvjJtiYzkTwKIjVWI3Z112ZXLnuxHfnr8he1pzDQ9JoL87xqhVvh3fFTxg0tkqt8tY4OPm9oZUqqmcprtutAYebjmlmfsGj-MmI9B6m6m-XlcBPshq4K1RKyyC8uldIe98JMfNRPKwNg59CelKEX-HsbQfEndbyeto66jX4w',
  e: 'AQAB',
  d: 'Rk5W34UNKI36fYMmBtSiYydYX-L1zlT1HWDSBba8jKxEbK6nBc0VKsx3-oKxaPOSyrwYWVot80HiPZOeHN-jWQaP81x7JbkWbzQi2_Uz0Q92hTFLmrlyM0XbyfNnGbXn05V0ZtoDJZJDwwoDuKdVP-O3YsjFkmunDdRWVrl5mLS7JGBo4RpG9YCPVyLOVkBRl4uMSKJS9ZEk1V6F1NYOqypbCP5q5Zp5IJq5ngz-x3JHOKB13RN2ihQ2tWVxgQgBBVUwhqjRSCu6h9IlwyLz-cvEPIbKvvmHi9Ufm0B90IKidd70cjM3w0TLP1itLgOBqQp2EokIR-9oOHrop0be6Q',
  p: '8fr612Yt8QPvkku0MxQCmfNzWPwXcl1Hxh5dJP2xMcRJG6OYsNmHMgd_3O8tzll_ejpGq1YyOrcne1tJGrj29JzvE_i3OAxAMA9s6G2QS4Rm0g4qbguYEsnm9I9NOyaSCpGoKoe-lwjZlaHsAiMJ1QchG-q4GGs6SgNoe32Ex18',
  q: '0t3LQMDPUKlpUsWO8IrroGwSjzT9_19-ZIMDsvzytws2g1rxdGPn-lyeoEc6Z8R0SwfLA-FvEP5j8f-hdU9kIbQ9gLW_HVrpIYXTR3njkes-pexGOw19U1K2J82r3NgyTVeTGGn6HkatwcBxaRNzGciqMyfLCURiLVFmwONdkf0',
  dp: 'XnaL1eqdpKjUrVfAUPBO06qmLOa8gHjJvB2-XuJqefMWVyPWR7Ojg3RKBgWY7CUkDqMRU3GiyikV0KIiN7xdK8DX1AQUAl1F8X0UFugunExjlzzQc4UzKKKI9o-6poy4FkgmTfQQAwYBath7OZpUDEVsN2m51E6Hwrzx3MNzQiE',
  dq: 'PWz0r3k7KyEemEkKeZHOT94LjgH-16xmsjrkEfjTb3TpvVv5qFEOG4Vtg_0by2yT_-NWRVwfMZEZZj50NysYXSUXIW5QLOn1rZlBUbn1C-W-SzFHyB4G2wXmIDQuk1e7V4JiTCNbBATMyvsXTmenCOTGh75Yy-tKui7TQu84q7U',
  qi: 'lcOs01YqS5YJkfZA8naWpDRSqqkEsLQ44HpOmn-d_1kqmpu15YN5aTpvJvQDo4Rz4BQEcn1BexUKoAXjU47QyYSadYhJrsOgahOd_hIyDo4IlQFzfK5f-gh-zPoz7d6YRBRnKd74-nOGBzMZa61q6Pe7LCGTKvDjpUn3KuZQC5A',
};
export const BENCH_KID = 'bench-fixed-key-1';

export const BENCH_ISSUER = 'https://acme.authkit.app';
export const BENCH_BASE_URL = 'https://abc123def4.execute-api.us-east-1.amazonaws.com/prod';
export const BENCH_URLS = serverUrls(BENCH_BASE_URL);
/**
 * Stage throttling for stacks under load (API Gateway's account-level defaults), so a benchmark or
 * the soak measures the system rather than the stage's own 100 req/s token bucket.
 */
export const LOAD_THROTTLING = { rateLimit: 10_000, burstLimit: 5_000 } as const;

/** The private key as a JWK with its id, for the local AuthKit stand-in to sign and publish. */
export function benchSigningJwk(): Record<string, unknown> {
  return { ...BENCH_PRIVATE_JWK, kid: BENCH_KID, alg: 'RS256', use: 'sig' };
}

/** The public half, as AuthKit publishes it at /oauth2/jwks. */
export function benchJwks(): { keys: Record<string, unknown>[] } {
  const jwk = createPublicKey({ key: BENCH_PRIVATE_JWK, format: 'jwk' }).export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: BENCH_KID, alg: 'RS256', use: 'sig' }] };
}

/** The caller of every benchmarked request: the identity of the bench token. */
export const BENCH_IDENTITY = {
  sub: 'user_01BENCH000000000000000000',
  clientId: 'client_01BENCH00000000000000000',
  orgId: 'org_01BENCH0000000000000000000',
  sid: 'session_01BENCH000000000000000',
  scopes: ['openid', 'profile', 'email'],
  jti: 'jti_01BENCH',
  exp: 4_102_444_800,
  aud: BENCH_URLS.resource,
} as const satisfies AuthorizerIdentity;

/** AuthKit-shaped claims of {@link BENCH_IDENTITY}, issued 2026-01-01 and valid until 2100, so the token never changes. */
export function benchClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: BENCH_ISSUER,
    sub: BENCH_IDENTITY.sub,
    aud: BENCH_IDENTITY.aud,
    client_id: BENCH_IDENTITY.clientId,
    org_id: BENCH_IDENTITY.orgId,
    sid: BENCH_IDENTITY.sid,
    scope: BENCH_IDENTITY.scopes.join(' '),
    jti: BENCH_IDENTITY.jti,
    iat: 1_767_225_600,
    exp: BENCH_IDENTITY.exp,
    ...overrides,
  };
}

/** RS256 signatures (PKCS#1 v1.5) are deterministic: the same claims give the same token every run. */
export function signBenchToken(claims: Record<string, unknown> = benchClaims()): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256', kid: BENCH_KID, typ: 'JWT' })}.${encode(claims)}`;
  const signature = sign(
    'sha256',
    Buffer.from(signingInput),
    createPrivateKey({ key: BENCH_PRIVATE_JWK, format: 'jwk' }),
  );
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** What the token authorizer hands the MCP function, as API Gateway delivers it (strings). */
export const BENCH_AUTHORIZER_CONTEXT: Readonly<Record<string, string>> = authorizerIdentityContext(BENCH_IDENTITY);

/** The argument of every benchmarked tools/call: the sample server's deterministic JSON formatter. */
export const FORMAT_JSON_ARGS = { json: '{"b":[1,2,3],"a":{"y":true,"x":null}}', indent: 2, sortKeys: true };

/** A 2025-11-25 `initialize` request (stateless: no session follows from it). */
export function initializeRequest(token: string): McpHttpRequest {
  const params = {
    protocolVersion: LEGACY_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'bench', version: '1.0.0' },
  };
  return mcpHttpRequest('initialize', params, { era: 'legacy', id: 1, token });
}

/** A `tools/call` of format_json in either protocol era. */
export function toolsCallRequest(token: string, era: McpEra): McpHttpRequest {
  const params = { name: 'format_json', arguments: FORMAT_JSON_ARGS };
  return mcpHttpRequest('tools/call', params, { era, id: 2, token, clientName: 'bench' });
}

const BENCH_REQUEST_ID = 'bench-request';

/** The REST API proxy event (payload 1.0) API Gateway sends the MCP function for `request`, as the bench's caller. */
export function mcpRequestEvent(
  request: McpHttpRequest,
  authorizer: Readonly<Record<string, string>> = BENCH_AUTHORIZER_CONTEXT,
): RestProxyEvent {
  return mcpProxyEvent({ headers: request.headers, body: request.body, authorizer, requestId: BENCH_REQUEST_ID });
}

/** The event the metadata function receives for the path-form protected-resource metadata. */
export function metadataProxyEvent(): RestProxyEvent {
  // On the execute-api endpoint API Gateway reports the path without the stage.
  const path = `${PROTECTED_RESOURCE_METADATA_PATH}${MCP_PATH}`;
  return restProxyEvent({ path, headers: { accept: 'application/json' }, requestId: BENCH_REQUEST_ID });
}

/** Runs `fn` with stdout and stderr writes dropped, so that log lines do not bury the table. */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
