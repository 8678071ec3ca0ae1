import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

// local/ is a workspace package of its own: what only the local stack needs is declared there, and
// the product's package.json lists what the product needs. This reads every import of the source
// rooms (TypeScript's own parser: import and export declarations, require, require.resolve and
// dynamic import) and holds both manifests to it.
const ROOT = path.resolve(__dirname, '..', '..');
const LOCAL = path.join(ROOT, 'local');
const OTHER_ROOMS = ['lambda', 'lib', 'app', 'bin', 'cli', 'fixtures', 'test', 'bench', 'soak', 'scripts'];
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'cdk.out', 'dist', '.local']);
const BUILTINS = new Set(builtinModules);

/** Packages the local stack runs as a program, not imports: the file that runs it and the text that shows it. */
const RUN_AS_PROGRAMS: Readonly<Record<string, { file: string; shows: RegExp }>> = {
  'aws-cdk': { file: 'local/stack.ts', shows: /'\.bin', 'cdk'/ },
  tsx: { file: 'local/authkit/launch.ts', shows: /tsx/ },
};

/** Root packages that the product uses without importing them, each with where. */
const ROOT_USES_WITHOUT_IMPORT: Readonly<Record<string, string>> = {
  esbuild: "aws-cdk-lib's NodejsFunction bundles every function with the esbuild installed beside it",
};

interface Manifest {
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly scripts?: Record<string, string>;
  readonly workspaces?: readonly string[];
}

function manifest(file: string): Manifest {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

function declared(pkg: Manifest): Set<string> {
  return new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ]);
}

function sourceFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFiles(full);
    return /\.(m?ts|m?js)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for a path or a builtin. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (BUILTINS.has(name)) return undefined;
  // Type-only packages: `aws-lambda` is the handler types of @types/aws-lambda.
  return name === 'aws-lambda' ? '@types/aws-lambda' : name;
}

function specifiersIn(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0])) {
      const callee = node.expression.getText(source);
      if (
        callee === 'require' ||
        callee === 'require.resolve' ||
        node.expression.kind === ts.SyntaxKind.ImportKeyword
      ) {
        found.push(node.arguments[0].text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function packagesUsedBy(files: readonly string[]): Set<string> {
  return new Set(files.flatMap(specifiersIn).flatMap((specifier) => packageOf(specifier) ?? []));
}

const rootManifest = manifest(path.join(ROOT, 'package.json'));
const localManifest = manifest(path.join(LOCAL, 'package.json'));
const usedByLocal = packagesUsedBy(sourceFiles(LOCAL));
const usedElsewhere = packagesUsedBy(OTHER_ROOMS.flatMap((room) => sourceFiles(path.join(ROOT, room))));

describe('local/ is a workspace package with its own dependencies', () => {
  it('is one of the root package’s workspaces', () => {
    expect(rootManifest.workspaces).toContain('local');
  });

  it('finds the imports it checks (the parser reads every form the code uses)', () => {
    expect([...usedByLocal]).toEqual(expect.arrayContaining(['oidc-provider', 'dynalite', 'esbuild']));
    expect([...usedByLocal]).toContain('@aws-sdk/client-secrets-manager');
  });

  it('declares every package local/ imports', () => {
    const missing = [...usedByLocal].filter((name) => !declared(localManifest).has(name));
    expect(missing).toEqual([]);
  });

  it('declares nothing local/ does not use', () => {
    const unused = [...declared(localManifest)].filter((name) => {
      if (usedByLocal.has(name)) return false;
      const program = RUN_AS_PROGRAMS[name];
      return !program?.shows.test(fs.readFileSync(path.join(ROOT, program.file), 'utf8'));
    });
    expect(unused).toEqual([]);
  });

  it('leaves out of the root package.json what only local/ uses', () => {
    const rootScripts = Object.values(rootManifest.scripts ?? {}).join('\n');
    const onlyLocal = [...declared(rootManifest)].filter((name) => {
      if (!declared(localManifest).has(name) || usedElsewhere.has(name)) return false;
      if (ROOT_USES_WITHOUT_IMPORT[name]) return false;
      const program = RUN_AS_PROGRAMS[name];
      // A program the root's own scripts run (e.g. `cdk synth`, `tsx bench/run.ts`) is the root's too.
      const binary = name === 'aws-cdk' ? 'cdk' : name;
      return !(program && new RegExp(`(^|\\s)${binary}\\s`, 'm').test(rootScripts));
    });
    expect(onlyLocal).toEqual([]);
  });

  it('asks for the same version range as the root where both declare a package, so npm installs one copy', () => {
    const rootRanges = { ...rootManifest.devDependencies, ...rootManifest.dependencies };
    const localRanges = { ...localManifest.devDependencies, ...localManifest.dependencies };
    const differing = Object.entries(localRanges)
      .filter(([name, range]) => rootRanges[name] !== undefined && rootRanges[name] !== range)
      .map(([name, range]) => `${name}: local ${range}, root ${rootRanges[name]}`);
    expect(differing).toEqual([]);
  });
});
