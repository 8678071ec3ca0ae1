/**
 * 2. Protected-resource metadata (RFC 9728): JSON, `resource` equal to `<McpUrl>` character for
 * character, one issuer in `authorization_servers`, `scopes_supported` and
 * `bearer_methods_supported` present.
 */
import { unreachableFix, type VerifyContext } from '../context';
import { describeFailure, isJsonContentType, jsonObject } from '../http';
import { sectionResults, type CheckResult } from '../report';

const { pass, fail, skip } = sectionResults('resourceMetadata');

export interface ResourceMetadataFindings {
  readonly results: CheckResult[];
  /** The one issuer named, when there is exactly one. */
  readonly issuer?: string;
  readonly scopesSupported: readonly string[];
}

const JSON_TITLE = 'The protected-resource metadata is a JSON document';
const RESOURCE_TITLE = 'resource equals <McpUrl> character for character';
const SERVERS_TITLE = 'authorization_servers names exactly one issuer';
const FIELDS_TITLE = 'scopes_supported and bearer_methods_supported are present';

const isStringList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

/** Judges a parsed document against the URL the client asked about. */
export function judgeResourceMetadata(document: Record<string, unknown>, mcpUrl: string): ResourceMetadataFindings {
  const results: CheckResult[] = [];
  const resource = document.resource;
  if (resource === mcpUrl) {
    results.push(pass('resource-metadata.resource', RESOURCE_TITLE, `resource: ${mcpUrl}`));
  } else {
    const detail =
      typeof resource === 'string'
        ? `resource is "${resource}", the client asked about "${mcpUrl}"`
        : 'resource is missing';
    results.push(
      fail(
        'resource-metadata.resource',
        RESOURCE_TITLE,
        detail,
        'clients refuse metadata for another resource (RFC 9728 §3.3): verify the exact McpUrl output, or set publicBaseUrl / customDomain to the URL clients use, redeploy, and register that URL as the Resource Indicator in WorkOS',
      ),
    );
  }

  const servers = document.authorization_servers;
  let issuer: string | undefined;
  if (isStringList(servers) && servers.length === 1) {
    issuer = servers[0];
    results.push(pass('resource-metadata.authorization-servers', SERVERS_TITLE, `authorization_servers: ${issuer}`));
  } else {
    const detail = isStringList(servers)
      ? `authorization_servers lists ${servers.length} issuers: ${servers.join(', ') || 'none'}`
      : 'authorization_servers is missing or not a list of strings';
    results.push(
      fail(
        'resource-metadata.authorization-servers',
        SERVERS_TITLE,
        detail,
        'set authkitDomain to your AuthKit domain (WorkOS Connect → Configuration), e.g. acme.authkit.app, and redeploy',
      ),
    );
  }

  const scopes = document.scopes_supported;
  const bearerMethods = document.bearer_methods_supported;
  const missing = [
    ...(isStringList(scopes) ? [] : ['scopes_supported']),
    ...(isStringList(bearerMethods) && bearerMethods.includes('header')
      ? []
      : ['bearer_methods_supported (with "header")']),
  ];
  if (missing.length === 0) {
    results.push(
      pass(
        'resource-metadata.fields',
        FIELDS_TITLE,
        `scopes_supported: ${(scopes as string[]).join(' ') || '(none)'}; bearer_methods_supported: ${(bearerMethods as string[]).join(' ')}`,
      ),
    );
  } else {
    results.push(
      fail(
        'resource-metadata.fields',
        FIELDS_TITLE,
        `missing: ${missing.join(', ')}`,
        'serve the metadata the construct builds (scopesSupported / requiredScopes fill scopes_supported); a proxy in front must not rewrite it',
      ),
    );
  }
  return { results, issuer, scopesSupported: isStringList(scopes) ? scopes : [] };
}

export async function checkResourceMetadata(context: VerifyContext, url: string): Promise<ResourceMetadataFindings> {
  const skipRest = (reason: string) =>
    [RESOURCE_TITLE, SERVERS_TITLE, FIELDS_TITLE].map((title, index) =>
      skip(
        ['resource-metadata.resource', 'resource-metadata.authorization-servers', 'resource-metadata.fields'][index],
        title,
        reason,
      ),
    );
  try {
    const response = await context.http({ method: 'GET', url, headers: { Accept: 'application/json' } });
    const document = response.status === 200 ? jsonObject(response) : undefined;
    if (document === undefined || !isJsonContentType(response)) {
      const detail =
        response.status !== 200
          ? `GET ${url} answered HTTP ${response.status}`
          : `GET ${url} did not answer a JSON object with a JSON content type`;
      return {
        results: [
          fail(
            'resource-metadata.json',
            JSON_TITLE,
            detail,
            'serve the metadata at <base>/.well-known/oauth-protected-resource/mcp (AuthKitMcpServer routes it to its metadata function)',
          ),
          ...skipRest('no metadata to check'),
        ],
        scopesSupported: [],
      };
    }
    const judged = judgeResourceMetadata(document, context.mcpUrl);
    return {
      ...judged,
      results: [
        pass('resource-metadata.json', JSON_TITLE, `GET ${url} → 200 ${response.headers['content-type']?.[0]}`),
        ...judged.results,
      ],
    };
  } catch (error) {
    return {
      results: [
        fail('resource-metadata.json', JSON_TITLE, describeFailure(error), unreachableFix(context.where)),
        ...skipRest('no metadata to check'),
      ],
      scopesSupported: [],
    };
  }
}
