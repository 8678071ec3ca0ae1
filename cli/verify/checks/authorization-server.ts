/**
 * 3. Authorization-server metadata, both the copy this stack serves and the issuer's own: the
 * issuer matches, PKCE S256 is offered, DCR and/or CIMD are advertised, and the JWKS is reachable
 * and holds RS256 keys.
 */
import { authorizationServerMetadataUrl, baseOfMcpUrl, type VerifyContext } from '../context';
import { describeFailure, jsonObject } from '../http';
import { sectionResults, type CheckResult } from '../report';

const { pass, fail, skip } = sectionResults('authorizationServer');

export interface AuthorizationServerFindings {
  readonly results: CheckResult[];
  /** The issuer's own metadata, when it was found and names the issuer. */
  readonly metadata?: Record<string, unknown>;
}

interface FetchedDocument {
  readonly label: string;
  readonly url: string;
  readonly document?: Record<string, unknown>;
  readonly problem?: string;
}

const ISSUER_TITLE = "The issuer's own metadata names the issuer of the protected-resource metadata";
const COPY_TITLE = "The stack's copy of the metadata names the same issuer";
const PKCE_TITLE = 'PKCE S256 is offered (code_challenge_methods_supported)';
const REGISTRATION_TITLE =
  'DCR (registration_endpoint) and/or CIMD (client_id_metadata_document_supported) are advertised';
const JWKS_TITLE = 'The JWKS is reachable and holds RS256 keys';

async function fetchDocument(context: VerifyContext, label: string, urls: readonly string[]): Promise<FetchedDocument> {
  let problem = 'not found';
  for (const url of urls) {
    try {
      const response = await context.http({ method: 'GET', url, headers: { Accept: 'application/json' } });
      const document = response.status === 200 ? jsonObject(response) : undefined;
      if (document) return { label, url, document };
      problem = `GET ${url} answered HTTP ${response.status}${response.status === 200 ? ' without a JSON object' : ''}`;
    } catch (error) {
      problem = describeFailure(error);
    }
  }
  return { label, url: urls[0], problem };
}

function judgeIssuer(fetched: FetchedDocument, issuer: string, id: string, title: string, fix: string): CheckResult {
  if (!fetched.document) return fail(id, title, `${fetched.label}: ${fetched.problem}`, fix);
  if (fetched.document.issuer !== issuer) {
    return fail(
      id,
      title,
      `${fetched.label} at ${fetched.url} names issuer "${String(fetched.document.issuer)}", expected "${issuer}"`,
      fix,
    );
  }
  return pass(id, title, `${fetched.label}: issuer ${issuer}`);
}

/** Runs one judgement over every document that was found; the check passes only when each does. */
function judgeEach(
  documents: readonly FetchedDocument[],
  id: string,
  title: string,
  fix: string,
  problemOf: (document: Record<string, unknown>) => string | undefined,
  okDetail: (document: Record<string, unknown>) => string,
): CheckResult {
  const found = documents.flatMap(({ label, document }) => (document ? [{ label, document }] : []));
  if (found.length === 0) return skip(id, title, 'no authorization-server metadata to check');
  const problems = found.flatMap(({ label, document }) => {
    const problem = problemOf(document);
    return problem ? [`${label}: ${problem}`] : [];
  });
  if (problems.length > 0) return fail(id, title, problems.join('; '), fix);
  return pass(id, title, found.map(({ label, document }) => `${label}: ${okDetail(document)}`).join('; '));
}

export function judgePkce(documents: readonly FetchedDocument[]): CheckResult {
  return judgeEach(
    documents,
    'authorization-server.pkce',
    PKCE_TITLE,
    'MCP clients require PKCE S256: point authkitDomain at your AuthKit domain (WorkOS Connect → Configuration), which offers it',
    (document) => {
      const methods = document.code_challenge_methods_supported;
      return Array.isArray(methods) && methods.includes('S256')
        ? undefined
        : `code_challenge_methods_supported is ${JSON.stringify(methods ?? null)}`;
    },
    () => 'S256',
  );
}

export function judgeRegistration(documents: readonly FetchedDocument[]): CheckResult {
  return judgeEach(
    documents,
    'authorization-server.registration',
    REGISTRATION_TITLE,
    "enable DCR or CIMD in WorkOS Connect → Configuration (then wait for the stack's cached copy to refresh, at most authorizationServerMetadataCacheTtl)",
    (document) =>
      typeof document.registration_endpoint === 'string' || document.client_id_metadata_document_supported === true
        ? undefined
        : 'neither registration_endpoint nor client_id_metadata_document_supported: true, so a client cannot obtain a client id',
    (document) =>
      [
        ...(typeof document.registration_endpoint === 'string' ? [`DCR at ${document.registration_endpoint}`] : []),
        ...(document.client_id_metadata_document_supported === true ? ['CIMD'] : []),
      ].join(' and '),
  );
}

async function checkJwks(context: VerifyContext, metadata: Record<string, unknown> | undefined): Promise<CheckResult> {
  const id = 'authorization-server.jwks';
  if (!metadata) return skip(id, JWKS_TITLE, 'no issuer metadata to find the JWKS in');
  const jwksUri = metadata.jwks_uri;
  const fix = (uri: string) =>
    `the authorizer cannot verify any token while ${uri} fails: check that authkitDomain names a live AuthKit environment (WorkOS Connect → Configuration) and retry when AuthKit is reachable`;
  if (typeof jwksUri !== 'string') return fail(id, JWKS_TITLE, 'the issuer metadata has no jwks_uri', fix('the JWKS'));
  try {
    const response = await context.http({ method: 'GET', url: jwksUri, headers: { Accept: 'application/json' } });
    const keys = response.status === 200 ? jsonObject(response)?.keys : undefined;
    if (!Array.isArray(keys))
      return fail(
        id,
        JWKS_TITLE,
        `GET ${jwksUri} answered HTTP ${response.status}${response.status === 200 ? ' without a keys list' : ''}`,
        fix(jwksUri),
      );
    const rs256 = keys.filter(
      (key): key is Record<string, unknown> =>
        typeof key === 'object' &&
        key !== null &&
        (key as Record<string, unknown>).kty === 'RSA' &&
        ((key as Record<string, unknown>).alg ?? 'RS256') === 'RS256' &&
        ((key as Record<string, unknown>).use ?? 'sig') === 'sig',
    );
    if (rs256.length === 0)
      return fail(
        id,
        JWKS_TITLE,
        `${jwksUri} holds ${keys.length} keys, none an RS256 signing key`,
        'the authorizer accepts RS256 (tokenAlgorithms); AuthKit signs with RS256: check that authkitDomain is your AuthKit domain',
      );
    return pass(
      id,
      JWKS_TITLE,
      `${jwksUri}: ${rs256.length} RS256 key${rs256.length === 1 ? '' : 's'} (kid ${rs256.map((key) => String(key.kid)).join(', ')})`,
    );
  } catch (error) {
    return fail(id, JWKS_TITLE, describeFailure(error), fix(jwksUri));
  }
}

export async function checkAuthorizationServer(
  context: VerifyContext,
  issuer: string | undefined,
): Promise<AuthorizationServerFindings> {
  const titles: Array<[string, string]> = [
    ['authorization-server.issuer', ISSUER_TITLE],
    ['authorization-server.copy', COPY_TITLE],
    ['authorization-server.pkce', PKCE_TITLE],
    ['authorization-server.registration', REGISTRATION_TITLE],
    ['authorization-server.jwks', JWKS_TITLE],
  ];
  if (issuer === undefined)
    return {
      results: titles.map(([id, title]) => skip(id, title, 'the protected-resource metadata names no single issuer')),
    };

  const own = await fetchDocument(context, "the issuer's metadata", [
    authorizationServerMetadataUrl(issuer),
    `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  ]);
  const base = baseOfMcpUrl(context.mcpUrl);
  const copy =
    base === undefined
      ? undefined
      : await fetchDocument(context, "the stack's copy", [`${base}/.well-known/oauth-authorization-server`]);
  const issuerResult = judgeIssuer(
    own,
    issuer,
    'authorization-server.issuer',
    ISSUER_TITLE,
    `set authkitDomain to the AuthKit domain whose metadata names itself "${issuer}" (WorkOS Connect → Configuration) and redeploy`,
  );
  const copyResult =
    copy === undefined
      ? skip(
          'authorization-server.copy',
          COPY_TITLE,
          "<McpUrl> does not end in /mcp, so the copy's location is unknown",
        )
      : judgeIssuer(
          copy,
          issuer,
          'authorization-server.copy',
          COPY_TITLE,
          "the stack serves a copy of another issuer's metadata, or none: redeploy with the same authkitDomain the protected-resource metadata names, and check that AuthKit is reachable from AWS",
        );
  const documents = [own, ...(copy ? [copy] : [])];
  const metadata = issuerResult.status === 'pass' ? own.document : undefined;
  return {
    results: [
      issuerResult,
      copyResult,
      judgePkce(documents),
      judgeRegistration(documents),
      await checkJwks(context, metadata),
    ],
    metadata,
  };
}
