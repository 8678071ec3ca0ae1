/**
 * `--stage <name>`: the McpUrl of a deployed stage, read from the file
 * `npx cdk deploy -c stage=<name> --outputs-file cdk-outputs.json` writes:
 * `{ "McpServer-<name>": { "McpUrl": "...", ... } }`.
 *
 * The stack name and output key are the app's (app/mcp-server-stack.ts, AuthKitMcpServer.addOutputs);
 * they are repeated here so the command does not load aws-cdk-lib, and a test holds them equal.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './args';

/** The stack that deploys `stage`, as bin/app.ts names it. */
export const stackNameOfStage = (stage: string) => `McpServer-${stage}`;
/** The output that carries the MCP endpoint. */
export const MCP_URL_OUTPUT = 'McpUrl';

export function mcpUrlFromOutputs(outputsFile: string, stage: string, cwd = process.cwd()): string {
  const file = resolve(cwd, outputsFile);
  const deployHint = `npx cdk deploy -c stage=${stage} --outputs-file ${outputsFile}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(
      `No outputs file at ${file}: deploy with "${deployHint}", or pass the McpUrl instead of --stage.`,
    );
  }
  let outputs: unknown;
  try {
    outputs = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON: write it again with "${deployHint}".`);
  }
  const stackName = stackNameOfStage(stage);
  const stacks = typeof outputs === 'object' && outputs !== null ? (outputs as Record<string, unknown>) : {};
  const stack = stacks[stackName];
  if (typeof stack !== 'object' || stack === null) {
    throw new UsageError(
      `${file} has no stack ${stackName} (it has: ${Object.keys(stacks).join(', ') || 'none'}): deploy the stage with "${deployHint}".`,
    );
  }
  const mcpUrl = (stack as Record<string, unknown>)[MCP_URL_OUTPUT];
  if (typeof mcpUrl !== 'string' || mcpUrl === '') {
    throw new UsageError(`${file}: stack ${stackName} has no ${MCP_URL_OUTPUT} output; redeploy with "${deployHint}".`);
  }
  return mcpUrl;
}
