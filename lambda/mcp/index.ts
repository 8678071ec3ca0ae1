/**
 * The sample MCP server Lambda. Settings come from the environment the construct sets
 * (PUBLIC_BASE_URL, ALLOWED_ORIGINS, MAX_BODY_BYTES) and are read once, at cold start.
 */
import { createMcpLambdaHandler } from '../runtime';
import { createSampleServer, SAMPLE_TOOLS } from './server';

export const handler = createMcpLambdaHandler(createSampleServer, {
  tools: SAMPLE_TOOLS,
  serverInfo: { name: 'mcp-authkit-apigateway-sample', title: 'AuthKit-protected MCP sample', version: '0.1.0' },
});
