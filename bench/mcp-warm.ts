/**
 * The timing half of mcp.bench.ts, run in its own process from a bundle built as the construct
 * builds the MCP function (so the SDK runs with the deployed JSON Schema validator): warm
 * tools/call through `createMcpLambdaHandler` against the MCP SDK alone, in CPU time, for both
 * protocol eras. Prints one JSON line: era → { adapterNs, sdkNs }.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  createMcpHandler,
  isLegacyRequest,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
} from '@modelcontextprotocol/server';
import {
  BENCH_AUTHORIZER_CONTEXT,
  BENCH_BASE_URL,
  BENCH_URLS,
  mcpRequestEvent,
  quietly,
  signBenchToken,
  toolsCallRequest,
} from './fixtures';
import type { McpEra, McpHttpRequest } from '../fixtures/mcp-requests';
import { compareCpuNsPerOp, type TimingOptions } from './harness';
import { authInfoFromAuthorizer } from '../lambda/runtime/auth-info';
import { createMcpLambdaHandler } from '../lambda/runtime/handler';
import type { ProxyEvent } from '../lambda/runtime/adapter';
import { createSampleServer, createStandaloneSampleServer, SAMPLE_TOOLS } from '../lambda/mcp/server';

const SERVER_INFO = { name: 'bench', version: '1.0.0' };

export type WarmTimings = Record<McpEra, { readonly adapterNs: number; readonly sdkNs: number }>;

function expectFormatted(status: number, text: string): void {
  if (status !== 200 || !text.includes('"formatted"'))
    throw new Error(`bench request failed: ${status} ${text.slice(0, 200)}`);
}

/**
 * The SDK alone, written the cheapest way its API allows for an endpoint that serves both eras:
 * the body parsed once, `isLegacyRequest` routing, the 2026-07-28 request to
 * `createMcpHandler().fetch`, the 2025-11-25 one to a stateless JSON transport, identity passed in.
 */
function sdkEndpoint(authInfo: AuthInfo): (request: McpHttpRequest) => Promise<void> {
  const factory = () => createStandaloneSampleServer({ serverInfo: SERVER_INFO });
  const modern = createMcpHandler(factory, { legacy: 'reject', responseMode: 'json' });
  const legacy = async (request: Request, parsedBody: unknown): Promise<Response> => {
    const server = factory();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { authInfo, parsedBody });
    } finally {
      await transport.close();
      await server.close();
    }
  };
  return async ({ headers, body }) => {
    const request = new Request(BENCH_URLS.resource, { method: 'POST', headers, body });
    const parsedBody = JSON.parse(body) as unknown;
    const response = (await isLegacyRequest(request, parsedBody))
      ? await legacy(request, parsedBody)
      : await modern.fetch(request, { authInfo, parsedBody });
    expectFormatted(response.status, await response.text());
  };
}

export async function measureWarmTimings(timing: TimingOptions): Promise<WarmTimings> {
  const token = signBenchToken();
  const authInfo = authInfoFromAuthorizer({
    authorizer: BENCH_AUTHORIZER_CONTEXT,
    authorizationHeader: `Bearer ${token}`,
    resource: new URL(BENCH_URLS.resource),
    resourceMetadataUrl: BENCH_URLS.protectedResourceMetadata,
  });
  return quietly(async () => {
    const adapter = createMcpLambdaHandler(createSampleServer, {
      tools: SAMPLE_TOOLS,
      publicBaseUrl: BENCH_BASE_URL,
      serverInfo: SERVER_INFO,
      logger: new Logger({ serviceName: 'bench', logLevel: 'INFO' }),
    });
    const sdk = sdkEndpoint(authInfo);
    const timings: Partial<Record<McpEra, { adapterNs: number; sdkNs: number }>> = {};
    // One era at a time: each pair's leftovers (garbage, deferred teardown) stay with that pair.
    for (const era of ['modern', 'legacy'] as const) {
      const request = toolsCallRequest(token, era);
      const event = mcpRequestEvent(request) as ProxyEvent;
      const ns = await compareCpuNsPerOp(
        {
          adapter: async () => {
            const result = await adapter(event);
            expectFormatted(result.statusCode, result.body);
          },
          sdk: () => sdk(request),
        },
        timing,
      );
      timings[era] = { adapterNs: ns.adapter, sdkNs: ns.sdk };
    }
    return timings as WarmTimings;
  });
}

if (require.main === module) {
  const timing = JSON.parse(process.argv[2] ?? '{}') as TimingOptions;
  measureWarmTimings(timing).then(
    (timings) => process.stdout.write(`${JSON.stringify(timings)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
