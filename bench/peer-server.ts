/**
 * One MCP server on 127.0.0.1, in its own process so that it does not share an event loop with
 * the load generator. Started by mcp-peers.bench.ts as `node --import tsx bench/peer-server.ts <kind>`
 * with an IPC channel; sends `{ port }` once it accepts connections. Its stdout (the Lambda handler's
 * log lines) is not read, as CloudWatch would not slow the function either.
 *
 * Every kind serves the same sample server (createSampleServer) to the same caller:
 * - `lambda`: our Lambda handler (as lambda/mcp/index.ts builds it) behind a minimal HTTP shim that turns each
 *   request into the REST API proxy event API Gateway would send after the token authorizer;
 * - `sdk-modern`: the SDK's reference Node serving, `toNodeHandler(createMcpHandler(factory))`;
 * - `sdk-legacy`: the SDK's documented stateless Node serving for 2025-era clients, a fresh
 *   server and `NodeStreamableHTTPServerTransport` per request, answering in JSON.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, type AuthInfo } from '@modelcontextprotocol/server';
import { BENCH_AUTHORIZER_CONTEXT, BENCH_URLS, mcpRequestEvent } from './fixtures';
import { authInfoFromAuthorizer } from '../lambda/runtime/auth-info';
import { createMcpLambdaHandler } from '../lambda/runtime/handler';
import { createSampleServer, createStandaloneSampleServer, SAMPLE_TOOLS } from '../lambda/mcp/server';

type Kind = 'lambda' | 'sdk-modern' | 'sdk-legacy';
type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const SERVER_INFO = { name: 'mcp-authkit-apigateway-sample', title: 'AuthKit-protected MCP sample', version: '0.1.0' };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The identity the authorizer established, handed to the SDK the way an auth middleware would. */
function callerAuthInfo(token: string): AuthInfo {
  return authInfoFromAuthorizer({
    authorizer: BENCH_AUTHORIZER_CONTEXT,
    authorizationHeader: `Bearer ${token}`,
    resource: new URL(BENCH_URLS.resource),
    resourceMetadataUrl: BENCH_URLS.protectedResourceMetadata,
  });
}

function bearerOf(req: IncomingMessage): string {
  return (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
}

/** What lambda/mcp/index.ts exports, with the settings the construct would put in its environment. */
function lambdaHandler(): NodeHandler {
  const handler = createMcpLambdaHandler(createSampleServer, {
    tools: SAMPLE_TOOLS,
    serverInfo: SERVER_INFO,
    publicBaseUrl: BENCH_URLS.base,
    allowedOrigins: '*',
  });
  return async (req, res) => {
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    const result = await handler(mcpRequestEvent({ headers, body: await readBody(req) }), { awsRequestId: 'bench' });
    for (const [name, values] of Object.entries(result.multiValueHeaders)) res.setHeader(name, values);
    res.writeHead(result.statusCode).end(result.body);
  };
}

function sdkModernHandler(): NodeHandler {
  const serve = toNodeHandler(
    createMcpHandler(() => createStandaloneSampleServer({ serverInfo: SERVER_INFO }), {
      legacy: 'reject',
      responseMode: 'json',
    }),
  );
  return async (req, res) => {
    (req as IncomingMessage & { auth?: AuthInfo }).auth = callerAuthInfo(bearerOf(req));
    await serve(req, res);
  };
}

function sdkLegacyHandler(): NodeHandler {
  return async (req, res) => {
    (req as IncomingMessage & { auth?: AuthInfo }).auth = callerAuthInfo(bearerOf(req));
    const server = createStandaloneSampleServer({ serverInfo: SERVER_INFO });
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
}

async function main(): Promise<void> {
  const kind = process.argv[2] as Kind;
  const handlers: Record<Kind, () => NodeHandler> = {
    lambda: lambdaHandler,
    'sdk-modern': sdkModernHandler,
    'sdk-legacy': sdkLegacyHandler,
  };
  if (!(kind in handlers))
    throw new Error(`Unknown server kind "${kind}": use one of ${Object.keys(handlers).join(', ')}.`);
  const handle = handlers[kind]();
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
