/**
 * What the local AuthKit stand-in (ES modules run by tsx) and its launcher (CommonJS, usable from
 * jest and local/dev.ts) agree on: the one person it signs in, its ready line, its test controls.
 *
 * Identifiers follow WorkOS's shape (`user_` / `org_` + a 26-character ULID) so that code which
 * logs or stores them sees realistic values.
 */
export interface DevUser {
  /** WorkOS user id, the `sub` of every token issued after sign-in. */
  readonly sub: string;
  readonly email: string;
  readonly givenName: string;
  readonly familyName: string;
  /** WorkOS organization id, the `org_id` claim. */
  readonly orgId: string;
}

export const DEV_USER: DevUser = {
  sub: 'user_01DEVUSER00000000000000000',
  email: 'dev@example.com',
  givenName: 'Dev',
  familyName: 'User',
  orgId: 'org_01DEVORG000000000000000000',
};

/**
 * The environment-wide client id AuthKit puts in `aud` where no resource binds a token: M2M tokens
 * from the client-credentials grant carry it. A server that accepts M2M tokens lists it in
 * `acceptedAudiences`.
 */
export const ENVIRONMENT_CLIENT_ID = 'client_01DEVENVIRONMENT0000000000';

/** Default listening port; the local MCP gateway uses 8787. */
export const DEFAULT_AUTHKIT_PORT = 8788;

/** Prefix of the stdout line that announces the issuer once the server listens. */
export const READY_LINE_PREFIX = 'AUTHKIT_READY ';

/** Path prefix of the test-control endpoints, present only when test controls are enabled. */
export const TEST_CONTROLS_PATH = '/__test';

/** Scopes AuthKit advertises; extra scopes can be configured on top. */
export const AUTHKIT_STANDARD_SCOPES: readonly string[] = ['email', 'offline_access', 'openid', 'profile'];

/** How /oauth2/jwks answers: normally, with HTTP 500, by dropping the connection, or after a delay. */
export type JwksMode = 'normal' | 'error' | 'down' | 'slow';
export const JWKS_MODES: readonly JwksMode[] = ['normal', 'error', 'down', 'slow'];
