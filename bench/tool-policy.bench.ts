/**
 * What a tool policy costs a warm call: the same trivial tool through the buffered handler, once
 * without a policy and once needing a permission, the person's role already cached by the role
 * resolver (the common case within `permissionsCacheTtl`). Both handlers run in this process,
 * interleaved in rounds (A B, then B A). Each round times both on the CPU clock (what a function
 * is billed for, and what other processes on a shared machine barely move), and the figure is the
 * median of the rounds' ratios: a pair measured seconds apart shares the machine's state, where
 * the medians of two separate series need not. Beside it, the first resolution: a fresh resolver
 * (empty cache, as in a new container) asking the WorkOS stand-in on loopback.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { McpServer } from '@modelcontextprotocol/server';
import { mcpProxyEvent } from '../fixtures/events';
import { startWorkOSApiServer } from '../fixtures/workos-api-server';
import { DEV_USER } from '../local/authkit/contract';
import { createMcpLambdaHandler, defineTool } from '../lambda/runtime';
import { createRoleResolver } from '../lambda/runtime/workos-access';
import { fixedWorkOSApiKey } from '../lambda/runtime/workos-api-key';
import { bearerAuthorization } from '../lambda/shared/bearer-token';
import { authorizerContextOf } from '../lambda/shared/identity-context';
import type { BenchRow } from './harness';

const GROUP = 'tool policy';
const ROUNDS = 201;
const CALLS_PER_ROUND = 100;
/** Fresh resolvers timed for the first resolution. */
const FIRST_RESOLUTIONS = 15;
const TARGET = 1.05;
const BASE = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';

/** Wall time of each fresh resolver's first `resolve` (the WorkOS SDK's two calls), in ms. */
async function firstResolutions(workos: { apiKey: string; baseUrl: string }, logger: Logger): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < FIRST_RESOLUTIONS; i += 1) {
    const resolver = createRoleResolver({
      apiKey: fixedWorkOSApiKey(workos.apiKey),
      baseUrl: workos.baseUrl,
      ttlMs: 3_600_000,
      logger,
      env: {},
    });
    const started = process.hrtime.bigint();
    const resolution = await resolver.resolve(DEV_USER.sub, DEV_USER.orgId);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (!('access' in resolution) || resolution.source !== 'workos')
      throw new Error(`the first resolution did not come from WorkOS: ${JSON.stringify(resolution)}`);
  }
  return times;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export default async function toolPolicyBench(): Promise<BenchRow[]> {
  const workos = await startWorkOSApiServer();
  try {
    const logger = new Logger({ logLevel: 'SILENT' });
    // Before the rounds: the stand-in closes idle keep-alive sockets, which a late fetch would find.
    const firstResolution = median(await firstResolutions(workos, logger));
    const roleResolver = createRoleResolver({
      apiKey: fixedWorkOSApiKey(workos.apiKey),
      baseUrl: workos.baseUrl,
      ttlMs: 3_600_000,
      logger,
      env: {},
    });
    const echo = async () => ({ content: [{ type: 'text' as const, text: 'ok' }] });
    const handlerWith = (policy: Parameters<typeof defineTool>[1]['policy']) =>
      createMcpLambdaHandler(({ serverInfo }) => new McpServer(serverInfo), {
        publicBaseUrl: BASE,
        logger,
        responseTransferMode: 'buffered',
        roleResolver,
        tools: [defineTool('echo', { policy }, echo)],
      });
    const open = handlerWith(undefined);
    const gated = handlerWith({ callers: 'users', permissions: ['mcp:config:read'] });
    const event = mcpProxyEvent({
      headers: {
        Accept: 'application/json, text/event-stream',
        'Content-Type': 'application/json',
        'MCP-Protocol-Version': '2025-11-25',
        Authorization: bearerAuthorization('eyJhbGciOiJSUzI1NiJ9.bench.signature'),
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }),
      authorizer: Object.fromEntries(
        Object.entries(
          authorizerContextOf({
            sub: DEV_USER.sub,
            clientId: 'client_01BENCH',
            orgId: DEV_USER.orgId,
            sid: 'session_01BENCH',
            scopes: ['openid'],
            exp: 1_900_000_000,
          }),
        ).map(([key, value]) => [key, String(value)]),
      ),
      requestId: 'bench',
    });
    const round = async (handler: typeof open): Promise<number> => {
      const started = process.cpuUsage();
      for (let i = 0; i < CALLS_PER_ROUND; i += 1) {
        const result = await handler(event);
        if (result.statusCode !== 200) throw new Error(`tools/call answered ${result.statusCode}: ${result.body}`);
      }
      const used = process.cpuUsage(started);
      return (used.user + used.system) / CALLS_PER_ROUND;
    };
    await round(open);
    await round(gated); // fills the role cache
    const openRounds: number[] = [];
    const gatedRounds: number[] = [];
    // The order alternates each round, so neither handler always runs right after the other.
    for (let r = 0; r < ROUNDS; r += 1) {
      if (r % 2 === 0) {
        openRounds.push(await round(open));
        gatedRounds.push(await round(gated));
      } else {
        gatedRounds.push(await round(gated));
        openRounds.push(await round(open));
      }
    }
    const ratio = median(gatedRounds.map((gatedRound, r) => gatedRound / openRounds[r]));
    return [
      {
        group: GROUP,
        name: 'warm call, tool without a policy, median CPU',
        value: median(openRounds),
        unit: 'µs/call',
      },
      {
        group: GROUP,
        name: 'warm call, tool needing a permission (role cached), median CPU',
        value: median(gatedRounds),
        unit: 'µs/call',
      },
      {
        group: GROUP,
        name: 'policy with a cached role vs no policy',
        value: ratio,
        unit: 'x',
        baseline: 'the same tool without a policy',
        target: { max: TARGET },
        note: `median of ${ROUNDS} interleaved rounds' CPU-time ratios, ${CALLS_PER_ROUND} buffered tools/call each`,
      },
      {
        group: GROUP,
        name: 'first resolution of a role (empty cache), median',
        value: firstResolution,
        unit: 'ms',
        note: `${FIRST_RESOLUTIONS} fresh resolvers, WorkOS SDK against the stand-in API on loopback (no WorkOS network time)`,
      },
    ];
  } finally {
    await workos.close();
  }
}
