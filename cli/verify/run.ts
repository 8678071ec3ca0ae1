/**
 * Runs every check in the order a client walks the chain, each group fed by what the previous one
 * found, and returns the report. Nothing here prints: the renderers do.
 */
import { checkAuthorizationServer } from './checks/authorization-server';
import { checkBrowser, type TokenSender } from './checks/browser';
import { checkChallenge } from './checks/challenge';
import { checkHygiene } from './checks/hygiene';
import { checkMcpSession } from './checks/mcp-session';
import { checkModernProtocol, skippedModernChecks } from './checks/modern-protocol';
import { checkResourceMetadata } from './checks/resource-metadata';
import { checkStepUp, skippedStepUp } from './checks/step-up';
import { checkTokenClaims } from './checks/token';
import { type VerifyContext, whereOf } from './context';
import { createHttpClient, type HttpClient } from './http';
import { sectionResults, type CheckResult, type VerifyReport } from './report';

export interface VerifyRunOptions {
  /** The MCP endpoint, exactly as clients are given it. */
  readonly mcpUrl: string;
  /** The browser origin for the CORS checks; null skips them. */
  readonly origin: string | null;
  /** An access token for <McpUrl>; it is sent to <McpUrl> only. */
  readonly token?: string;
  /** Why --login got no token, reported as the failed check `token.login`. */
  readonly loginFailure?: string;
  /** Bound of each request. */
  readonly timeoutMs: number;
}

export interface VerifyDependencies {
  /** @default - the bounded node:http client */
  readonly http?: HttpClient;
  /** @default - the current time */
  readonly now?: () => Date;
}

/** Sends one request to <McpUrl> with the token; the URL is fixed here, so the token cannot go elsewhere. */
function tokenSender(http: HttpClient, mcpUrl: string, token: string): TokenSender {
  return (headers, body) =>
    http({ method: 'POST', url: mcpUrl, headers: { ...headers, Authorization: `Bearer ${token}` }, body });
}

function loginFailed(reason: string): CheckResult {
  const fix = /regist/i.test(reason)
    ? 'the client could not register: enable DCR or CIMD in WorkOS Connect → Configuration (with CIMD, pass --client-metadata-url)'
    : 'the sign-in follows the same chain as the checks above: fix the first failure there, then sign in again';
  return sectionResults('token').fail('token.login', 'Signing in with --login gives a token', reason, fix);
}

export async function runVerify(
  options: VerifyRunOptions,
  dependencies: VerifyDependencies = {},
): Promise<VerifyReport> {
  const started = Date.now();
  const http = dependencies.http ?? createHttpClient({ timeoutMs: options.timeoutMs });
  const context: VerifyContext = {
    mcpUrl: options.mcpUrl,
    http,
    origin: options.origin,
    where: whereOf(options.mcpUrl),
  };
  const checks: CheckResult[] = [];

  const challenge = await checkChallenge(context);
  checks.push(...challenge.results);
  const resourceMetadata = await checkResourceMetadata(context, challenge.resourceMetadataUrl);
  checks.push(...resourceMetadata.results);
  checks.push(...(await checkAuthorizationServer(context, resourceMetadata.issuer)).results);
  const sender = options.token === undefined ? undefined : tokenSender(http, options.mcpUrl, options.token);
  checks.push(...(await checkBrowser(context, sender)));
  checks.push(...(await checkHygiene(context)));

  if (options.loginFailure !== undefined) {
    checks.push(loginFailed(options.loginFailure));
  } else if (options.token === undefined) {
    checks.push(
      sectionResults('token').skip(
        'token.all',
        'Token checks',
        'no --token or --login given: aud, iss, scopes and the MCP sessions (2025 and 2026-07-28) were not checked',
      ),
    );
  } else {
    const claims = checkTokenClaims(
      options.token,
      options.mcpUrl,
      resourceMetadata.issuer,
      challenge.challengeScopes,
      (dependencies.now ?? (() => new Date()))(),
    );
    checks.push(...claims.results);
    const session = await checkMcpSession(
      options.mcpUrl,
      options.token,
      claims.claims?.sub,
      options.timeoutMs,
      undefined,
      context.where,
    );
    checks.push(...session);
    // A token the 2025 session could not use (refused, or nothing there) fails once, not once per revision.
    const initialized = session.some((check) => check.id === 'mcp.initialize' && check.status === 'pass');
    if (sender !== undefined && initialized) {
      checks.push(...(await checkModernProtocol(sender, options.token, claims.claims?.sub, context.where)));
      const scopes = typeof claims.claims?.scope === 'string' ? claims.claims.scope.split(' ') : [];
      checks.push(await checkStepUp(sender, options.token, challenge.resourceMetadataUrl, scopes, context.where));
    } else {
      const reason = 'initialize failed with this token, so the 2026-07-28 checks were not run';
      checks.push(...skippedModernChecks(reason), skippedStepUp(reason));
    }
  }
  return {
    mcpUrl: options.mcpUrl,
    origin: options.origin,
    ok: checks.every((check) => check.status !== 'fail'),
    checks,
    durationMs: Date.now() - started,
  };
}
