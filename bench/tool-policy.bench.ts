/**
 * What a tool policy costs a warm call: the same trivial tool through the buffered handler, once
 * without a policy and once needing a permission, the person's role already cached by the role
 * resolver (the common case within `permissionsCacheTtl`). Both handlers run in this process,
 * interleaved in rounds (A B, then B A); the figure is the ratio of the median rounds.
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
const ROUNDS = 21;
const CALLS_PER_ROUND = 200;
const TARGET = 1.05;
const BASE = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export default async function toolPolicyBench(): Promise<BenchRow[]> {
  const workos = await startWorkOSApiServer();
  try {
    const logger = new Logger({ logLevel: 'SILENT' });
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
      const started = process.hrtime.bigint();
      for (let i = 0; i < CALLS_PER_ROUND; i += 1) {
        const result = await handler(event);
        if (result.statusCode !== 200) throw new Error(`tools/call answered ${result.statusCode}: ${result.body}`);
      }
      return Number(process.hrtime.bigint() - started) / 1e3 / CALLS_PER_ROUND;
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
    const openMedian = median(openRounds);
    const gatedMedian = median(gatedRounds);
    return [
      { group: GROUP, name: 'warm call, tool without a policy, median', value: openMedian, unit: 'µs/call' },
      {
        group: GROUP,
        name: 'warm call, tool needing a permission (role cached), median',
        value: gatedMedian,
        unit: 'µs/call',
      },
      {
        group: GROUP,
        name: 'policy with a cached role vs no policy',
        value: gatedMedian / openMedian,
        unit: 'x',
        baseline: 'the same tool without a policy',
        target: { max: TARGET },
        note: `${ROUNDS} interleaved rounds of ${CALLS_PER_ROUND} buffered tools/call`,
      },
    ];
  } finally {
    await workos.close();
  }
}
