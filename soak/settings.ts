/**
 * The settings the soak run's targets depend on, read from the synthesized template the local
 * gateway serves, so the expectations follow the deployed configuration rather than a copy of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stackNameForStage } from '../app/mcp-server-stack';
import { LOCAL_STAGE } from '../local/stack';

export interface DeployedSettings {
  readonly stackName: string;
  readonly authorizerFunctionId: string;
  readonly metadataFunctionId: string;
  readonly mcpFunctionId: string;
  readonly jwksTimeoutMs: number;
  readonly jwksCooldownMs: number;
  readonly asMetadataTimeoutMs: number;
  readonly maxBodyBytes: number;
}

type Template = {
  Resources: Record<string, { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }>;
};

export function readDeployedSettings(cdkOut: string): DeployedSettings {
  const stackName = stackNameForStage(LOCAL_STAGE);
  const template = JSON.parse(readFileSync(join(cdkOut, `${stackName}.template.json`), 'utf8')) as Template;
  const functions = Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .map(([id, resource]) => ({ id, env: resource.Properties?.Environment?.Variables ?? {} }));
  const find = (variable: string) => {
    const found = functions.find((f) => variable in f.env);
    if (!found)
      throw new Error(
        `No function in ${stackName} sets ${variable}; the soak run expects the authorizer, metadata and MCP functions of the construct.`,
      );
    return found;
  };
  const numberOf = (fn: { env: Record<string, unknown> }, variable: string, fallback: number) => {
    const value = fn.env[variable];
    return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : fallback;
  };
  const authorizer = find('JWKS_COOLDOWN_MS');
  const metadata = find('SCOPES_SUPPORTED');
  const mcp = find('MAX_BODY_BYTES');
  return {
    stackName,
    authorizerFunctionId: authorizer.id,
    metadataFunctionId: metadata.id,
    mcpFunctionId: mcp.id,
    // The fallbacks are the Lambdas' own defaults for an unset variable.
    jwksTimeoutMs: numberOf(authorizer, 'JWKS_TIMEOUT_MS', 2000),
    jwksCooldownMs: numberOf(authorizer, 'JWKS_COOLDOWN_MS', 30_000),
    asMetadataTimeoutMs: numberOf(metadata, 'AS_METADATA_TIMEOUT_MS', 2000),
    maxBodyBytes: numberOf(mcp, 'MAX_BODY_BYTES', 1_048_576),
  };
}
