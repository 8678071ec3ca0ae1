/**
 * MCP handler benchmarks:
 * - bundle size of the sample MCP Lambda, built with the same esbuild options the construct uses
 *   (`mcpBundling()`), and for reference without the validator swap;
 * - cold start in a fresh process (import + first tools/call) against an empty-handler bundle;
 * - warm tools/call through the Lambda adapter against the SDK handler's `fetch` called directly
 *   with an equivalent Request (same server factory, same identity, same JSON-RPC message).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Logger } from '@aws-lambda-powertools/logger';
import { createMcpHandler, WebStandardStreamableHTTPServerTransport, type AuthInfo } from '@modelcontextprotocol/server';
import { compareNsPerOp, median, type BenchRow } from './harness';
import { quietly } from './fixtures';
import { mcpBundling } from '../lambda/runtime/bundling';
import { createMcpLambdaHandler } from '../lambda/runtime/handler';
import { authInfoFromAuthorizer } from '../lambda/runtime/auth-info';
import type { ProxyEvent } from '../lambda/runtime/adapter';
import { createSampleServer } from '../lambda/mcp/server';

const GROUP = 'mcp handler';
const ENTRY = join(__dirname, '..', 'lambda', 'mcp', 'index.ts');
const PUBLIC_BASE_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
const RESOURCE = `${PUBLIC_BASE_URL}/mcp`;
const TOKEN = 'bench-token';
const SERVER_INFO = { name: 'bench', version: '1.0.0' };
const AUTHORIZER = { principalId: 'user_1', sub: 'user_1', client_id: 'client_1', org_id: 'org_1', sid: 'sid_1', scope: 'openid profile', jti: 'j1', exp: '1900000000' };
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const TOOL_ARGS = { json: '{"b":[1,2,3],"a":{"y":true,"x":null}}', indent: 2, sortKeys: true };

async function bundleBytes(useShim: boolean, outfile?: string): Promise<number> {
  const options = mcpBundling();
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    minify: options.minify,
    platform: options.platform,
    target: options.target,
    format: options.format,
    ...(useShim ? { alias: { ...options.alias } } : {}),
    write: false,
    logLevel: 'silent',
  });
  const contents = result.outputFiles[0].contents;
  if (outfile) writeFileSync(outfile, contents);
  return contents.byteLength;
}

function headersFor(era: 'modern' | 'legacy'): Record<string, string> {
  const common = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  return era === 'modern'
    ? { ...common, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'format_json' }
    : { ...common, 'mcp-protocol-version': '2025-11-25' };
}

function bodyFor(era: 'modern' | 'legacy'): string {
  const params = era === 'modern' ? { name: 'format_json', arguments: TOOL_ARGS, _meta: MODERN_META } : { name: 'format_json', arguments: TOOL_ARGS };
  return JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params });
}

function eventFor(era: 'modern' | 'legacy'): ProxyEvent {
  const headers = headersFor(era);
  return {
    httpMethod: 'POST',
    path: '/mcp',
    resource: '/mcp',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: bodyFor(era),
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', stage: 'prod', authorizer: AUTHORIZER },
  };
}


async function warmRows(): Promise<BenchRow[]> {
  const authInfo: AuthInfo = authInfoFromAuthorizer({
    authorizer: AUTHORIZER,
    authorizationHeader: `Bearer ${TOKEN}`,
    resource: new URL(RESOURCE),
    resourceMetadataUrl: `${PUBLIC_BASE_URL}/.well-known/oauth-protected-resource/mcp`,
  });
  const factory = () => createSampleServer({ serverInfo: SERVER_INFO });

  return quietly(async () => {
    const adapter = createMcpLambdaHandler(createSampleServer, { publicBaseUrl: PUBLIC_BASE_URL, serverInfo: SERVER_INFO, logger: new Logger({ serviceName: 'bench', logLevel: 'INFO' }) });
    const sdk = createMcpHandler(factory, { legacy: 'reject', responseMode: 'json' });
    const modernEvent = eventFor('modern');
    const legacyEvent = eventFor('legacy');

    const check = async (status: number, text: string) => {
      if (status !== 200 || !text.includes('"formatted"')) throw new Error(`bench request failed: ${status} ${text.slice(0, 200)}`);
    };
    // One pair at a time: each pair's leftovers (garbage, deferred teardown) stay with that pair.
    const options = { batch: 10, samples: 61, warmup: 300 };
    const modernNs = await compareNsPerOp(
      {
        adapter: async () => {
          const r = await adapter(modernEvent);
          await check(r.statusCode, r.body);
        },
        sdk: async () => {
          const res = await sdk.fetch(new Request(RESOURCE, { method: 'POST', headers: headersFor('modern'), body: bodyFor('modern') }), { authInfo });
          await check(res.status, await res.text());
        },
      },
      options,
    );
    const legacyNs = await compareNsPerOp(
      {
        adapter: async () => {
          const r = await adapter(legacyEvent);
          await check(r.statusCode, r.body);
        },
        // The 2025-era baseline: the same stateless JSON transport the runtime uses, called directly.
        sdk: async () => {
          const server = factory();
          const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
          await server.connect(transport);
          const res = await transport.handleRequest(new Request(RESOURCE, { method: 'POST', headers: headersFor('legacy'), body: bodyFor('legacy') }), { authInfo });
          await check(res.status, await res.text());
          await transport.close();
          await server.close();
        },
      },
      options,
    );
    const ns = { adapterModern: modernNs.adapter, sdkModern: modernNs.sdk, adapterLegacy: legacyNs.adapter, sdkLegacy: legacyNs.sdk };
    return [
      {
        group: GROUP,
        name: 'warm tools/call 2026-07-28 via adapter',
        value: ns.adapterModern / ns.sdkModern,
        unit: 'x',
        baseline: 'SDK createMcpHandler().fetch(Request)',
        target: { max: 1.15 },
        note: `${Math.round(ns.adapterModern / 1000)} µs vs ${Math.round(ns.sdkModern / 1000)} µs per call`,
      },
      {
        group: GROUP,
        name: 'warm tools/call 2025-11-25 via adapter',
        value: ns.adapterLegacy / ns.sdkLegacy,
        unit: 'x',
        baseline: 'SDK stateless JSON transport.handleRequest(Request)',
        note: `${Math.round(ns.adapterLegacy / 1000)} µs vs ${Math.round(ns.sdkLegacy / 1000)} µs per call`,
      },
    ];
  });
}

/** Import + first call in a fresh Node process, measured inside it (Node's own boot excluded). */
function coldStartMs(bundle: string, runs: number): number {
  const probe = `
    const started = process.hrtime.bigint();
    const { handler } = require(${JSON.stringify(bundle)});
    Promise.resolve(handler(${JSON.stringify(eventFor('legacy'))}, { awsRequestId: 'cold' })).then((r) => {
      if (!r || r.statusCode !== 200) { process.exitCode = 2; return; }
      process.stdout.write('\\nCOLD_MS=' + Number(process.hrtime.bigint() - started) / 1e6 + '\\n');
    });`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['-e', probe], {
      env: { ...process.env, PUBLIC_BASE_URL, POWERTOOLS_SERVICE_NAME: 'bench', POWERTOOLS_LOG_LEVEL: 'INFO' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /COLD_MS=([\d.]+)/.exec(out);
    if (!match) throw new Error(`cold-start probe printed no timing: ${out.slice(0, 200)}`);
    samples.push(Number(match[1]));
  }
  return median(samples);
}

async function coldRows(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-'));
  try {
    const mcpBundle = join(dir, 'mcp.js');
    await bundleBytes(true, mcpBundle);
    const emptyBundle = join(dir, 'empty.js');
    writeFileSync(emptyBundle, `exports.handler = async () => ({ statusCode: 200, multiValueHeaders: {}, body: '', isBase64Encoded: false });\n`);
    const runs = 9;
    let mcp = 0;
    let empty = 0;
    // Interleave the two so machine noise falls on both alike.
    const mcpSamples: number[] = [];
    const emptySamples: number[] = [];
    for (let i = 0; i < runs; i++) {
      mcpSamples.push(coldStartMs(mcpBundle, 1));
      emptySamples.push(coldStartMs(emptyBundle, 1));
    }
    mcp = median(mcpSamples);
    empty = median(emptySamples);
    return [
      {
        group: GROUP,
        name: 'cold import + first tools/call (bundle)',
        value: mcp,
        unit: 'ms',
        baseline: `empty handler bundle (${empty.toFixed(2)} ms)`,
        note: `+${(mcp - empty).toFixed(1)} ms over an empty handler; median of ${runs} fresh processes, Node ${process.version}`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function run(): Promise<BenchRow[]> {
  const shimmed = await bundleBytes(true);
  const plain = await bundleBytes(false);
  const rows: BenchRow[] = [
    {
      group: GROUP,
      name: 'bundle size lambda/mcp/index.ts',
      value: shimmed,
      unit: 'bytes',
      target: { max: 409_600 },
      note: `esbuild minify, node22, cjs, alias @modelcontextprotocol/server/_shims → json-schema-validator-shim (without it: ${plain.toLocaleString('en-US')} bytes)`,
    },
  ];
  rows.push(...(await coldRows()));
  rows.push(...(await warmRows()));
  return rows;
}
