import {
  billedMs,
  coldStartCostPerMillion,
  costPerMillionRequests,
  durationAtMemoryMs,
  invocationCostUsd,
  US_EAST_1_PRICES,
  type CostScenario,
} from '../../bench/cost';

const scenario = (overrides: Partial<CostScenario> = {}): CostScenario => ({
  authorizerFullCoreMs: 0.05,
  mcpFullCoreMs: 0.5,
  authorizerMemoryMb: 512,
  mcpMemoryMb: 1024,
  cacheHitRate: 0,
  api: 'rest',
  ...overrides,
});

describe('durationAtMemoryMs', () => {
  it('slows work down to the CPU share of memory below one vCPU', () => {
    expect(durationAtMemoryMs(1, 1769)).toBeCloseTo(1, 12);
    expect(durationAtMemoryMs(1, 884.5)).toBeCloseTo(2, 12);
    expect(durationAtMemoryMs(0.5, 256)).toBeCloseTo((0.5 * 1769) / 256, 12);
  });

  it('does not speed single-threaded work up beyond one vCPU', () => {
    expect(durationAtMemoryMs(3, 4096)).toBe(3);
  });

  it.each([
    ['below Lambda minimum', 0.1, 64],
    ['above Lambda maximum', 0.1, 20_000],
    ['negative duration', -1, 512],
    ['NaN duration', Number.NaN, 512],
  ])('rejects %s', (_, ms, memory) => {
    expect(() => durationAtMemoryMs(ms, memory)).toThrow(RangeError);
  });
});

describe('billedMs', () => {
  it.each([
    [0.01, 1],
    [1, 1],
    [1.0001, 2],
    [3.2, 4],
  ])('bills %s ms as %s ms', (duration, billed) => {
    expect(billedMs(duration)).toBe(billed);
  });
});

describe('invocationCostUsd', () => {
  it('adds the request fee to the billed GB-seconds', () => {
    // 2 ms at 512 MB = 0.001 GB-s.
    const expected = 0.2 / 1e6 + 0.001 * US_EAST_1_PRICES.lambdaArmPerGbSecond;
    expect(invocationCostUsd(1.5, 512)).toBeCloseTo(expected, 15);
  });
});

describe('costPerMillionRequests', () => {
  it('matches a hand computation for the construct defaults without cache hits', () => {
    // MCP: 0.5 ms x 1769/1024 = 0.864 ms -> 1 ms at 1 GB; authorizer: 0.05 x 1769/512 = 0.173 ms -> 1 ms at 0.5 GB.
    const mcp = 0.2 + 0.001 * 1 * 0.0000133334 * 1e6;
    const authorizer = 0.2 + 0.001 * 0.5 * 0.0000133334 * 1e6;
    const cost = costPerMillionRequests(scenario());
    expect(cost.mcpBilledMs).toBe(1);
    expect(cost.authorizerBilledMs).toBe(1);
    expect(cost.mcpFunctionUsd).toBeCloseTo(mcp, 9);
    expect(cost.authorizerUsd).toBeCloseTo(authorizer, 9);
    expect(cost.totalUsd).toBeCloseTo(3.5 + mcp + authorizer, 9);
  });

  it('charges the authorizer only for cache misses', () => {
    const none = costPerMillionRequests(scenario({ cacheHitRate: 0 }));
    const most = costPerMillionRequests(scenario({ cacheHitRate: 0.9 }));
    const all = costPerMillionRequests(scenario({ cacheHitRate: 1 }));
    expect(most.authorizerUsd).toBeCloseTo(none.authorizerUsd * 0.1, 12);
    expect(all.authorizerUsd).toBe(0);
    expect(most.mcpFunctionUsd).toBe(none.mcpFunctionUsd);
  });

  it('differs between REST and HTTP API by the difference of their request prices only', () => {
    const rest = costPerMillionRequests(scenario({ api: 'rest' }));
    const http = costPerMillionRequests(scenario({ api: 'http' }));
    expect(rest.totalUsd - http.totalUsd).toBeCloseTo(2.5, 12);
    expect(http.apiGatewayUsd).toBe(1);
  });

  it('bills a slower function more milliseconds at less memory', () => {
    const small = costPerMillionRequests(scenario({ mcpMemoryMb: 256 }));
    expect(small.mcpBilledMs).toBe(Math.ceil((0.5 * 1769) / 256));
  });

  it.each([-0.1, 1.1, Number.NaN])('rejects a cache hit rate of %s', (rate) => {
    expect(() => costPerMillionRequests(scenario({ cacheHitRate: rate }))).toThrow(RangeError);
  });
});

describe('coldStartCostPerMillion', () => {
  it('bills INIT time on the given share of invocations, the authorizer only on cache misses', () => {
    const cold = { authorizerInitMs: 10, mcpInitMs: 50, authorizerMemoryMb: 512, mcpMemoryMb: 1024, cacheHitRate: 0.5 };
    const perRequest = 0.05 * 1 * 0.0000133334 + 0.5 * 0.01 * 0.5 * 0.0000133334;
    expect(coldStartCostPerMillion(cold, 0.01)).toBeCloseTo(perRequest * 0.01 * 1e6, 12);
    expect(coldStartCostPerMillion(cold, 0)).toBe(0);
  });
});
