/**
 * Cold start of each Lambda as deployed: the bundle the construct builds (same esbuild options),
 * loaded by a fresh Node process that serves its first request, against a fresh process loading
 * an empty handler. The authorizer fetches its JWKS from a loopback server, as it would from AuthKit.
 * Also the size of each bundle, against its target.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_SIZE_TARGETS, bundleFunction } from './bundles';
import { median, type BenchRow } from './harness';
import {
  BENCH_BASE_URL,
  BENCH_ISSUER,
  benchJwks,
  initializeRequest,
  mcpRequestEvent,
  metadataProxyEvent,
  signBenchToken,
  toolsCallRequest,
} from './fixtures';
import { tokenAuthorizerEvent } from '../fixtures/events';
import { bearerAuthorization } from '../lambda/shared/bearer-token';
import { startJwksServer } from '../fixtures/jwks-server';

const GROUP = 'cold start';
/** Fresh processes per subject; the median is reported. */
const RUNS = 11;

export type ColdSubject = 'empty' | 'emptyWithFetch' | 'authorizer' | 'metadata' | 'mcp';

export interface DeployedBundles {
  readonly dir: string;
  readonly files: Readonly<Record<ColdSubject, string>>;
  remove(): void;
}

/** Builds the three function bundles and an empty handler into a temporary folder. */
export async function buildDeployedBundles(): Promise<DeployedBundles> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-cold-'));
  const files: Record<ColdSubject, string> = {
    empty: join(dir, 'empty.js'),
    emptyWithFetch: join(dir, 'empty-with-fetch.js'),
    authorizer: join(dir, 'authorizer.js'),
    metadata: join(dir, 'metadata.js'),
    mcp: join(dir, 'mcp.js'),
  };
  writeFileSync(files.empty, 'exports.handler = async () => ({ statusCode: 200, headers: {}, body: "" });\n');
  // Node loads its fetch implementation on first use: this shows what that alone costs a cold authorizer.
  writeFileSync(
    files.emptyWithFetch,
    'exports.handler = async () => { await (await fetch(process.env.AUTHKIT_JWKS_URL)).text(); return { statusCode: 200, headers: {}, body: "" }; };\n',
  );
  for (const fn of ['authorizer', 'metadata', 'mcp'] as const) await bundleFunction(fn, files[fn]);
  return { dir, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs inside the fresh process: loads the bundle, sends the events one after the other, checks
 * each answer, prints the two durations, and exits without waiting for idle sockets.
 */
const PROBE = `
const started = process.hrtime.bigint();
const [bundle, eventsJson, expect] = process.argv.slice(1);
const { handler } = require(bundle);
const loaded = process.hrtime.bigint();
const ok = (r) => expect === 'allow' ? r && r.policyDocument && r.policyDocument.Statement[0].Effect === 'Allow' : r && r.statusCode === 200;
(async () => {
  for (const event of JSON.parse(eventsJson)) {
    const r = await handler(event, { awsRequestId: 'cold-start' });
    if (!ok(r)) { process.stdout.write('\\nCOLD_FAILED ' + JSON.stringify(r).slice(0, 300) + '\\n'); process.exit(2); }
  }
  const done = process.hrtime.bigint();
  process.stdout.write('\\nCOLD_MS ' + Number(loaded - started) / 1e6 + ' ' + Number(done - loaded) / 1e6 + '\\n', () => process.exit(0));
})().catch((e) => { process.stdout.write('\\nCOLD_FAILED ' + e.message + '\\n'); process.exit(2); });
`;

export interface ColdSample {
  /** From spawn to the first answer, seen from outside: process boot + import + first request(s). */
  readonly wallMs: number;
  /** Inside the process: loading the bundle (module scope runs here). */
  readonly importMs: number;
  /** Inside the process: the first request(s), including the authorizer's JWKS fetch. */
  readonly firstRequestMs: number;
}

interface ProbeSpec {
  readonly bundle: string;
  readonly events: readonly unknown[];
  readonly expect: 'allow' | 'ok';
  readonly env: Readonly<Record<string, string>>;
}

function probeOnce(spec: ProbeSpec, enableSourceMaps: boolean): Promise<ColdSample> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      POWERTOOLS_METRICS_NAMESPACE: 'Bench',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      ...spec.env,
      ...(enableSourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    };
    const startedAt = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-e', PROBE, spec.bundle, JSON.stringify(spec.events), spec.expect], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    let answeredAt: bigint | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (answeredAt === undefined && /COLD_(MS|FAILED) .*\n/.test(output)) answeredAt = process.hrtime.bigint();
    });
    child.once('error', reject);
    child.once('exit', () => {
      const match = /COLD_MS ([\d.]+) ([\d.]+)/.exec(output);
      if (!match || answeredAt === undefined) {
        reject(
          new Error(
            `cold-start probe of ${spec.bundle} failed: ${output.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`,
          ),
        );
        return;
      }
      resolve({
        wallMs: Number(answeredAt - startedAt) / 1e6,
        importMs: Number(match[1]),
        firstRequestMs: Number(match[2]),
      });
    });
  });
}

export interface ColdStartMedians {
  readonly wallMs: number;
  readonly importMs: number;
  readonly firstRequestMs: number;
}

/** The medians of every subject, plus the MCP function without source maps when asked for. */
export type ColdStarts = Readonly<Record<ColdSubject, ColdStartMedians>> & {
  readonly mcpWithoutSourceMaps?: ColdStartMedians;
};

/**
 * Cold-starts every subject `runs` times in interleaved rounds (empty, empty with one fetch,
 * authorizer, metadata, mcp, ...) and returns the medians. `withoutSourceMaps` adds the MCP
 * function started without `--enable-source-maps`.
 */
export async function measureColdStarts(
  bundles: DeployedBundles,
  runs: number,
  options: { withoutSourceMaps?: boolean } = {},
): Promise<ColdStarts> {
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`Cold starts need at least one run, got ${runs}.`);
  const jwks = await startJwksServer(benchJwks().keys);
  try {
    const token = signBenchToken();
    const common = { PUBLIC_BASE_URL: BENCH_BASE_URL, AUTHKIT_ISSUER: BENCH_ISSUER };
    const specs: Record<ColdSubject, ProbeSpec> = {
      empty: {
        bundle: bundles.files.empty,
        events: [{}],
        expect: 'ok',
        env: { ...common, POWERTOOLS_SERVICE_NAME: 'bench-empty' },
      },
      emptyWithFetch: {
        bundle: bundles.files.emptyWithFetch,
        events: [{}],
        expect: 'ok',
        env: { ...common, AUTHKIT_JWKS_URL: jwks.url },
      },
      authorizer: {
        bundle: bundles.files.authorizer,
        events: [tokenAuthorizerEvent(bearerAuthorization(token))],
        expect: 'allow',
        env: { ...common, POWERTOOLS_SERVICE_NAME: 'bench-authorizer', AUTHKIT_JWKS_URL: jwks.url },
      },
      metadata: {
        bundle: bundles.files.metadata,
        events: [metadataProxyEvent()],
        expect: 'ok',
        env: {
          ...common,
          POWERTOOLS_SERVICE_NAME: 'bench-metadata',
          SCOPES_SUPPORTED: 'openid profile email',
          RESOURCE_NAME: 'Bench MCP server',
        },
      },
      mcp: {
        bundle: bundles.files.mcp,
        events: [mcpRequestEvent(initializeRequest(token)), mcpRequestEvent(toolsCallRequest(token, 'legacy'))],
        expect: 'ok',
        env: { ...common, POWERTOOLS_SERVICE_NAME: 'bench-mcp', ALLOWED_ORIGINS: '*', MAX_BODY_BYTES: '1048576' },
      },
    };
    const samples: Record<string, ColdSample[]> = {
      empty: [],
      emptyWithFetch: [],
      authorizer: [],
      metadata: [],
      mcp: [],
      mcpWithoutSourceMaps: [],
    };
    for (let round = 0; round < runs; round++) {
      for (const subject of Object.keys(specs) as ColdSubject[])
        samples[subject].push(await probeOnce(specs[subject], true));
      if (options.withoutSourceMaps) samples.mcpWithoutSourceMaps.push(await probeOnce(specs.mcp, false));
    }
    const medians = (list: ColdSample[]): ColdStartMedians => ({
      wallMs: median(list.map((s) => s.wallMs)),
      importMs: median(list.map((s) => s.importMs)),
      firstRequestMs: median(list.map((s) => s.firstRequestMs)),
    });
    return {
      empty: medians(samples.empty),
      emptyWithFetch: medians(samples.emptyWithFetch),
      authorizer: medians(samples.authorizer),
      metadata: medians(samples.metadata),
      mcp: medians(samples.mcp),
      ...(options.withoutSourceMaps ? { mcpWithoutSourceMaps: medians(samples.mcpWithoutSourceMaps) } : {}),
    };
  } finally {
    await jwks.close();
  }
}

/** Largest cold start, fresh process to first answer, as a multiple of an empty handler's. */
const COLD_RATIO_TARGETS: Partial<Record<'authorizer' | 'metadata' | 'mcp', number>> = { authorizer: 2.0, mcp: 3.0 };

const FIRST_REQUEST: Record<'authorizer' | 'metadata' | 'mcp', string> = {
  authorizer: 'first token check, JWKS fetched over loopback',
  metadata: 'first protected-resource metadata GET',
  mcp: 'initialize + tools/call (2025-11-25)',
};

export default async function coldStartBench(): Promise<BenchRow[]> {
  const bundles = await buildDeployedBundles();
  try {
    const cold = await measureColdStarts(bundles, RUNS, { withoutSourceMaps: true });
    const empty = cold.empty;
    const rows: BenchRow[] = [];
    // What the MCP runtime's validator alias saves (the SDK would otherwise bundle Ajv).
    const mcpWithoutAlias = await bundleFunction('mcp', join(bundles.dir, 'mcp-without-alias.js'), {
      withoutMcpAlias: true,
    });
    for (const fn of ['authorizer', 'metadata', 'mcp'] as const) {
      const bytes = statSync(bundles.files[fn]).size;
      const mapBytes = statSync(`${bundles.files[fn]}.map`).size;
      const limit = BUNDLE_SIZE_TARGETS[fn];
      rows.push({
        group: GROUP,
        name: `${fn} bundle as deployed (minified)`,
        value: bytes,
        unit: 'bytes',
        ...(limit ? { target: { max: limit } } : {}),
        note:
          `+ ${mapBytes.toLocaleString('en-US')} bytes of source map beside it` +
          (fn === 'mcp'
            ? `; without the validator alias (mcpBundling): ${mcpWithoutAlias.toLocaleString('en-US')} bytes`
            : ''),
      });
      const m = cold[fn];
      const ratioTarget = COLD_RATIO_TARGETS[fn];
      rows.push({
        group: GROUP,
        name: `${fn}: fresh process to first answer`,
        value: m.wallMs / empty.wallMs,
        unit: 'x',
        baseline: `fresh process, empty handler (${empty.wallMs.toFixed(1)} ms)`,
        ...(ratioTarget ? { target: { max: ratioTarget } } : {}),
        note:
          `${m.wallMs.toFixed(1)} ms: import ${m.importMs.toFixed(1)} ms + ${FIRST_REQUEST[fn]} ${m.firstRequestMs.toFixed(1)} ms` +
          (fn === 'authorizer'
            ? ` (a first fetch() alone, in an empty handler: ${cold.emptyWithFetch.firstRequestMs.toFixed(1)} ms)`
            : ''),
      });
    }
    const plain = cold.mcpWithoutSourceMaps;
    if (!plain) throw new Error('measureColdStarts did not measure the MCP function without source maps.');
    rows.push({
      group: GROUP,
      name: 'mcp: cost of --enable-source-maps',
      value: cold.mcp.wallMs - plain.wallMs,
      unit: 'ms',
      baseline: 'same bundle without NODE_OPTIONS=--enable-source-maps',
      note: `import ${plain.importMs.toFixed(1)} ms without vs ${cold.mcp.importMs.toFixed(1)} ms with; median of ${RUNS} fresh processes each, Node ${process.version}`,
    });
    return rows;
  } finally {
    bundles.remove();
  }
}
