/**
 * What one million MCP requests cost on AWS, from measured function durations and published
 * prices. Pure functions: cost.bench.ts feeds them the durations measured in the same run.
 *
 * Each MCP request is one API Gateway request, one invocation of the MCP function, and, when the
 * gateway's authorizer cache misses, one invocation of the authorizer. The metadata function is
 * called only during discovery, not per MCP request, so it is left out.
 */

/**
 * Prices in US East (N. Virginia), taken on 2026-11-26.
 *
 * - Lambda, Arm (Graviton): $0.0000133334 per GB-second for the first 7.5 billion GB-seconds a
 *   month, and $0.20 per million requests; duration billed in 1 ms steps.
 *   Source: https://aws.amazon.com/lambda/pricing/ (the page renders its rate table from price
 *   tokens; the same figures are transcribed from it by the public pricing guides that cite it).
 * - INIT (cold start) duration is billed like invocation duration for ZIP functions on managed
 *   runtimes since 2025-08-01. Source: AWS Compute Blog, "AWS Lambda standardizes billing for
 *   INIT Phase" (2025-04-29).
 * - API Gateway REST API: $3.50 per million requests for the first 333 million a month.
 *   HTTP API: $1.00 per million for the first 300 million, metered in 512 KB increments.
 *   Source: https://aws.amazon.com/api-gateway/pricing/ and the AWS whitepaper "Best Practices
 *   for Designing Amazon API Gateway Private APIs and Private Integration", section "Cost
 *   optimization", table 4.
 * - CPU: "At 1,769 MB, a function has the equivalent of one vCPU", and CPU is allocated in
 *   proportion to memory. Source: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
 *
 * Free tiers, data transfer out, CloudWatch Logs and volume discounts are not included.
 */
export const US_EAST_1_PRICES = {
  takenOn: '2026-11-26',
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  restApiPerMillionRequests: 3.5,
  httpApiPerMillionRequests: 1.0,
  /** Memory at which a function gets one full vCPU. */
  oneVcpuMemoryMb: 1769,
} as const;

export type Prices = typeof US_EAST_1_PRICES;
export type ApiKind = 'rest' | 'http';

/**
 * How long a single-threaded piece of work measured on one full core takes at `memoryMb`: below
 * one vCPU the function gets that fraction of a core; above it, more cores do not help.
 */
export function durationAtMemoryMs(fullCoreMs: number, memoryMb: number, prices: Prices = US_EAST_1_PRICES): number {
  if (!(fullCoreMs >= 0)) throw new RangeError(`fullCoreMs must be a duration in ms, got ${fullCoreMs}`);
  if (!(memoryMb >= 128 && memoryMb <= 10_240))
    throw new RangeError(`memoryMb must be between 128 and 10240 (Lambda's range), got ${memoryMb}`);
  return fullCoreMs * Math.max(1, prices.oneVcpuMemoryMb / memoryMb);
}

/** Lambda bills duration rounded up to the next millisecond, and at least 1 ms. */
export function billedMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs - 1e-9));
}

/** USD for one invocation: its request fee plus its billed GB-seconds. */
export function invocationCostUsd(durationMs: number, memoryMb: number, prices: Prices = US_EAST_1_PRICES): number {
  const gbSeconds = (billedMs(durationMs) / 1000) * (memoryMb / 1024);
  return prices.lambdaPerMillionRequests / 1e6 + gbSeconds * prices.lambdaArmPerGbSecond;
}

export interface CostScenario {
  /** Warm authorizer invocation, measured on one full core. */
  readonly authorizerFullCoreMs: number;
  /** Warm MCP function invocation (one tools/call), measured on one full core. */
  readonly mcpFullCoreMs: number;
  readonly authorizerMemoryMb: number;
  readonly mcpMemoryMb: number;
  /** Share of MCP requests whose token decision API Gateway finds in its cache, 0..1. */
  readonly cacheHitRate: number;
  readonly api: ApiKind;
}

export interface CostPerMillion {
  readonly totalUsd: number;
  readonly apiGatewayUsd: number;
  readonly mcpFunctionUsd: number;
  readonly authorizerUsd: number;
  /** Billed duration of one invocation of each function, in ms. */
  readonly mcpBilledMs: number;
  readonly authorizerBilledMs: number;
}

/** USD per million MCP requests in one scenario. */
export function costPerMillionRequests(scenario: CostScenario, prices: Prices = US_EAST_1_PRICES): CostPerMillion {
  if (!(scenario.cacheHitRate >= 0 && scenario.cacheHitRate <= 1))
    throw new RangeError(`cacheHitRate must be between 0 and 1, got ${scenario.cacheHitRate}`);
  const mcpMs = durationAtMemoryMs(scenario.mcpFullCoreMs, scenario.mcpMemoryMb, prices);
  const authorizerMs = durationAtMemoryMs(scenario.authorizerFullCoreMs, scenario.authorizerMemoryMb, prices);
  const apiGatewayUsd = scenario.api === 'rest' ? prices.restApiPerMillionRequests : prices.httpApiPerMillionRequests;
  const mcpFunctionUsd = invocationCostUsd(mcpMs, scenario.mcpMemoryMb, prices) * 1e6;
  const authorizerUsd =
    invocationCostUsd(authorizerMs, scenario.authorizerMemoryMb, prices) * 1e6 * (1 - scenario.cacheHitRate);
  return {
    totalUsd: apiGatewayUsd + mcpFunctionUsd + authorizerUsd,
    apiGatewayUsd,
    mcpFunctionUsd,
    authorizerUsd,
    mcpBilledMs: billedMs(mcpMs),
    authorizerBilledMs: billedMs(authorizerMs),
  };
}

/**
 * USD per million MCP requests added by cold starts, when `coldStartRate` of the invocations of
 * each function start a new execution environment whose INIT takes `initMs` (billed as is: the
 * INIT phase is not slowed to the memory's CPU share the way invocations are).
 */
export function coldStartCostPerMillion(
  cold: {
    readonly authorizerInitMs: number;
    readonly mcpInitMs: number;
    readonly authorizerMemoryMb: number;
    readonly mcpMemoryMb: number;
    readonly cacheHitRate: number;
  },
  coldStartRate: number,
  prices: Prices = US_EAST_1_PRICES,
): number {
  const gbSecondsUsd = (ms: number, memoryMb: number) =>
    (billedMs(ms) / 1000) * (memoryMb / 1024) * prices.lambdaArmPerGbSecond;
  const perRequest =
    gbSecondsUsd(cold.mcpInitMs, cold.mcpMemoryMb) +
    (1 - cold.cacheHitRate) * gbSecondsUsd(cold.authorizerInitMs, cold.authorizerMemoryMb);
  return perRequest * coldStartRate * 1e6;
}
