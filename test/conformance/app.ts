/**
 * The CDK app of the conformance run: the same stack as bin/app.ts (stage from cdk.json, `-c stage=NAME`),
 * with the conformance fixture server (fixture-server.ts) behind `/mcp` instead of the sample server,
 * deployed the way users deploy their own MCP Lambda: `McpHandler.fromEntry`.
 *
 *   npx cdk synth --app "npx tsx test/conformance/app.ts" -c stage=local
 */
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { McpHandler, McpServerStack, loadStageConfig, stackNameForStage, StageConfigError } from '../../lib';

const FIXTURE_SERVER_ENTRY = join(__dirname, 'fixture-server.ts');

const app = new App();
try {
  const stage = loadStageConfig(app.node);
  new McpServerStack(app, stackNameForStage(stage.name), { stage, mcpHandler: McpHandler.fromEntry(FIXTURE_SERVER_ENTRY) });
} catch (error) {
  if (error instanceof StageConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
