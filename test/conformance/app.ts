/**
 * The CDK app of the conformance run: the same stack as bin/app.ts (stage from cdk.json, `-c stage=NAME`),
 * with the conformance fixture server (fixture-server.ts) behind `/mcp` instead of the sample server,
 * deployed the way users deploy their own MCP Lambda: `McpHandler.fromEntry`.
 *
 *   npx cdk synth --app "npx tsx test/conformance/app.ts" -c stage=local
 */
import { join } from 'node:path';
import { synthesizeStageApp } from '../../bin/stage-app';
import { McpHandler } from '../../lib';

// Its tools declare no scopes: a stage's step-up challenge judges the server's required scopes only.
synthesizeStageApp({ mcpHandler: McpHandler.fromEntry(join(__dirname, 'fixture-server.ts')), toolScopes: {} });
