/**
 * Lambda runs a function on the Node.js major its `Runtime` names (`nodejs22.x` → Node.js 22,
 * `nodejs24.x` → Node.js 24), so the local gateway does too, whatever the gateway's own Node.js.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html (supported runtimes)
 */
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { nodeMajorOf } from '../../../local/gateway/node-runtime';
import type { FixtureAssembly } from './fixture-app';
import { synthStreamingFixture } from './streaming-fixture';

// A first run may install a Node.js build from the npm registry (scripts/ensure-node.sh).
jest.setTimeout(300_000);

let fixture: FixtureAssembly;
let gateway: RunningGateway;
const logLines: string[] = [];

beforeAll(async () => {
  fixture = synthStreamingFixture();
  gateway = await startGateway({
    cdkOut: fixture.cdkOut,
    port: 0,
    log: (line) => logLines.push(line),
    onFunctionOutput: () => undefined,
  });
});

afterAll(async () => {
  await gateway?.stop();
  fixture?.cleanup();
});

async function versionReport(path: string): Promise<{ version: string; execPath: string; executionEnv: string }> {
  const response = await fetch(`${gateway.url}${path}`);
  expect(response.status).toBe(200);
  return response.json() as Promise<{ version: string; execPath: string; executionEnv: string }>;
}

describe('the Node.js a function runs on', () => {
  it.each([
    ['nodejs22.x', 22, '/node22'],
    ['nodejs24.x', 24, '/node24'],
  ])('runs a %s function on Node.js %d', async (runtime, major, path) => {
    const report = await versionReport(path);
    expect(report.version).toMatch(new RegExp(`^v${major}\\.`));
    expect(report.executionEnv).toBe(`AWS_Lambda_${runtime}`);
  });

  it('runs a function whose major differs from the gateway process on another binary', async () => {
    const gatewayMajor = Number(process.versions.node.split('.')[0]);
    const other = gatewayMajor === 22 ? '/node24' : '/node22';
    const report = await versionReport(other);
    expect(report.execPath).not.toBe(process.execPath);
  });

  it('says at start which binary runs each function', () => {
    for (const [id, major] of [
      ['Node22Fn', 22],
      ['Node24Fn', 24],
      ['StreamingFn', 24],
    ] as const) {
      expect(logLines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `function ${id}[0-9A-F]{8} \\(nodejs${major}\\.x\\) runs on Node\\.js v${major}\\.\\d+\\.\\d+: /.+/node$`,
          ),
        ),
      );
    }
  });

  it.each([
    ['nodejs24.x', 24],
    ['nodejs22.x', 22],
    ['python3.13', undefined],
    ['nodejs', undefined],
  ])('reads the major of %s', (runtime, major) => {
    expect(nodeMajorOf(runtime)).toBe(major);
  });
});
