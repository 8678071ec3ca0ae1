/**
 * 6 (continued). With the token, a real MCP client session through the official SDK: initialize,
 * tools/list and `whoami`, which must name the token's subject; no response may echo the token.
 */
import {
  Client,
  StreamableHTTPClientTransport,
  type CallToolResult,
  type FetchLike,
} from '@modelcontextprotocol/client';
import { type BodyMeter, bodyMeter, readText, withCappedBody } from '../bounded-body';
import { logsHint, type Where, whereOf, wrongPathFix } from '../context';
import { sectionResults, type CheckResult } from '../report';
import { lambdaThrottlingEvidence, THROTTLED_FIX } from './throttling';
import { VerifyError } from '../errors';

const { pass, fail, skip } = sectionResults('token');

const INITIALIZE_TITLE = 'initialize succeeds with the token';
const TOOLS_TITLE = 'tools/list succeeds';
const WHOAMI_TITLE = "whoami succeeds and names the token's subject";
const NOT_ECHOED_TITLE = 'No response to the token echoes it';

/** The endpoint as a comparable string: origin and path, nothing else. */
const endpointOf = (url: string | URL) => {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
};

/** One answer of the MCP endpoint, kept for the checks that follow the session. */
export interface SeenAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as far as it was read (the cap, or the end of the session, cuts it short). */
  readonly body: Promise<string>;
}

export class TokenDestinationError extends VerifyError {
  readonly code = 'TOKEN_DESTINATION_REFUSED';
  constructor(url: string) {
    super(`Refused to send the token to ${endpointOf(url)}: it goes only to the MCP URL.`);
  }
}

/**
 * A fetch that carries the token to `<McpUrl>` and nowhere else: any other URL throws before a
 * byte is sent, redirects are errors, and each request is bounded in time and body size (`meter`).
 * It keeps what came back, so the session can check that no answer echoes the token.
 */
export function tokenFetch(
  mcpUrl: string,
  token: string,
  timeoutMs: number,
  answers: SeenAnswer[],
  meter: BodyMeter = bodyMeter(),
): FetchLike {
  const endpoint = endpointOf(mcpUrl);
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (endpointOf(url) !== endpoint) throw new TokenDestinationError(url);
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${token}`);
    const fetched = await fetch(url, { ...init, headers, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    const response = withCappedBody(fetched, url, meter);
    const headerMap: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headerMap[name] = value;
    });
    const seen = { status: response.status, headers: headerMap };
    if (response.body === null) {
      answers.push({ ...seen, body: Promise.resolve('') });
      return response;
    }
    // Both branches come from the capped body, so neither holds more than the cap. The copy is read
    // alongside the SDK, which consumes the other; a stream still open at the end is cut short.
    const [forSdk, forCheck] = response.body.tee();
    answers.push({ ...seen, body: readText(forCheck) });
    return new Response(forSdk, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The body of an answer, or what arrived of it within a second (a held stream may never end). */
function bodyWithin(answer: SeenAnswer, ms = 1000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(resolve, ms, '')));
  return Promise.race([answer.body, late]).finally(() => clearTimeout(timer));
}

/** Why an answer of the session looks like a throttled MCP function, or undefined. */
async function throttlingIn(answers: readonly SeenAnswer[]): Promise<string | undefined> {
  for (const answer of answers) {
    if (answer.status < 400) continue;
    const evidence = lambdaThrottlingEvidence(answer.status, answer.headers, await bodyWithin(answer));
    if (evidence !== undefined) return evidence;
  }
  return undefined;
}

async function sessionFailure(
  error: unknown,
  meter: BodyMeter,
  answers: readonly SeenAnswer[],
  where: Where,
  mcpUrl: string,
): Promise<{ detail: string; fix: string }> {
  const throttled = await throttlingIn(answers);
  if (throttled !== undefined) return { detail: `the MCP function is throttled: ${throttled}`, fix: THROTTLED_FIX };
  if (meter.tooLarge !== undefined) {
    return {
      detail: meter.tooLarge.message,
      fix: `the MCP endpoint sent a body that is too large or never ends: ${logsHint(where)}, and what the tool answers`,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/\b401\b|unauthori[sz]ed/i.test(message)) {
    return {
      detail: `the server refused the token: ${message}`,
      fix: 'see the token checks above: the token must be for <McpUrl>, from the issuer, and unexpired',
    };
  }
  if (/\b403\b|forbidden|insufficient_scope/i.test(message)) {
    return {
      detail: `the server denied the request: ${message}`,
      fix: 'the token lacks a required scope (requiredScopes), or the origin is not in allowedOrigins',
    };
  }
  if (answers.some((answer) => answer.status === 404) || /\b404\b|not found/i.test(message)) {
    return {
      detail: message,
      fix: wrongPathFix(mcpUrl, where),
    };
  }
  return { detail: message, fix: `${logsHint(where)}; a 5xx means the function failed` };
}

async function callWhoami(client: Client, subject: unknown, timeoutMs: number, where: Where): Promise<CheckResult> {
  const result = (await client.callTool({ name: 'whoami', arguments: {} }, { timeout: timeoutMs })) as CallToolResult;
  if (result.isError) return fail('mcp.whoami', WHOAMI_TITLE, 'whoami answered with an error result', logsHint(where));
  const sub = (result.structuredContent as { sub?: unknown } | undefined)?.sub;
  if (sub !== subject)
    return fail(
      'mcp.whoami',
      WHOAMI_TITLE,
      `whoami names ${String(sub)}, the token's sub is ${String(subject)}`,
      "the MCP function must take the caller from the authorizer's context (callerOf(ctx.http?.authInfo)), not from elsewhere",
    );
  return pass('mcp.whoami', WHOAMI_TITLE, `sub: ${String(sub)}`);
}

export async function checkMcpSession(
  mcpUrl: string,
  token: string,
  subject: unknown,
  timeoutMs: number,
  meter: BodyMeter = bodyMeter(),
  where: Where = whereOf(mcpUrl),
): Promise<CheckResult[]> {
  const answers: SeenAnswer[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    fetch: tokenFetch(mcpUrl, token, timeoutMs, answers, meter),
  });
  // A body cut at the cap fails the session's pending requests at once, not after their timeout.
  meter.onTooLarge = () => void transport.close().catch(() => undefined);
  const client = new Client({ name: 'mcp-authkit-apigateway-verify', version: '1.0.0' });
  const results: CheckResult[] = [];
  try {
    try {
      await client.connect(transport, { timeout: timeoutMs });
      const server = client.getServerVersion();
      results.push(
        pass(
          'mcp.initialize',
          INITIALIZE_TITLE,
          `server ${server?.name ?? '?'} ${server?.version ?? ''}, protocol ${client.getNegotiatedProtocolVersion() ?? '?'}`.trim(),
        ),
      );
    } catch (error) {
      const { detail, fix } = await sessionFailure(error, meter, answers, where, mcpUrl);
      return [
        fail('mcp.initialize', INITIALIZE_TITLE, detail, fix),
        skip('mcp.tools-list', TOOLS_TITLE, 'initialize failed'),
        skip('mcp.whoami', WHOAMI_TITLE, 'initialize failed'),
      ];
    }
    let toolNames: string[] = [];
    try {
      toolNames = (await client.listTools(undefined, { timeout: timeoutMs })).tools.map((tool) => tool.name);
      results.push(pass('mcp.tools-list', TOOLS_TITLE, `tools: ${toolNames.join(', ') || '(none)'}`));
    } catch (error) {
      const { detail, fix } = await sessionFailure(error, meter, answers, where, mcpUrl);
      results.push(fail('mcp.tools-list', TOOLS_TITLE, detail, fix));
    }
    if (!toolNames.includes('whoami')) {
      results.push(
        skip(
          'mcp.whoami',
          WHOAMI_TITLE,
          'the server has no whoami tool (a custom MCP handler), so the identity it sees is not checked',
        ),
      );
    } else {
      try {
        results.push(await callWhoami(client, subject, timeoutMs, where));
      } catch (error) {
        const { detail, fix } = await sessionFailure(error, meter, answers, where, mcpUrl);
        results.push(fail('mcp.whoami', WHOAMI_TITLE, detail, fix));
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  const settled = await Promise.all(
    answers.map(async (answer) => {
      const headerLines = Object.entries(answer.headers).map(([name, value]) => `${name}: ${value}`);
      return `${headerLines.join('\n')}\n${await bodyWithin(answer)}`;
    }),
  );
  const echoed = settled.some((answer) => answer.includes(token));
  results.push(
    echoed
      ? fail(
          'mcp.token-not-echoed',
          NOT_ECHOED_TITLE,
          'an answer of the MCP endpoint contains the access token',
          'never return AuthInfo.token from a tool or an error: use callerOf(ctx.http?.authInfo), which omits it',
        )
      : pass('mcp.token-not-echoed', NOT_ECHOED_TITLE, `${settled.length} answers checked`),
  );
  return results;
}
