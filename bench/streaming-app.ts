/**
 * The CDK app of the streaming benchmark: the stage app of bin/app.ts with bench/streaming-server.ts
 * behind `/mcp`, deployed as users deploy their own MCP function (`McpHandler.fromEntry`).
 */
import { join } from 'node:path';
import { synthesizeStageApp } from '../bin/stage-app';
import { McpHandler } from '../lib';

// Its tools declare no scopes: a stage's step-up challenge judges the server's required scopes only.
synthesizeStageApp({ mcpHandler: McpHandler.fromEntry(join(__dirname, 'streaming-server.ts')), toolScopes: {} });
