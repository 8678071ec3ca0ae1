/**
 * 5. Hygiene: an unknown route gets 404 JSON; an `Authorization` header sent to an unknown route or
 * method never comes back, raw or hashed (API Gateway's own message quotes it as a SHA-256 hash);
 * a malformed token gets 401, not 5xx.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  baseOfMcpUrl,
  INITIALIZE_BODY,
  MCP_POST_HEADERS,
  unreachableFix,
  type VerifyContext,
  wrongPathFix,
} from '../context';
import { describeFailure, isJsonContentType, jsonObject, type HttpResponse } from '../http';
import { sectionResults, type CheckResult } from '../report';

const { pass, fail } = sectionResults('hygiene');

const UNKNOWN_ROUTE_TITLE = 'An unknown route gets 404 JSON';
const NO_ECHO_TITLE =
  'An Authorization header sent to an unknown route or method is never echoed, raw or hashed, and the error body is static';
const MALFORMED_TITLE = 'A malformed token gets 401, not 5xx';

/** Every form in which a header value could come back: raw, and SHA-256 in hex, base64 and base64url. */
export function echoForms(value: string): string[] {
  const digest = createHash('sha256').update(value).digest();
  return [value, digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')];
}

/** Names what of `secrets` a response gives back: in its body or any header value. */
export function findEcho(response: HttpResponse, secrets: readonly string[]): string[] {
  const haystack = [response.body, ...Object.values(response.headers).flat()].join('\n');
  const found: string[] = secrets.flatMap((secret) =>
    echoForms(secret)
      .filter((form) => haystack.includes(form))
      .slice(0, 1)
      .map((form) => (form === secret ? 'the header raw' : 'its SHA-256 hash')),
  );
  // API Gateway's message for a non-SigV4 Authorization header quotes it "hashed with SHA-256".
  if (/hashed with SHA-256/i.test(response.body)) found.push("API Gateway's message quoting the Authorization header");
  return [...new Set(found)];
}

function unknownRouteUrl(context: VerifyContext, suffix: string): string {
  const base = baseOfMcpUrl(context.mcpUrl) ?? new URL(context.mcpUrl).origin;
  return `${base}/verify-no-such-route-${suffix}`;
}

export function judgeUnknownRoute(response: HttpResponse): CheckResult {
  if (response.status === 404 && isJsonContentType(response) && jsonObject(response))
    return pass('hygiene.unknown-route', UNKNOWN_ROUTE_TITLE, 'HTTP 404 with a JSON body');
  return fail(
    'hygiene.unknown-route',
    UNKNOWN_ROUTE_TITLE,
    `got HTTP ${response.status} (${response.headers['content-type']?.[0] ?? 'no content type'})`,
    'answer MISSING_AUTHENTICATION_TOKEN with 404 JSON (AuthKitMcpServer\'s NotFound gateway response does); API Gateway\'s default is a 403 "Missing Authentication Token"',
  );
}

/** A probe: which request carried which canary header. */
interface EchoProbe {
  readonly label: string;
  readonly response: HttpResponse;
  readonly header: string;
}

/**
 * No probe gets its header back, raw or hashed, nor a 5xx; and the first two probes, the same
 * request with two different headers, get the same body: a static message, not one built from the header.
 */
export function judgeNoEcho(probes: readonly EchoProbe[]): CheckResult {
  const problems = probes.flatMap((probe) => {
    const echoed = findEcho(probe.response, [probe.header, probe.header.replace(/^Bearer /, '')]);
    const serverError = probe.response.status >= 500 ? [`${probe.label}: HTTP ${probe.response.status}`] : [];
    return [
      ...(echoed.length > 0 ? [`${probe.label} (HTTP ${probe.response.status}) returns ${echoed.join(' and ')}`] : []),
      ...serverError,
    ];
  });
  const [first, second] = probes;
  if (first && second && first.label === second.label && first.response.body !== second.response.body) {
    problems.push(`${first.label}: the body changes with the Authorization header, so it is not a static message`);
  }
  if (problems.length > 0) {
    return fail(
      'hygiene.no-echo',
      NO_ECHO_TITLE,
      problems.join('; '),
      'use static messages in the DEFAULT_4XX / DEFAULT_5XX gateway responses (no $context.error.message or messageString) and add explicit MISSING_AUTHENTICATION_TOKEN, INVALID_SIGNATURE and EXPIRED_TOKEN responses',
    );
  }
  return pass(
    'hygiene.no-echo',
    NO_ECHO_TITLE,
    [...new Map(probes.map((probe) => [probe.label, `${probe.label}: HTTP ${probe.response.status}`])).values()].join(
      '; ',
    ),
  );
}

export function judgeMalformed(
  answers: ReadonlyArray<{ label: string; response: HttpResponse }>,
  context?: Pick<VerifyContext, 'mcpUrl' | 'where'>,
): CheckResult {
  const wrong = answers.filter((answer) => answer.response.status !== 401);
  const detail = wrong.map((answer) => `${answer.label}: HTTP ${answer.response.status}`).join('; ');
  if (context && wrong.length > 0 && wrong.every((answer) => answer.response.status === 404))
    return fail('hygiene.malformed-token', MALFORMED_TITLE, detail, wrongPathFix(context.mcpUrl, context.where));
  if (wrong.length > 0) {
    return fail(
      'hygiene.malformed-token',
      MALFORMED_TITLE,
      detail,
      "the authorizer must refuse a token it cannot parse with Unauthorized (401), not fail (5xx): deploy the construct's authorizer and its identity validation expression",
    );
  }
  return pass('hygiene.malformed-token', MALFORMED_TITLE, answers.map((answer) => `${answer.label}: 401`).join('; '));
}

async function attempt(
  context: VerifyContext,
  id: string,
  title: string,
  run: () => Promise<CheckResult>,
): Promise<CheckResult> {
  try {
    return await run();
  } catch (error) {
    return fail(id, title, describeFailure(error), unreachableFix(context.where));
  }
}

export async function checkHygiene(context: VerifyContext): Promise<CheckResult[]> {
  // Canaries, not tokens: random values no one holds, so sending them to an unknown route leaks nothing.
  const canary = () =>
    `Bearer ${randomBytes(18).toString('base64url')}.${randomBytes(18).toString('base64url')}.${randomBytes(18).toString('base64url')}`;
  const suffix = randomBytes(6).toString('hex');
  return [
    await attempt(context, 'hygiene.unknown-route', UNKNOWN_ROUTE_TITLE, async () =>
      judgeUnknownRoute(
        await context.http({
          method: 'GET',
          url: unknownRouteUrl(context, suffix),
          headers: { Accept: 'application/json' },
        }),
      ),
    ),
    await attempt(context, 'hygiene.no-echo', NO_ECHO_TITLE, async () => {
      const routeHeaders = [canary(), canary()];
      const methodHeader = canary();
      const sigV4Like = `AWS4-HMAC-SHA256 ${randomBytes(24).toString('base64url')}`;
      const onUnknownRoute = async (header: string) => ({
        label: 'GET on an unknown route',
        header,
        response: await context.http({
          method: 'GET',
          url: unknownRouteUrl(context, suffix),
          headers: { Authorization: header },
        }),
      });
      return judgeNoEcho([
        await onUnknownRoute(routeHeaders[0]),
        await onUnknownRoute(routeHeaders[1]),
        {
          label: 'PATCH on /mcp (no such method)',
          header: methodHeader,
          response: await context.http({
            method: 'PATCH',
            url: context.mcpUrl,
            headers: { Authorization: methodHeader, 'Content-Type': 'application/json' },
            body: '{}',
          }),
        },
        {
          label: 'GET on an unknown route with a non-Bearer header',
          header: sigV4Like,
          response: await context.http({
            method: 'GET',
            url: unknownRouteUrl(context, suffix),
            headers: { Authorization: sigV4Like },
          }),
        },
      ]);
    }),
    await attempt(context, 'hygiene.malformed-token', MALFORMED_TITLE, async () => {
      const post = (authorization: string) =>
        context.http({
          method: 'POST',
          url: context.mcpUrl,
          headers: { ...MCP_POST_HEADERS, Authorization: authorization },
          body: INITIALIZE_BODY,
        });
      return judgeMalformed(
        [
          { label: '"Bearer not-a-jwt"', response: await post('Bearer not-a-jwt') },
          {
            label: 'a three-part token of garbage',
            response: await post(
              `Bearer ${randomBytes(12).toString('base64url')}.${randomBytes(12).toString('base64url')}.${randomBytes(12).toString('base64url')}`,
            ),
          },
        ],
        context,
      );
    }),
  ];
}
