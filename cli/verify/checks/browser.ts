/**
 * 4. Browsers: a browser client on another origin can read the 401 and its challenge (with the
 * header spelled `Origin` and `origin`), its preflight succeeds without credentials, and an origin
 * outside the allow-list is refused as configured.
 */
import { INITIALIZE_BODY, MCP_POST_HEADERS, unreachableFix, type VerifyContext } from '../context';
import { describeFailure, headerValue, type HttpResponse } from '../http';
import { sectionResults, type CheckResult } from '../report';

const { pass, fail, skip } = sectionResults('browser');

/** An origin no one can own (RFC 2606 `.invalid`): never on anyone's allow-list. */
export const OUTSIDER_ORIGIN = 'https://outsider.verify.invalid';

const PREFLIGHT_HEADERS = ['authorization', 'content-type', 'mcp-protocol-version'];

const listOf = (response: HttpResponse, name: string) =>
  (headerValue(response, name) ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter(Boolean);

function allowOriginFix(origin: string): string {
  return `add ${origin} to the stage's allowedOrigins (cdk.json context.stages.<stage>.allowedOrigins or the allowedOrigins prop) and redeploy; or pass --origin with the origin your browser clients use, or --no-browser if none connect`;
}

/** Judges whether a browser on `origin` may read this 401 and its challenge. */
export function judgeReadableChallenge(response: HttpResponse, origin: string, spelling: string): CheckResult {
  const id = spelling === 'Origin' ? 'browser.challenge-cors' : 'browser.challenge-cors-lowercase';
  const title = `From ${origin} (header "${spelling}"), the 401 allows the origin and exposes WWW-Authenticate`;
  if (response.status !== 401)
    return fail(id, title, `got HTTP ${response.status} instead of 401`, 'see the challenge checks above');
  const allowed = headerValue(response, 'access-control-allow-origin');
  if (allowed !== origin && allowed !== '*') {
    const detail =
      allowed === undefined
        ? 'the 401 has no Access-Control-Allow-Origin'
        : `Access-Control-Allow-Origin is "${allowed}"`;
    const fix =
      spelling === 'origin' && allowed === undefined
        ? `API Gateway did not read the lower-case origin header into the gateway response; ${allowOriginFix(origin)}`
        : allowOriginFix(origin);
    return fail(id, title, detail, fix);
  }
  if (!listOf(response, 'access-control-expose-headers').includes('www-authenticate')) {
    return fail(
      id,
      title,
      `Access-Control-Expose-Headers is "${headerValue(response, 'access-control-expose-headers') ?? ''}"`,
      'the UNAUTHORIZED gateway response must expose WWW-Authenticate (AuthKitMcpServer sets Access-Control-Expose-Headers on every gateway response)',
    );
  }
  return pass(id, title, `Access-Control-Allow-Origin: ${allowed}; exposes WWW-Authenticate`);
}

export function judgePreflight(response: HttpResponse, origin: string): CheckResult {
  const title = `The preflight for /mcp from ${origin} succeeds without credentials`;
  const id = 'browser.preflight';
  if (response.status < 200 || response.status > 299) {
    return fail(
      id,
      title,
      `OPTIONS answered HTTP ${response.status}`,
      'the /mcp preflight must not sit behind the authorizer: AuthKitMcpServer adds an OPTIONS method without authorization',
    );
  }
  const allowed = headerValue(response, 'access-control-allow-origin');
  if (allowed !== origin && allowed !== '*')
    return fail(id, title, `Access-Control-Allow-Origin is "${allowed ?? ''}"`, allowOriginFix(origin));
  const methods = listOf(response, 'access-control-allow-methods');
  const headers = listOf(response, 'access-control-allow-headers');
  const missing = [
    ...(methods.includes('post') ? [] : ['method POST']),
    ...PREFLIGHT_HEADERS.filter((name) => !headers.includes(name)).map((name) => `header ${name}`),
  ];
  if (missing.length > 0)
    return fail(
      id,
      title,
      `the preflight does not allow ${missing.join(', ')}`,
      "the /mcp preflight must allow POST and the MCP request headers (AuthKitMcpServer's preflight does)",
    );
  return pass(id, title, `HTTP ${response.status}; allows POST with ${PREFLIGHT_HEADERS.join(', ')}`);
}

/**
 * An outsider is refused when nothing grants it access. A `*` on the 401 alone grants nothing a
 * page could not read anyway (error bodies are public, no credentials are involved), so it does not
 * count as a grant. A preflight answering `*` lets any page send the request, which is fine only if
 * the request itself is refused (the MCP handler's Origin check) or the stage means to allow every
 * origin; the detail says what the preflight answered, not what the stage is configured with, which
 * this command cannot see.
 */
export function judgeOutsider(answers: {
  challenge: HttpResponse;
  preflight: HttpResponse;
  withToken?: HttpResponse;
}): CheckResult {
  const title = `An origin outside the allow-list (${OUTSIDER_ORIGIN}) is refused as configured`;
  const id = 'browser.outsider';
  const preflightAny = headerValue(answers.preflight, 'access-control-allow-origin') === '*';
  const preflightNote = preflightAny
    ? `the preflight from ${OUTSIDER_ORIGIN} answered Access-Control-Allow-Origin: * (any page may send the request)`
    : undefined;
  const problems = [
    ...(headerValue(answers.challenge, 'access-control-allow-origin') === OUTSIDER_ORIGIN
      ? ['the 401 echoes it in Access-Control-Allow-Origin']
      : []),
    ...(headerValue(answers.preflight, 'access-control-allow-origin') === OUTSIDER_ORIGIN
      ? ['the preflight allows it']
      : []),
    // Any refusal will do: 403 from the MCP handler's Origin check, or 401 when the token itself is refused.
    ...(answers.withToken && answers.withToken.status < 400 && !preflightAny
      ? [`a request with the token from it was served (HTTP ${answers.withToken.status}), not refused with 403`]
      : []),
  ];
  if (problems.length > 0) {
    return fail(
      id,
      title,
      problems.join('; '),
      "list only your clients' origins in allowedOrigins; gateway responses and the MCP handler must not grant any other origin",
    );
  }
  const withToken = answers.withToken ? `a request with the token from it got HTTP ${answers.withToken.status}` : '';
  if (preflightNote !== undefined) return pass(id, title, [preflightNote, withToken].filter(Boolean).join('; '));
  return pass(id, title, withToken ? `no CORS grant; ${withToken}` : 'no CORS grant on the 401 or the preflight');
}

async function postWithoutToken(context: VerifyContext, originHeader: string, origin: string): Promise<HttpResponse> {
  return context.http({
    method: 'POST',
    url: context.mcpUrl,
    headers: { ...MCP_POST_HEADERS, [originHeader]: origin },
    body: INITIALIZE_BODY,
  });
}

async function preflight(context: VerifyContext, origin: string): Promise<HttpResponse> {
  return context.http({
    method: 'OPTIONS',
    url: context.mcpUrl,
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': PREFLIGHT_HEADERS.join(', '),
    },
  });
}

/** `sendWithToken` sends a request to <McpUrl> with the token; it is the only way a token leaves. */
export type TokenSender = (headers: Record<string, string>, body: string) => Promise<HttpResponse>;

export async function checkBrowser(context: VerifyContext, sendWithToken?: TokenSender): Promise<CheckResult[]> {
  const origin = context.origin;
  if (origin === null)
    return [skip('browser.all', 'Browser checks', '--no-browser: no browser client connects to this server')];
  const results: CheckResult[] = [];
  const guarded = async (id: string, title: string, run: () => Promise<CheckResult>) => {
    try {
      results.push(await run());
    } catch (error) {
      results.push(fail(id, title, describeFailure(error), unreachableFix(context.where)));
    }
  };
  for (const spelling of ['Origin', 'origin']) {
    await guarded(
      spelling === 'Origin' ? 'browser.challenge-cors' : 'browser.challenge-cors-lowercase',
      `The 401 is readable from ${origin}`,
      async () => judgeReadableChallenge(await postWithoutToken(context, spelling, origin), origin, spelling),
    );
  }
  await guarded('browser.preflight', 'The preflight succeeds', async () =>
    judgePreflight(await preflight(context, origin), origin),
  );
  await guarded('browser.outsider', 'An outside origin is refused', async () =>
    judgeOutsider({
      challenge: await postWithoutToken(context, 'Origin', OUTSIDER_ORIGIN),
      preflight: await preflight(context, OUTSIDER_ORIGIN),
      withToken: sendWithToken
        ? await sendWithToken({ ...MCP_POST_HEADERS, Origin: OUTSIDER_ORIGIN }, INITIALIZE_BODY)
        : undefined,
    }),
  );
  return results;
}
