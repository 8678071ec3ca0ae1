/**
 * 1. The challenge: `POST <McpUrl>` without a token gets 401 with
 * `WWW-Authenticate: Bearer resource_metadata="…"`, and that URL resolves.
 */
import {
  authorizationServerMetadataUrl,
  bearerChallengeParams,
  INITIALIZE_BODY,
  MCP_POST_HEADERS,
  mcpUrlExample,
  unreachableFix,
  wellKnownResourceMetadataUrl,
  wrongPathFix,
  type VerifyContext,
  type Where,
} from '../context';
import { describeFailure, headerValue, jsonObject, type HttpResponse } from '../http';
import { sectionResults, type CheckResult } from '../report';

const { pass, fail } = sectionResults('challenge');

export interface ChallengeFindings {
  readonly results: CheckResult[];
  /** Where the metadata is: the challenge's `resource_metadata`, else the RFC 9728 well-known location. */
  readonly resourceMetadataUrl: string;
  /** The challenge's `scope`, split; empty when it has none. */
  readonly challengeScopes: readonly string[];
}

const HEADER_TITLE = 'POST <McpUrl> without a token gets 401 with WWW-Authenticate: Bearer resource_metadata="…"';
const RESOLVES_TITLE = 'The resource_metadata URL of the challenge resolves to JSON';
const GATEWAY_FIX =
  "the UNAUTHORIZED gateway response must carry the challenge header (AuthKitMcpServer adds it): deploy the stack with the construct's gateway responses unchanged";

/** The fix for an answer other than 401, worded for the status and for where <McpUrl> runs. */
function notChallengeFix(status: number, mcpUrl: string, where: Where): string {
  if (status < 300)
    return '/mcp answered without a token: put POST, GET and DELETE /mcp behind the TOKEN authorizer (AuthKitMcpServer does); check that <McpUrl> is the McpUrl output of the stack';
  if (status === 404) return wrongPathFix(mcpUrl, where);
  return where === 'local'
    ? 'check that <McpUrl> is the MCP URL `npm run dev` prints and that the local stack started without errors (its terminal says why)'
    : 'check that <McpUrl> is the McpUrl output of the deployed stack (npx cdk deploy --outputs-file cdk-outputs.json) and that /mcp is behind the TOKEN authorizer';
}

/** Judges the 401 itself; returns the challenge's parameters when it is usable. */
export function judgeChallenge(
  response: HttpResponse,
  mcpUrl: string,
  where: Where,
): { result: CheckResult; params?: Record<string, string> } {
  if (response.status !== 401) {
    const detail = `got HTTP ${response.status} instead of 401`;
    return { result: fail('challenge.header', HEADER_TITLE, detail, notChallengeFix(response.status, mcpUrl, where)) };
  }
  const challenge = headerValue(response, 'www-authenticate');
  if (challenge === undefined) {
    const remapped = headerValue(response, 'x-amzn-remapped-www-authenticate');
    const detail =
      remapped !== undefined
        ? 'the 401 carries x-amzn-Remapped-WWW-Authenticate instead: API Gateway renamed a WWW-Authenticate header set by a Lambda integration, which clients never read'
        : 'the 401 has no WWW-Authenticate header, so clients cannot discover where to get a token';
    return {
      result: fail(
        'challenge.header',
        HEADER_TITLE,
        detail,
        `${GATEWAY_FIX}; a Lambda cannot set WWW-Authenticate through API Gateway`,
      ),
    };
  }
  const params = bearerChallengeParams(challenge);
  if (params === undefined) {
    return {
      result: fail(
        'challenge.header',
        HEADER_TITLE,
        `WWW-Authenticate is "${challenge}", not a Bearer challenge`,
        GATEWAY_FIX,
      ),
    };
  }
  if (!params.resource_metadata) {
    return {
      result: fail(
        'challenge.header',
        HEADER_TITLE,
        `the Bearer challenge "${challenge}" has no resource_metadata parameter (RFC 9728 §5.1)`,
        GATEWAY_FIX,
      ),
    };
  }
  if (params.error !== undefined) {
    // RFC 6750 §3.1: a request without credentials gets no error code; clients may treat one as a bad token.
    return {
      result: fail(
        'challenge.header',
        HEADER_TITLE,
        `the challenge to a request without a token carries error="${params.error}"`,
        "drop the error code from the UNAUTHORIZED gateway response (RFC 6750 §3.1); the construct's response has none",
      ),
      params,
    };
  }
  return { result: pass('challenge.header', HEADER_TITLE, `WWW-Authenticate: ${challenge}`), params };
}

async function checkMetadataResolves(context: VerifyContext, url: string): Promise<CheckResult> {
  try {
    const response = await context.http({ method: 'GET', url, headers: { Accept: 'application/json' } });
    if (response.status !== 200) {
      return fail(
        'challenge.metadata-url',
        RESOLVES_TITLE,
        `GET ${url} answered HTTP ${response.status}`,
        'the challenge must point at the served metadata: the construct serves it at <base>/.well-known/oauth-protected-resource/mcp; check publicBaseUrl / customDomain so the challenge names a URL clients can reach',
      );
    }
    if (jsonObject(response) === undefined) {
      return fail(
        'challenge.metadata-url',
        RESOLVES_TITLE,
        `GET ${url} answered 200 but not with a JSON object`,
        'route the metadata path to the metadata function (AuthKitMcpServer does); a proxy or CDN in front must not rewrite it',
      );
    }
    return pass('challenge.metadata-url', RESOLVES_TITLE, `GET ${url} → 200 JSON`);
  } catch (error) {
    return fail(
      'challenge.metadata-url',
      RESOLVES_TITLE,
      describeFailure(error),
      'the challenge names a URL this machine cannot reach: check publicBaseUrl / customDomain and the DNS of the custom domain',
    );
  }
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The issuer named by the authorization-server metadata at `url`, or undefined. */
async function issuerAt(context: VerifyContext, url: string): Promise<string | undefined> {
  try {
    const response = await context.http({ method: 'GET', url, headers: { Accept: 'application/json' } });
    const issuer = response.status === 200 ? jsonObject(response)?.issuer : undefined;
    return typeof issuer === 'string' ? issuer : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A URL that serves authorization-server metadata (RFC 8414) but no protected-resource metadata
 * (RFC 9728), and whose metadata names this host as the issuer, is the authorization server: the
 * user passed the issuer instead of the MCP URL.
 * Undefined when that is not what <McpUrl> is.
 */
async function authorizationServerInstead(
  context: VerifyContext,
  response: HttpResponse,
): Promise<CheckResult | undefined> {
  const origin = new URL(context.mcpUrl).origin;
  const candidates = [
    ...new Set([authorizationServerMetadataUrl(context.mcpUrl), `${origin}/.well-known/oauth-authorization-server`]),
  ];
  let issuer: string | undefined;
  for (const url of candidates) {
    issuer ??= await issuerAt(context, url);
  }
  // The MCP server may serve a copy of its issuer's metadata too (for older clients): that copy
  // names another host, so only metadata naming this very host makes it the authorization server.
  if (issuer === undefined || !sameOrigin(issuer, context.mcpUrl)) return undefined;
  try {
    const resource = await context.http({
      method: 'GET',
      url: wellKnownResourceMetadataUrl(context.mcpUrl),
      headers: { Accept: 'application/json' },
    });
    if (resource.status === 200 && jsonObject(resource) !== undefined) return undefined;
  } catch {
    // no protected-resource metadata either way
  }
  return fail(
    'challenge.header',
    HEADER_TITLE,
    `got HTTP ${response.status}: ${context.mcpUrl} serves the metadata of the authorization server ${issuer} and no protected-resource metadata`,
    `this is the authorization server, not the MCP server: pass the MCP URL, e.g. ${
      context.where === 'local'
        ? "http://localhost:<port>/mcp as `npm run dev` prints it (the API port, not the stand-in's)"
        : mcpUrlExample(context.mcpUrl, context.where)
    }`,
  );
}

export async function checkChallenge(context: VerifyContext): Promise<ChallengeFindings> {
  let response: HttpResponse;
  try {
    response = await context.http({
      method: 'POST',
      url: context.mcpUrl,
      headers: { ...MCP_POST_HEADERS },
      body: INITIALIZE_BODY,
    });
  } catch (error) {
    const result = fail('challenge.header', HEADER_TITLE, describeFailure(error), unreachableFix(context.where));
    return {
      results: [result],
      resourceMetadataUrl: wellKnownResourceMetadataUrl(context.mcpUrl),
      challengeScopes: [],
    };
  }
  const judged = judgeChallenge(response, context.mcpUrl, context.where);
  const { params } = judged;
  const result =
    response.status === 401 ? judged.result : ((await authorizationServerInstead(context, response)) ?? judged.result);
  const results = [result];
  const fromChallenge = params?.resource_metadata;
  if (fromChallenge) results.push(await checkMetadataResolves(context, fromChallenge));
  return {
    results,
    resourceMetadataUrl: fromChallenge ?? wellKnownResourceMetadataUrl(context.mcpUrl),
    challengeScopes: (params?.scope ?? '').split(' ').filter(Boolean),
  };
}
