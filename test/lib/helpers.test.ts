import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authkitIssuer } from '../../lib/authkit-domain';
import { authkitIssuer as sharedAuthkitIssuer } from '../../lambda/shared/issuer';
import { staticHeaderValue } from '../../lib/gateway-header-value';
import { bundledFunctionEntry } from '../../lib/lambda-entry';

describe('authkitIssuer', () => {
  it('is the one normalisation the Lambdas apply to AUTHKIT_ISSUER', () => {
    expect(authkitIssuer).toBe(sharedAuthkitIssuer);
    expect(authkitIssuer('Acme.AuthKit.app')).toBe('https://acme.authkit.app');
  });
});

describe('staticHeaderValue', () => {
  it('wraps the value in single quotes, keeping double quotes', () => {
    expect(staticHeaderValue('Bearer resource_metadata="https://x/y"')).toBe(
      `'Bearer resource_metadata="https://x/y"'`,
    );
  });
  it('refuses a value with a single quote, which API Gateway cannot carry', () => {
    expect(() => staticHeaderValue("it's")).toThrow(/contains a single quote/);
  });
});

describe('bundledFunctionEntry', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-layout-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const touch = (relative: string) => {
    fs.mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    fs.writeFileSync(path.join(root, relative), '');
  };

  it('finds lambda/<fn>/index.ts beside lib/ (this repository)', () => {
    touch('lambda/authorizer/index.ts');
    expect(bundledFunctionEntry('authorizer', path.join(root, 'lib'))).toBe(
      path.join(root, 'lambda/authorizer/index.ts'),
    );
  });

  it('prefers the shipped TypeScript sources over compiled JavaScript in a dist/ layout', () => {
    touch('lambda/mcp/index.ts');
    touch('dist/lambda/mcp/index.js');
    touch('dist/lambda/mcp/index.d.ts');
    expect(bundledFunctionEntry('mcp', path.join(root, 'dist/lib'))).toBe(path.join(root, 'lambda/mcp/index.ts'));
  });

  it('falls back to compiled JavaScript when no sources are shipped', () => {
    touch('dist/lambda/metadata/index.js');
    expect(bundledFunctionEntry('metadata', path.join(root, 'dist/lib'))).toBe(
      path.join(root, 'dist/lambda/metadata/index.js'),
    );
  });

  it('fails with the places it looked when the entry is missing', () => {
    expect(() => bundledFunctionEntry('mcp', path.join(root, 'lib'))).toThrow(
      /Cannot find the entry file of the "mcp" Lambda; looked for .*lambda\/mcp\/index.ts/,
    );
  });

  it('finds the real entries of this repository', () => {
    for (const fn of ['authorizer', 'metadata', 'mcp'] as const) {
      expect(bundledFunctionEntry(fn)).toBe(path.resolve(__dirname, '..', '..', 'lambda', fn, 'index.ts'));
    }
  });
});
