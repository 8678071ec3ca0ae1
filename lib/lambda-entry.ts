import * as fs from 'node:fs';
import * as path from 'node:path';

/** The Lambda functions this package ships, one folder each under `lambda/`. */
export type BundledFunction = 'authorizer' | 'metadata' | 'mcp';

/**
 * Finds the entry file of one of the package's own Lambdas, relative to this module, so that the
 * construct works from this repository (`lib/` beside `lambda/`), from a compiled package
 * (`dist/lib/` with the TypeScript sources of `lambda/` shipped at the package root), and from a
 * compiled layout that ships only JavaScript (`dist/lambda/<fn>/index.js`).
 *
 * TypeScript sources win over compiled JavaScript: esbuild bundles them directly, with the source
 * maps pointing at the real code.
 */
export function bundledFunctionEntry(fn: BundledFunction, moduleDir: string = __dirname): string {
  const roots = [path.resolve(moduleDir, '..'), path.resolve(moduleDir, '..', '..')];
  const candidates = ['ts', 'js'].flatMap((ext) => roots.map((root) => path.join(root, 'lambda', fn, `index.${ext}`)));
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (found === undefined) {
    throw new Error(
      `Cannot find the entry file of the "${fn}" Lambda; looked for ${candidates.join(', ')}. ` +
        'Reinstall the package (its lambda/ folder must be shipped), or pass your own entry with McpHandler.fromEntry() for the MCP handler.',
    );
  }
  return found;
}
