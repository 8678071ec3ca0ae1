/**
 * Bundles the Lambdas as the construct does, for the benchmarks that load or weigh them, and the
 * bundle size targets (the only place they are set).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { mcpBundling } from '../lambda/runtime/bundling';

const ROOT = join(__dirname, '..');

export type DeployedFunction = 'authorizer' | 'metadata' | 'mcp';

export const FUNCTION_ENTRIES: Readonly<Record<DeployedFunction, string>> = {
  authorizer: join(ROOT, 'lambda', 'authorizer', 'index.ts'),
  metadata: join(ROOT, 'lambda', 'metadata', 'index.ts'),
  mcp: join(ROOT, 'lambda', 'mcp', 'index.ts'),
};

/** Largest minified bundle each function may have; the run fails above it. */
export const BUNDLE_SIZE_TARGETS: Readonly<Partial<Record<DeployedFunction, number>>> = {
  authorizer: 81_920,
  mcp: 409_600,
};

/** Code to bundle: an entry file, or source text resolved from the repository root. */
export type BundleSource = { readonly entry: string } | { readonly code: string };

/**
 * Builds `source` into `outfile` with the options `AuthKitMcpServer.bundledFunction` gives
 * NodejsFunction (lib/authkit-mcp-server.ts): minified CommonJS for Node 24 with a linked source
 * map without sources, the AWS SDK v3 left out as NodejsFunction leaves it out by default (the
 * Lambda Node.js runtime provides it), plus `alias` (the MCP runtime's validator swap,
 * `mcpBundling().alias`).
 * Returns the size of the code, without its source map.
 */
export async function bundleAsDeployed(
  source: BundleSource,
  outfile: string,
  alias: Readonly<Record<string, string>> = {},
): Promise<number> {
  await build({
    ...('entry' in source
      ? { entryPoints: [source.entry] }
      : { stdin: { contents: source.code, resolveDir: ROOT, loader: 'ts' as const } }),
    outfile,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    alias: { ...alias },
    logLevel: 'silent',
  });
  return statSync(outfile).size;
}

/** Bundles one of the deployed functions, with the validator alias for the MCP function as the construct does. */
export function bundleFunction(
  fn: DeployedFunction,
  outfile: string,
  options: { withoutMcpAlias?: boolean } = {},
): Promise<number> {
  const alias = fn === 'mcp' && !options.withoutMcpAlias ? mcpBundling().alias : {};
  return bundleAsDeployed({ entry: FUNCTION_ENTRIES[fn] }, outfile, alias);
}
