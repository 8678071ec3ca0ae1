/**
 * The CDK app of this repository: one stack per stage, the stage chosen with `-c stage=NAME`
 * (see `stages` in cdk.json), checked by cdk-nag. bin/app.ts runs it with the sample server; the
 * conformance run swaps in its fixture server.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SAMPLE_TOOLS } from '../lambda/mcp/server';
import { toolScopesOf } from '../lambda/runtime';
import type { ToolScopes } from '../lambda/shared/challenges';
import type { McpHandler } from '../lib/mcp-handler';
import { loadStageConfig, type StageConfig, StageConfigError } from '../app/stage-config';
import { McpServerStack, stackNameForStage } from '../app/mcp-server-stack';
import { placeholderMessage, refuseDeployOfPlaceholders, stagePlaceholders } from '../app/stage-placeholders';

export interface StageAppOptions {
  /** @default - the sample server */
  readonly mcpHandler?: McpHandler;
  /** The handler's tool scopes, for a stage with `stepUpChallenge`. @default - the sample's, without `mcpHandler` */
  readonly toolScopes?: ToolScopes;
}

export function synthesizeStageApp(options: StageAppOptions = {}): void {
  const app = new App();
  try {
    const stage = loadStageConfig(app.node);
    if (app.node.tryGetContext('stage') === undefined) {
      // Said on stderr, which the CDK CLI shows, so that a synth or deploy never targets a stage silently.
      console.error(`No -c stage=NAME given: using stage "${stage.name}" (defaultStage in cdk.json).`);
    }
    warnOfPlaceholders(stage);
    // The sample's scopes come from its own tool definitions, the ones its handler enforces.
    const toolScopes = options.toolScopes ?? (options.mcpHandler ? undefined : toolScopesOf(SAMPLE_TOOLS));
    const stack = new McpServerStack(app, stackNameForStage(stage.name), {
      stage,
      mcpHandler: options.mcpHandler,
      toolScopes,
    });
    refuseDeployOfPlaceholders(stack, stage);
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
}

/** Says on stderr, on every synth and deploy, which example values the stage still holds. */
function warnOfPlaceholders(stage: StageConfig): void {
  const placeholders = stagePlaceholders(stage);
  if (placeholders.length === 0) return;
  const lines = placeholders.map((placeholder) => `  ${placeholderMessage(stage.name, placeholder)}`);
  console.error(
    [
      `WARNING: stage "${stage.name}" still holds example values from cdk.json. It synthesizes, but CloudFormation refuses to deploy it (rule StagePlaceholders) until they are replaced:`,
      ...lines,
    ].join('\n'),
  );
}
