/**
 * The esbuild options every MCP handler bundle is built with, shared by the CDK construct
 * (NodejsFunction `bundling`) and the bundle-size benchmark so both measure the same thing.
 * Build-time only: Lambda code does not import this module.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The SDK module swapped out of the bundle (it selects the JSON Schema validator per runtime). */
export const SDK_SHIMS_MODULE = '@modelcontextprotocol/server/_shims';

export interface McpBundlingOptions {
  readonly minify: true;
  readonly platform: 'node';
  readonly target: 'node24';
  readonly format: 'cjs';
  /** For the esbuild JavaScript API (`build({ alias })`). */
  readonly alias: Readonly<Record<string, string>>;
  /** For NodejsFunction `bundling.esbuildArgs` (CDK turns it into `--alias:<module>=<path>`). */
  readonly esbuildArgs: Readonly<Record<string, string>>;
}

/** Absolute path of the replacement shim: the TypeScript source in the repository, the compiled file in a package. */
export function jsonSchemaValidatorShimPath(): string {
  for (const ext of ['.ts', '.js']) {
    const candidate = join(__dirname, `json-schema-validator-shim${ext}`);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`json-schema-validator-shim is missing next to ${__filename}: reinstall the package.`);
}

/**
 * Bundling options for a Lambda whose entry uses the MCP runtime: minified CommonJS for Node 24,
 * with the SDK's Ajv-based validator replaced by its pure-JS one (see json-schema-validator-shim.ts).
 */
export function mcpBundling(): McpBundlingOptions {
  const shim = jsonSchemaValidatorShimPath();
  return {
    minify: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    alias: { [SDK_SHIMS_MODULE]: shim },
    esbuildArgs: { '--alias': `${SDK_SHIMS_MODULE}=${shim}` },
  };
}
