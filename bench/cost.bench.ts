/**
 * The AWS cost per million MCP requests, from durations measured here and now (warm authorizer
 * and MCP function on one core, cold-start INIT in fresh processes) and the prices in cost.ts,
 * for several authorizer-cache hit rates and memory sizes, REST API beside HTTP API.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { compareCpuNsPerOp, type BenchRow } from './harness';
import { coldStartCostPerMillion, costPerMillionRequests, US_EAST_1_PRICES, type CostScenario } from './cost';
import { buildDeployedBundles, measureColdStarts } from './coldstart.bench';
import {
  BENCH_BASE_URL,
  BENCH_ISSUER,
  benchJwks,
  mcpRequestEvent,
  quietly,
  signBenchToken,
  toolsCallRequest,
} from './fixtures';
import { tokenAuthorizerEvent } from '../fixtures/events';
import { bearerAuthorization } from '../lambda/shared/bearer-token';
import { loadAuthorizerConfig } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/index';
import { createSampleServer, SAMPLE_TOOLS } from '../lambda/mcp/server';
import { createMcpLambdaHandler } from '../lambda/runtime/handler';
import { startJwksServer } from '../fixtures/jwks-server';

const GROUP = 'AWS cost per 1M MCP requests';
const MEMORY_SIZES_MB = [256, 512, 1024];
const CACHE_HIT_RATES = [0, 0.5, 0.9];
/** AWS reports cold starts in under 1% of invocations of production functions (INIT billing post, 2025). */
const COLD_START_RATE = 0.01;
const COLD_RUNS = 3;

/** Warm invocations of the deployed handlers, as the functions run them (log line and metrics included). */
async function warmDurationsMs(): Promise<{ authorizerMs: number; mcpMs: number }> {
  const jwks = await startJwksServer(benchJwks().keys);
  try {
    const token = signBenchToken();
    return await quietly(async () => {
      const authorize = createAuthorizerHandler({
        config: loadAuthorizerConfig({
          PUBLIC_BASE_URL: BENCH_BASE_URL,
          AUTHKIT_ISSUER: BENCH_ISSUER,
          AUTHKIT_JWKS_URL: jwks.url,
          POWERTOOLS_SERVICE_NAME: 'bench',
        }),
      });
      const authorizerEvent = tokenAuthorizerEvent(bearerAuthorization(token));
      const mcp = createMcpLambdaHandler(createSampleServer, {
        tools: SAMPLE_TOOLS,
        publicBaseUrl: BENCH_BASE_URL,
        serverInfo: { name: 'bench', version: '1.0.0' },
        logger: new Logger({ serviceName: 'bench', logLevel: 'INFO' }),
      });
      const mcpEvent = mcpRequestEvent(toolsCallRequest(token, 'legacy'));
      // CPU time, not wall time: what Lambda bills for this CPU-bound work, and steady on a busy machine.
      const ns = await compareCpuNsPerOp(
        {
          authorizer: async () => {
            const result = await authorize(authorizerEvent);
            if (result.policyDocument.Statement[0].Effect !== 'Allow')
              throw new Error('the authorizer denied the benchmark token');
          },
          mcp: async () => {
            const result = await mcp(mcpEvent);
            if (result.statusCode !== 200)
              throw new Error(`the MCP function answered ${result.statusCode}: ${result.body.slice(0, 200)}`);
          },
        },
        { batch: 40, samples: 31, warmup: 300 },
      );
      return { authorizerMs: ns.authorizer / 1e6, mcpMs: ns.mcp / 1e6 };
    });
  } finally {
    await jwks.close();
  }
}

const usd = (value: number) => `$${value.toFixed(3)}`;

export default async function costBench(): Promise<BenchRow[]> {
  const warm = await warmDurationsMs();
  const bundles = await buildDeployedBundles();
  let initMs: { authorizer: number; mcp: number };
  try {
    const cold = await measureColdStarts(bundles, COLD_RUNS);
    // INIT: starting the process and loading the module, i.e. everything before the first request.
    initMs = {
      authorizer: cold.authorizer.wallMs - cold.authorizer.firstRequestMs,
      mcp: cold.mcp.wallMs - cold.mcp.firstRequestMs,
    };
  } finally {
    bundles.remove();
  }

  const rows: BenchRow[] = [
    {
      group: GROUP,
      name: 'input: warm authorizer invocation',
      value: warm.authorizerMs,
      unit: 'ms',
      note: 'CPU time on one core of this machine; scaled by 1769 MB / memory below one vCPU',
    },
    {
      group: GROUP,
      name: 'input: warm MCP tools/call invocation',
      value: warm.mcpMs,
      unit: 'ms',
      note: 'CPU time; 2025-11-25 format_json, log line included',
    },
  ];
  const scenario = (memoryMb: number, cacheHitRate: number, api: 'rest' | 'http'): CostScenario => ({
    authorizerFullCoreMs: warm.authorizerMs,
    mcpFullCoreMs: warm.mcpMs,
    authorizerMemoryMb: memoryMb,
    mcpMemoryMb: memoryMb,
    cacheHitRate,
    api,
  });
  for (const memoryMb of MEMORY_SIZES_MB) {
    for (const hitRate of CACHE_HIT_RATES) {
      const rest = costPerMillionRequests(scenario(memoryMb, hitRate, 'rest'));
      const http = costPerMillionRequests(scenario(memoryMb, hitRate, 'http'));
      rows.push({
        group: GROUP,
        name: `REST API, both functions ${memoryMb} MB, ${Math.round(hitRate * 100)}% cache hits`,
        value: rest.totalUsd,
        unit: 'USD',
        note:
          `HTTP API had it been usable: ${usd(http.totalUsd)}; Lambda ${usd(rest.mcpFunctionUsd + rest.authorizerUsd)} of it ` +
          `(MCP billed ${rest.mcpBilledMs} ms, authorizer ${rest.authorizerBilledMs} ms)`,
      });
    }
  }
  const defaults = { ...scenario(1024, 0.9, 'rest'), authorizerMemoryMb: 512 };
  const restDefault = costPerMillionRequests(defaults);
  rows.push({
    group: GROUP,
    name: 'REST API, construct defaults (authorizer 512 MB, MCP 1024 MB), 90% hits',
    value: restDefault.totalUsd,
    unit: 'USD',
    note: `HTTP API: ${usd(costPerMillionRequests({ ...defaults, api: 'http' }).totalUsd)}; API Gateway is ${Math.round((100 * restDefault.apiGatewayUsd) / restDefault.totalUsd)}% of the bill`,
  });
  rows.push({
    group: GROUP,
    name: `cold starts on ${COLD_START_RATE * 100}% of invocations (INIT billed), defaults`,
    value: coldStartCostPerMillion(
      {
        authorizerInitMs: initMs.authorizer,
        mcpInitMs: initMs.mcp,
        authorizerMemoryMb: 512,
        mcpMemoryMb: 1024,
        cacheHitRate: 0.9,
      },
      COLD_START_RATE,
    ),
    unit: 'USD',
    note: `added to the above; INIT ≈ process start + module load: authorizer ${initMs.authorizer.toFixed(1)} ms, MCP ${initMs.mcp.toFixed(1)} ms (median of ${COLD_RUNS}); prices of ${US_EAST_1_PRICES.takenOn}, us-east-1`,
  });
  return rows;
}
