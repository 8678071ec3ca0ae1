/**
 * 1. The challenge: `POST <McpUrl>` without a token gets 401 with
 * `WWW-Authenticate: Bearer resource_metadata="…"`, and that URL resolves.
 */
import {
  bearerChallengeParams,
  INITIALIZE_BODY,
  MCP_POST_HEADERS,
  wellKnownResourceMetadataUrl,
  type VerifyContext,
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

/** Judges the 401 itself; returns the challenge's parameters when it is usable. */
export function judgeChallenge(response: HttpResponse): { result: CheckResult; params?: Record<string, string> } {
  if (response.status !== 401) {
    const detail = `got HTTP ${response.status} instead of 401`;
    const fix =
      response.status < 300
        ? '/mcp answered without a token: put POST, GET and DELETE /mcp behind the TOKEN authorizer (AuthKitMcpServer does); check that <McpUrl> is the McpUrl output of the stack'
        : `check that <McpUrl> is the McpUrl output of the deployed stack (npx cdk deploy --outputs-file cdk-outputs.json) and that /mcp is behind the TOKEN authorizer`;
    return { result: fail('challenge.header', HEADER_TITLE, detail, fix) };
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
    const result = fail(
      'challenge.header',
      HEADER_TITLE,
      describeFailure(error),
      "check the URL (the stack's McpUrl output), your network, and that the stack is deployed",
    );
    return {
      results: [result],
      resourceMetadataUrl: wellKnownResourceMetadataUrl(context.mcpUrl),
      challengeScopes: [],
    };
  }
  const { result, params } = judgeChallenge(response);
  const results = [result];
  const fromChallenge = params?.resource_metadata;
  if (fromChallenge) results.push(await checkMetadataResolves(context, fromChallenge));
  return {
    results,
    resourceMetadataUrl: fromChallenge ?? wellKnownResourceMetadataUrl(context.mcpUrl),
    challengeScopes: (params?.scope ?? '').split(' ').filter(Boolean),
  };
}
