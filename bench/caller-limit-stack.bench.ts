/**
 * What the per-caller limit adds to a held request through the local stack (real `cdk synth`, the
 * local API Gateway and authorizer, the MCP function's bundle in its own process, its leases in the
 * local DynamoDB behind the role checks): the time from sending `subscriptions/listen` to its
 * acknowledgement on a stage with the limit on (10, the default) against the same stage
 * synthesized with `maxConcurrentRequestsPerCaller=false`, one stream at a time (each held 1 s,
 * then closed by the server, so its lease is released before the next), interleaved, medians.
 */
import { mcpHttpRequest } from '../fixtures/mcp-requests';
import { startAuthKitStandIn, type AuthKitStandIn } from '../local/authkit/launch';
import { startLocalStack, type LocalStack } from '../local/stack';
import { benchClaims, benchSigningJwk, LOAD_THROTTLING, signBenchToken } from './fixtures';
import type { BenchRow } from './harness';
import { median } from './harness';

const GROUP = 'per-caller limit (local stack)';
const ROUNDS = 15;
const WARMUP = 2;
const LISTEN = { notifications: { toolsListChanged: true } };

/** Milliseconds from sending a listen to its acknowledgement; resolves once the stream has ended. */
async function listenAckMs(stack: LocalStack, token: string): Promise<number> {
  const { headers, body } = mcpHttpRequest('subscriptions/listen', LISTEN, {
    era: 'modern',
    id: 1,
    token,
    clientName: 'bench',
  });
  const started = performance.now();
  const response = await fetch(stack.mcpUrl, { method: 'POST', headers, body });
  if (response.status !== 200 || response.body === null)
    throw new Error(`listen answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  const reader = response.body.getReader();
  let text = '';
  let ackMs: number | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
    if (ackMs === undefined && text.includes('notifications/subscriptions/acknowledged'))
      ackMs = performance.now() - started;
  }
  if (ackMs === undefined) throw new Error(`the listen stream ended before its acknowledgement: ${text}`);
  return ackMs;
}

export default async function callerLimitStackBench(): Promise<BenchRow[]> {
  const silent = () => undefined;
  let standIn: AuthKitStandIn | undefined;
  const stacks: LocalStack[] = [];
  try {
    standIn = await startAuthKitStandIn({ port: 0, signingKey: benchSigningJwk() });
    const issuer = standIn.issuer;
    const start = async (context: Record<string, string>) => {
      const stack = await startLocalStack({
        port: 0,
        authkitDomain: issuer,
        throttlingLimits: LOAD_THROTTLING,
        log: silent,
        onFunctionOutput: silent,
        context: { subscriptionMaxDurationSeconds: '1', ...context },
      });
      stacks.push(stack);
      return stack;
    };
    const on = await start({});
    const off = await start({ maxConcurrentRequestsPerCaller: 'false' });
    const tokenFor = (stack: LocalStack) => signBenchToken(benchClaims({ iss: issuer, aud: stack.mcpUrl }));
    const onToken = tokenFor(on);
    const offToken = tokenFor(off);
    for (let i = 0; i < WARMUP; i++) {
      await listenAckMs(on, onToken);
      await listenAckMs(off, offToken);
    }
    const withLimit: number[] = [];
    const without: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      withLimit.push(await listenAckMs(on, onToken));
      without.push(await listenAckMs(off, offToken));
    }
    const onMedian = median(withLimit);
    const offMedian = median(without);
    return [
      {
        group: GROUP,
        name: 'listen → acknowledgement, limit on (10), median',
        value: onMedian,
        unit: 'ms',
        note: `${ROUNDS} interleaved rounds, one stream at a time, each held 1 s`,
      },
      { group: GROUP, name: 'listen → acknowledgement, limit off, median', value: offMedian, unit: 'ms' },
      {
        group: GROUP,
        name: 'held request through the stack: limit on vs off',
        value: onMedian / offMedian,
        unit: 'x',
        baseline: 'the same stage synthesized with maxConcurrentRequestsPerCaller=false',
        note: `+${(onMedian - offMedian).toFixed(2)} ms: the lease's Query and PutItem before dispatch (the DeleteItem follows the stream's end)`,
      },
    ];
  } finally {
    for (const stack of stacks) await stack.stop();
    await standIn?.stop();
  }
}
