/**
 * The fault scenarios of the soak run. Each one breaks one thing (AuthKit's JWKS, its metadata, a
 * function's configuration, the request size), sends real requests through a gateway serving the
 * synthesized stack, and asserts the expected answer for every request: the right status, the
 * right headers, never an Allow that should not happen, and never a wait past the configured
 * timeout plus a small margin.
 */
import type { AuthKitTestControls } from '../local/authkit/launch';
import { startGateway, type RunningGateway } from '../local/gateway';
import type { LocalStack } from '../local/stack';
import { runProbes } from './load';
import {
  addressOf,
  mcpRequest,
  jsonAt,
  parseJson,
  whoamiProbe,
  withToken,
  type Probe,
  type ProbeTargets,
  type Reply,
  type Verdict,
} from './probes';
import type { DeployedSettings } from './settings';
import type { SoakToken, TokenFactory } from './tokens';
import type { FaultyUpstream } from './upstream';

export interface SoakContext {
  readonly stack: LocalStack;
  readonly controls: AuthKitTestControls;
  readonly tokens: TokenFactory;
  readonly upstream: FaultyUpstream;
  readonly settings: DeployedSettings;
  readonly random: () => number;
  /** The main stack's gateway, as a probe target. */
  readonly targets: ProbeTargets;
  /** Receives every log line of the extra gateways and their functions. */
  readonly onLogLine: (line: string) => void;
  /** Every token sent, so the logs can be searched for them afterwards. */
  readonly sentTokens: SoakToken[];
  /** What a response may take beyond the timeout that bounds it (process start, queuing). */
  readonly marginMs: number;
}

export interface FaultResult {
  readonly name: string;
  /** The expected outcome, in words. */
  readonly expected: string;
  readonly requests: number;
  /** Answers other than the expected one. */
  readonly mismatches: number;
  /** Requests that got a 2xx where a refusal or failure was expected. */
  readonly wronglyAllowed: number;
  readonly slowestMs: number;
  readonly limitMs: number;
  readonly details: readonly string[];
  /** A further figure the scenario is judged on, e.g. JWKS fetches against their budget. */
  readonly budget?: { readonly name: string; readonly value: number; readonly max: number; readonly unit: string };
}

/** Lambda's limit on a function's init phase; after an init failure every request starts a new environment. */
const LAMBDA_INIT_LIMIT_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The same request as `probe`, judged against a fixed status (and an optional further check). */
function expecting(probe: Probe, kind: string, status: number, check?: (reply: Reply) => string | undefined): Probe {
  return {
    ...probe,
    kind,
    judge(reply): Verdict {
      const allowed = reply.status >= 200 && reply.status < 300;
      if (allowed && !(status >= 200 && status < 300))
        return { outcome: 'wrong-decision', detail: `${kind}: HTTP ${reply.status} where ${status} was expected` };
      if (reply.status !== status)
        return {
          outcome: 'unexpected',
          detail: `${kind}: HTTP ${reply.status}${reply.error ? ` (${reply.error})` : ''}, expected ${status}: ${reply.text.slice(0, 160)}`,
        };
      const problem = check?.(reply);
      return problem ? { outcome: 'unexpected', detail: `${kind}: ${problem}` } : { outcome: 'ok' };
    },
  };
}

/** A 503 that says when to come back: Retry-After and the JSON `temporarily_unavailable` error (the gateway's when the authorizer cannot judge, the metadata function's without AuthKit). */
function isUnavailableAnswer(reply: Reply): string | undefined {
  if (!reply.headers.get('retry-after')) return 'no Retry-After header';
  return parseJson(reply.text)?.error === 'temporarily_unavailable'
    ? undefined
    : `body is not the JSON temporarily_unavailable error: ${reply.text.slice(0, 120)}`;
}

function isJsonError(reply: Reply): string | undefined {
  return (reply.headers.get('content-type') ?? '').includes('application/json') && parseJson(reply.text)
    ? undefined
    : `body is not JSON: ${reply.text.slice(0, 120)}`;
}

async function withGateway<T>(
  ctx: SoakContext,
  overrides: Record<string, Record<string, string>>,
  run: (targets: ProbeTargets, gateway: RunningGateway) => Promise<T>,
): Promise<T> {
  const gateway = await startGateway({
    cdkOut: ctx.stack.cdkOut,
    stackName: ctx.settings.stackName,
    port: 0,
    environmentOverrides: overrides,
    log: ctx.onLogLine,
    onFunctionOutput: (_id, line) => ctx.onLogLine(line),
  });
  try {
    return await run({ sendTo: gateway.url, publicUrls: ctx.stack.urls, issuer: ctx.stack.issuer }, gateway);
  } finally {
    await gateway.stop();
  }
}

async function measure(
  ctx: SoakContext,
  name: string,
  expected: string,
  probes: readonly Probe[],
  limitMs: number,
  concurrency = 4,
): Promise<Omit<FaultResult, 'budget'>> {
  for (const probe of probes) if (probe.token) ctx.sentTokens.push(probe.token);
  const result = await runProbes(probes, { concurrency, deadlineMs: limitMs + 10_000 });
  return {
    name,
    expected,
    requests: result.sent,
    mismatches: result.unexpected + result.wrongDecisions,
    wronglyAllowed: result.wrongDecisions,
    slowestMs: Math.max(0, ...result.latencies),
    limitMs,
    details: result.examples.map((e) => e.detail),
  };
}

let probeId = 1_000_000;
const whoami = (targets: ProbeTargets, token: SoakToken) => whoamiProbe(targets, token, probeId++, false);

/** AuthKit's JWKS unreachable while the authorizer holds its keys: users keep working. */
export async function jwksDownWarm(ctx: SoakContext): Promise<FaultResult> {
  const valid = await ctx.tokens.valid(40);
  const forged = ctx.tokens.forged(200, ctx.random, valid).filter((t) => t.kind === 'bad signature');
  await ctx.controls.setJwksMode('down');
  try {
    return await measure(
      ctx,
      'JWKS down, warm authorizer',
      'valid tokens 200 from the cached keys, forged signatures 401',
      [...valid, ...forged].map((token) => whoami(ctx.targets, token)),
      ctx.marginMs,
      8,
    );
  } finally {
    await ctx.controls.setJwksMode('normal');
  }
}

/** AuthKit's JWKS broken before the authorizer ever had its keys: 503 for every token that needs a key to be judged, never 200. */
export async function jwksOutageCold(ctx: SoakContext, mode: 'down' | 'error' | 'slow' | 'html'): Promise<FaultResult> {
  const valid = await ctx.tokens.valid(16);
  const refused = await ctx.tokens.signedInvalid(8, ctx.random);
  const overrides =
    mode === 'html' ? { [ctx.settings.authorizerFunctionId]: { AUTHKIT_JWKS_URL: ctx.upstream.jwksUrl } } : {};
  const label = {
    down: 'drops connections',
    error: 'answers 500',
    slow: `answers after ${ctx.settings.jwksTimeoutMs + 3000} ms`,
    html: 'answers 200 with an HTML page',
  }[mode];
  return withGateway(ctx, overrides, async (targets) => {
    if (mode === 'html') ctx.upstream.mode = 'html';
    else await ctx.controls.setJwksMode(mode, mode === 'slow' ? { delayMs: ctx.settings.jwksTimeoutMs + 3000 } : {});
    try {
      const probes = [
        ...valid.map((token) =>
          expecting(whoami(targets, token), 'valid token, keys unavailable', 503, isUnavailableAnswer),
        ),
        // A header that names its own key source is refused before any key is needed; claims are
        // read only once a key has verified the signature, so without keys a token with wrong
        // claims cannot be judged either.
        ...refused.map((token) =>
          token.kind === 'jku header'
            ? whoami(targets, token)
            : expecting(whoami(targets, token), `${token.kind} token, keys unavailable`, 503, isUnavailableAnswer),
        ),
      ];
      return await measure(
        ctx,
        `JWKS ${label}, cold authorizer`,
        '503 + Retry-After for every signed token, 401 for a header refused before any key is needed',
        probes,
        ctx.settings.jwksTimeoutMs + ctx.marginMs,
      );
    } finally {
      ctx.upstream.mode = 'normal';
      await ctx.controls.setJwksMode('normal');
    }
  });
}

/**
 * AuthKit rotates its signing key while requests flow. Tokens signed before and after the rotation
 * must all pass; each authorizer process refetches the JWKS once for the new key. The gateway runs
 * with a 1 s JWKS cooldown so that the rotation can come one cooldown after the processes' first fetch
 * without a 30 s wait.
 */
export async function keyRotation(ctx: SoakContext): Promise<FaultResult> {
  const cooldownMs = 1000;
  return withGateway(
    ctx,
    { [ctx.settings.authorizerFunctionId]: { JWKS_COOLDOWN_MS: String(cooldownMs) } },
    async (targets, gateway) => {
      const warmup = await ctx.tokens.valid(24);
      const beforeRotation = await ctx.tokens.valid(40);
      const warm = await measure(
        ctx,
        'warm-up',
        '',
        warmup.map((t) => whoami(targets, t)),
        ctx.settings.jwksTimeoutMs + ctx.marginMs,
      );
      await sleep(cooldownMs + 200);
      const fetchesBefore = await ctx.controls.jwksRequestCount();
      await ctx.controls.rotateSigningKey({ keepPrevious: true });
      const afterRotation = await ctx.tokens.valid(40);
      const mixed: SoakToken[] = [];
      for (let i = 0; i < 40; i++) mixed.push(afterRotation[i], beforeRotation[i]);
      const result = await measure(
        ctx,
        'signing key rotated mid-run',
        'tokens of the old and the new key 200; one JWKS refetch per authorizer process',
        mixed.map((t) => whoami(targets, t)),
        ctx.settings.jwksTimeoutMs + ctx.marginMs,
      );
      const fetches = (await ctx.controls.jwksRequestCount()) - fetchesBefore;
      const processes = gateway.stats().functions[ctx.settings.authorizerFunctionId]?.coldStarts ?? 0;
      return {
        ...result,
        requests: result.requests + warm.requests,
        mismatches: result.mismatches + warm.mismatches,
        wronglyAllowed: result.wronglyAllowed + warm.wronglyAllowed,
        details: [...warm.details, ...result.details],
        budget: { name: 'JWKS fetches after the rotation', value: fetches, max: processes, unit: 'fetches' },
      };
    },
  );
}

/**
 * Tokens with random `kid`s, as an attacker would send to make the authorizer hammer AuthKit. Each
 * authorizer process may fetch at most once per cooldown window, plus once when it starts.
 */
export async function randomKidFlood(ctx: SoakContext, count: number, concurrency: number): Promise<FaultResult> {
  const authorizer = () => ctx.stack.gateway.stats().functions[ctx.settings.authorizerFunctionId];
  const tokens: SoakToken[] = Array.from({ length: count }, () => ({
    header: ctx.tokens.randomKid(),
    verdict: 'invalid' as const,
    kind: 'random kid',
  }));
  const fetchesBefore = await ctx.controls.jwksRequestCount();
  const processesBefore = authorizer()?.processes.length ?? 0;
  const coldStartsBefore = authorizer()?.coldStarts ?? 0;
  const started = performance.now();
  const result = await measure(
    ctx,
    `flood of ${count} random-kid tokens`,
    'every one 401; JWKS fetches within the cooldown budget',
    tokens.map((t) => whoami(ctx.targets, t)),
    ctx.settings.jwksTimeoutMs + ctx.marginMs,
    concurrency,
  );
  const durationMs = performance.now() - started;
  const fetches = (await ctx.controls.jwksRequestCount()) - fetchesBefore;
  const windows = 1 + Math.floor(durationMs / ctx.settings.jwksCooldownMs);
  const budget = processesBefore * windows + ((authorizer()?.coldStarts ?? 0) - coldStartsBefore) * windows;
  return {
    ...result,
    budget: {
      name: `JWKS fetches (cooldown ${ctx.settings.jwksCooldownMs} ms, ${Math.round(durationMs)} ms flood)`,
      value: fetches,
      max: budget,
      unit: 'fetches',
    },
  };
}

function metadataProbe(targets: ProbeTargets, url: string): Probe {
  return {
    kind: 'metadata',
    method: 'GET',
    url: addressOf(targets, url),
    headers: { accept: 'application/json' },
    judge: () => ({ outcome: 'ok' }),
  };
}

/** AuthKit's metadata unreachable (or too slow) and no copy yet: 503 + Retry-After, in JSON. */
export async function metadataUpstreamWithoutCopy(ctx: SoakContext, mode: 'down' | 'slow'): Promise<FaultResult> {
  const delayMs = ctx.settings.asMetadataTimeoutMs + 3000;
  return withGateway(
    ctx,
    { [ctx.settings.metadataFunctionId]: { AUTHKIT_ISSUER: ctx.upstream.url } },
    async (targets) => {
      ctx.upstream.mode = mode;
      ctx.upstream.slowDelayMs = delayMs;
      try {
        const urls = ctx.stack.urls;
        const probes = [
          ...[
            urls.authorizationServerMetadata,
            urls.openidConfiguration,
            urls.authorizationServerMetadata,
            urls.openidConfiguration,
          ].map((url) =>
            expecting(metadataProbe(targets, url), 'AS metadata without a copy', 503, isUnavailableAnswer),
          ),
          // The protected-resource metadata does not depend on AuthKit.
          expecting(
            metadataProbe(targets, urls.protectedResourceMetadata),
            'protected-resource metadata',
            200,
            (reply) =>
              parseJson(reply.text)?.resource === urls.resource ? undefined : 'resource is not the MCP endpoint',
          ),
        ];
        const label = mode === 'down' ? 'down' : `slower than its ${ctx.settings.asMetadataTimeoutMs} ms timeout`;
        return await measure(
          ctx,
          `AuthKit metadata ${label}, no cached copy`,
          '503 + Retry-After JSON; protected-resource metadata still 200',
          probes,
          ctx.settings.asMetadataTimeoutMs + ctx.marginMs,
          1,
        );
      } finally {
        ctx.upstream.mode = 'normal';
      }
    },
  );
}

/** AuthKit's metadata goes away after a good copy was fetched: the stale copy, with its Age. */
export async function metadataUpstreamWithCopy(ctx: SoakContext): Promise<FaultResult> {
  const overrides = {
    [ctx.settings.metadataFunctionId]: { AUTHKIT_ISSUER: ctx.upstream.url, AS_METADATA_TTL_SECONDS: '1' },
  };
  return withGateway(ctx, overrides, async (targets) => {
    const url = ctx.stack.urls.authorizationServerMetadata;
    const namesUpstream = (reply: Reply) =>
      parseJson(reply.text)?.issuer === ctx.upstream.url ? undefined : 'the document is not the upstream copy';
    const first = await measure(
      ctx,
      'first fetch',
      '',
      [expecting(metadataProbe(targets, url), 'AS metadata, upstream up', 200, namesUpstream)],
      ctx.settings.asMetadataTimeoutMs + ctx.marginMs,
      1,
    );
    ctx.upstream.mode = 'down';
    try {
      await sleep(1200); // past the 1 s TTL
      const stale = (reply: Reply) => {
        const age = Number(reply.headers.get('age'));
        if (!(age >= 1)) return `Age header is ${reply.headers.get('age')}, expected at least 1`;
        if (!(reply.headers.get('cache-control') ?? '').includes('no-cache'))
          return 'a stale copy must say Cache-Control: no-cache';
        return namesUpstream(reply);
      };
      const probes = Array.from({ length: 4 }, () =>
        expecting(metadataProbe(targets, url), 'AS metadata, upstream down', 200, stale),
      );
      const result = await measure(
        ctx,
        'AuthKit metadata down, cached copy',
        '200 with the stale copy and its Age header',
        probes,
        ctx.settings.asMetadataTimeoutMs + ctx.marginMs,
        1,
      );
      return {
        ...result,
        requests: result.requests + 1,
        mismatches: result.mismatches + first.mismatches,
        details: [...first.details, ...result.details],
      };
    } finally {
      ctx.upstream.mode = 'normal';
    }
  });
}

/** A function whose configuration is broken throws on every invocation: a 5xx JSON answer, never an Allow. */
export async function throwingFunctions(ctx: SoakContext): Promise<FaultResult[]> {
  const { settings } = ctx;
  const valid = await ctx.tokens.valid(16);
  const refused = await ctx.tokens.signedInvalid(4, ctx.random);
  const results: FaultResult[] = [];

  results.push(
    await withGateway(
      ctx,
      {
        [settings.mcpFunctionId]: { MAX_BODY_BYTES: 'not-a-number' },
        [settings.metadataFunctionId]: { AS_METADATA_TTL_SECONDS: '0' },
      },
      (targets) =>
        measure(
          ctx,
          'MCP and metadata functions throw at start',
          '502 JSON from the gateway; refused tokens still 401',
          [
            ...valid
              .slice(0, 8)
              .map((token) => expecting(whoami(targets, token), 'MCP function throws', 502, isJsonError)),
            ...refused.map((token) => whoami(targets, token)),
            ...[ctx.stack.urls.protectedResourceMetadata, ctx.stack.urls.authorizationServerMetadata].map((url) =>
              expecting(metadataProbe(targets, url), 'metadata function throws', 502, isJsonError),
            ),
          ],
          // Each of these requests starts a new process that fails while loading, as Lambda retries the init.
          LAMBDA_INIT_LIMIT_MS + ctx.marginMs,
        ),
    ),
  );

  results.push(
    await withGateway(ctx, { [settings.authorizerFunctionId]: { TOKEN_ALGORITHMS: 'HS256' } }, (targets) =>
      measure(
        ctx,
        'authorizer throws (HS256 configured)',
        '503 + Retry-After for every token, never an Allow',
        [...valid.slice(8), ...refused].map((token) =>
          expecting(whoami(targets, token), 'authorizer throws', 503, isUnavailableAnswer),
        ),
        ctx.marginMs,
      ),
    ),
  );
  return results;
}

/** A body one byte over MAX_BODY_BYTES gets 413 from the MCP function; one at the limit does not. */
export async function oversizedBody(ctx: SoakContext): Promise<FaultResult> {
  const [tooLarge, atLimit] = await ctx.tokens.valid(2);
  const limit = ctx.settings.maxBodyBytes;
  const bodyOf = (bytes: number) => {
    const request = mcpRequest('tools/call', { name: 'format_json', arguments: { json: '' } }, 7, false);
    const pad = bytes - Buffer.byteLength(request.body);
    return { headers: request.headers, body: request.body.replace('"json":""', `"json":"${' '.repeat(pad)}"`) };
  };
  const probeFor = (token: SoakToken, bytes: number): Probe => {
    const { headers, body } = bodyOf(bytes);
    if (Buffer.byteLength(body) !== bytes) throw new Error(`could not build a body of ${bytes} bytes`);
    return { ...whoami(ctx.targets, token), headers: withToken(headers, token), body };
  };
  const atLimitProbe: Probe = {
    ...probeFor(atLimit, limit),
    kind: 'body at the limit',
    judge: (reply) =>
      reply.status === 413 || reply.status >= 500 || reply.status === 0
        ? { outcome: 'unexpected', detail: `body of exactly ${limit} bytes: HTTP ${reply.status}` }
        : { outcome: 'ok' },
  };
  return measure(
    ctx,
    `body of ${limit + 1} bytes (limit ${limit})`,
    '413 JSON-RPC error; a body at the limit is served',
    [
      expecting(probeFor(tooLarge, limit + 1), 'body over the limit', 413, (reply) =>
        jsonAt(reply.text, 'error', 'code') === -32000 ? undefined : 'not a JSON-RPC error',
      ),
      atLimitProbe,
    ],
    ctx.marginMs,
    1,
  );
}
