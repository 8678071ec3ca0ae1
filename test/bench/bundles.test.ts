import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleAsDeployed, bundleFunction } from '../../bench/bundles';

describe('bundling as deployed', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-bundles-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes minified CommonJS with a linked source map that carries no sources', async () => {
    const outfile = join(dir, 'authorizer.js');
    const bytes = await bundleFunction('authorizer', outfile);
    const code = readFileSync(outfile, 'utf8');
    expect(bytes).toBe(Buffer.byteLength(code));
    expect(code).toMatch(/\/\/# sourceMappingURL=authorizer\.js\.map\s*$/);
    expect(code).toContain('module.exports');
    const map = JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
  });

  it('swaps the SDK validator out of the MCP bundle as the construct does', async () => {
    const withAlias = await bundleFunction('mcp', join(dir, 'mcp.js'));
    const withoutAlias = await bundleFunction('mcp', join(dir, 'mcp-plain.js'), { withoutMcpAlias: true });
    expect(withAlias).toBeLessThan(withoutAlias);
    expect(readFileSync(join(dir, 'mcp-plain.js'), 'utf8')).toMatch(/ajv/i);
  }, 60_000);

  it('keeps error names through minification, so a deployed function logs InvalidTokenError, not a renamed class', async () => {
    const outfile = join(dir, 'errors.js');
    await bundleAsDeployed(
      {
        code: "import { InvalidTokenError } from './lambda/authorizer/errors'; export const error = new InvalidTokenError('malformed', 'not a JWT');",
      },
      outfile,
    );
    const { error } = require(outfile) as { error: Error & { reason: string } };
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.reason, error.message]).toEqual(['InvalidTokenError', 'malformed', 'not a JWT']);
  });

  it('bundles source text resolved from the repository root', async () => {
    const outfile = join(dir, 'snippet.js');
    await bundleAsDeployed({ code: "export { serverUrls } from './lambda/shared/urls';" }, outfile);
    expect(existsSync(outfile)).toBe(true);
    expect(readFileSync(outfile, 'utf8')).toContain('oauth-protected-resource');
  });
});
