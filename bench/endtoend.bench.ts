/**
 * The whole system end to end over loopback HTTP: the local stack (real `cdk synth`, the local
 * API Gateway with its TOKEN authorizer and result cache, warm function processes, the AuthKit
 * stand-in publishing the benchmark key), driven with MCP tools/call requests.
 *
 * Three kinds of traffic, in interleaved rounds:
 * - cache hit: the synthesized stage (TTL 300 s), one token for every request;
 * - cache miss: the same stack, a new token on every request (what a TTL of 0 costs, per request);
 * - cache off: a second stack synthesized with `authorizerCacheTtlSeconds=0`, one token.
 *
 * Both stacks are synthesized with the stage's throttling raised (LOAD_THROTTLING), so the figures are
 * the system's and not the local gateway's token bucket.
 */
import type { BenchRow } from './harness';
import { benchClaims, benchSigningJwk, signBenchToken, toolsCallRequest, LOAD_THROTTLING } from './fixtures';
import { createLoadClient, expectFormattedJson, summarise, type LoadClient, type LoadResult } from './load';
import { startAuthKitStandIn, type AuthKitStandIn } from '../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../local/stack';

const GROUP = 'end to end (local stack)';
/** The local gateway runs up to 4 processes per function; more in flight would only queue. */
const CONCURRENCY = 4;
const WARMUP_REQUESTS = 120;
const ROUND_REQUESTS = 250;
/** Requests per round from a single client (one in flight), where the authorizer's hop is on every request's path. */
const SERIAL_REQUESTS = 80;
const ROUNDS = 4;
/** API Gateway's account-level defaults, far above this load; the stage's own 100 req/s would be the bottleneck. */

type Traffic = 'hit' | 'miss' | 'off';

function authorizerInvocations(stack: LocalStack): number {
  const functions = Object.values(stack.gateway.stats().functions);
  return functions.filter((fn) => fn.logicalId.includes('Authorizer')).reduce((sum, fn) => sum + fn.invocations, 0);
}

export default async function endToEndBench(): Promise<BenchRow[]> {
  const silent = () => undefined;
  let standIn: AuthKitStandIn | undefined;
  const stacks: LocalStack[] = [];
  const client: LoadClient = createLoadClient();
  try {
    // One stand-in for both stacks, signing with the fixed benchmark key.
    standIn = await startAuthKitStandIn({ port: 0, signingKey: benchSigningJwk() });
    const issuer = standIn.issuer;
    const start = async (context: Record<string, string>) => {
      const stack = await startLocalStack({
        port: 0,
        authkitDomain: issuer,
        // The default gate (TOKEN authorizer and its cache): the local stage's step-up challenge is turned off.
        context: { stepUpChallenge: 'false', ...context },
        throttlingLimits: LOAD_THROTTLING,
        log: silent,
        onFunctionOutput: silent,
      });
      stacks.push(stack);
      return stack;
    };
    const cached = await start({});
    const uncached = await start({ authorizerCacheTtlSeconds: '0' });

    const tokenFor = (stack: LocalStack, n: number) =>
      signBenchToken(benchClaims({ iss: issuer, aud: stack.mcpUrl, jti: `jti_bench_${n}` }));
    const fixedToken = { hit: tokenFor(cached, 0), off: tokenFor(uncached, 0) };
    let nextDistinct = 1;
    const plan: Record<Traffic, { stack: LocalStack; token: (i: number) => string }> = {
      hit: { stack: cached, token: () => fixedToken.hit },
      miss: { stack: cached, token: () => tokenFor(cached, nextDistinct++) },
      off: { stack: uncached, token: () => fixedToken.off },
    };
    const drive = (traffic: Traffic, requests: number, concurrency = CONCURRENCY): Promise<LoadResult> => {
      const { stack, token } = plan[traffic];
      // Distinct tokens are signed before the timed run, so signing is not counted as serving.
      const requestsToSend = Array.from({ length: requests }, (_, i) => {
        const { headers, body } = toolsCallRequest(token(i), 'legacy');
        return { url: stack.mcpUrl, headers, body };
      });
      return client.run({ concurrency, requests, request: (i) => requestsToSend[i], check: expectFormattedJson });
    };

    const traffics: Traffic[] = ['hit', 'miss', 'off'];
    for (const traffic of traffics) await drive(traffic, WARMUP_REQUESTS);
    const results: Record<Traffic, LoadResult[]> = { hit: [], miss: [], off: [] };
    const serial: Record<Traffic, LoadResult[]> = { hit: [], miss: [], off: [] };
    const invocations: Record<Traffic, number> = { hit: 0, miss: 0, off: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const traffic of traffics) {
        const before = authorizerInvocations(plan[traffic].stack);
        results[traffic].push(await drive(traffic, ROUND_REQUESTS));
        serial[traffic].push(await drive(traffic, SERIAL_REQUESTS, 1));
        invocations[traffic] += authorizerInvocations(plan[traffic].stack) - before;
      }
    }

    const s = { hit: summarise(results.hit), miss: summarise(results.miss), off: summarise(results.off) };
    const one = { hit: summarise(serial.hit), miss: summarise(serial.miss), off: summarise(serial.off) };
    const perRequest = (traffic: Traffic) => invocations[traffic] / (s[traffic].requests + one[traffic].requests);
    const figures = (t: Traffic) =>
      `${CONCURRENCY} in flight: p50 ${s[t].p50Ms.toFixed(2)} ms, p99 ${s[t].p99Ms.toFixed(2)} ms; one client: p50 ${one[t].p50Ms.toFixed(2)} ms, ` +
      `p99 ${one[t].p99Ms.toFixed(2)} ms; authorizer runs ${perRequest(t).toFixed(2)}× per request`;
    return [
      {
        group: GROUP,
        name: 'tools/call, authorizer cache hit (TTL 300 s, one token)',
        value: s.hit.requestsPerSecond,
        unit: 'req/s',
        note: figures('hit'),
      },
      {
        group: GROUP,
        name: 'tools/call, cache miss (new token per request)',
        value: s.miss.requestsPerSecond,
        unit: 'req/s',
        note: figures('miss'),
      },
      {
        group: GROUP,
        name: 'tools/call, cache off (TTL 0)',
        value: s.off.requestsPerSecond,
        unit: 'req/s',
        note: figures('off'),
      },
      {
        group: GROUP,
        name: 'what the cache saves: throughput',
        value: s.hit.requestsPerSecond / s.off.requestsPerSecond,
        unit: 'x',
        baseline: 'cache off (req/s)',
        note:
          `vs cache miss: ${(s.hit.requestsPerSecond / s.miss.requestsPerSecond).toFixed(2)}×; ${ROUNDS}×${ROUND_REQUESTS} requests each, ${CONCURRENCY} in flight; ` +
          `stage throttling raised to ${LOAD_THROTTLING.rateLimit.toLocaleString('en-US')} req/s, burst ${LOAD_THROTTLING.burstLimit.toLocaleString('en-US')}`,
      },
      {
        group: GROUP,
        name: 'what the cache saves: median latency, one client',
        value: one.off.p50Ms - one.hit.p50Ms,
        unit: 'ms',
        baseline: 'cache off (p50, one request in flight)',
        note: `vs cache miss: ${(one.miss.p50Ms - one.hit.p50Ms).toFixed(2)} ms; ${ROUNDS}×${SERIAL_REQUESTS} requests each`,
      },
      // These two make sure each kind of traffic measured what its name says.
      {
        group: GROUP,
        name: 'authorizer runs per request, cache hit',
        value: perRequest('hit'),
        unit: 'x',
        target: { max: 0.01 },
      },
      {
        group: GROUP,
        name: 'authorizer runs per request, cache off',
        value: perRequest('off'),
        unit: 'x',
        target: { min: 0.99 },
      },
    ];
  } finally {
    client.close();
    for (const stack of stacks) await stack.stop();
    await standIn?.stop();
  }
}
