/**
 * The CDK app: one stack per stage, the stage chosen with `-c stage=NAME` (see `stages` in cdk.json).
 *
 *   npx cdk synth -c stage=dev
 *   npx cdk deploy -c stage=prod
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig, StageConfigError } from '../lib/stage-config';
import { McpServerStack, stackNameForStage } from '../lib/mcp-server-stack';

const app = new App();
try {
  const stage = loadStageConfig(app.node);
  new McpServerStack(app, stackNameForStage(stage.name), { stage });
} catch (error) {
  if (error instanceof StageConfigError) {
    // A configuration mistake: one readable line, no stack trace.
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
