/**
 * Which Node.js binary runs a function: the major its template `Runtime` names (`nodejs24.x` →
 * Node.js 24), as Lambda runs it. When the gateway's own `node` is another major, the binary comes
 * from `scripts/ensure-node.sh <major>`, which takes the official build from the npm registry's
 * `node-<os>-<arch>` package into `.local/node/<major>` (nothing from outside the registry).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GatewayStartError } from './errors';

export interface NodeBinary {
  readonly major: number;
  /** Absolute path of the `node` executable. */
  readonly path: string;
  /** `process.version` of that binary, e.g. `v22.14.0`. */
  readonly version: string;
}

const ENSURE_NODE_SCRIPT = path.resolve(__dirname, '../../scripts/ensure-node.sh');

/** The Node.js major a Lambda runtime identifier names, or undefined for a non-Node runtime. */
export function nodeMajorOf(runtime: string): number | undefined {
  const match = /^nodejs(\d+)\.x$/.exec(runtime);
  return match ? Number(match[1]) : undefined;
}

function versionOf(binary: string): string {
  return execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8', timeout: 30_000 }).trim();
}

/** Runs `scripts/ensure-node.sh <major>` (which may install from the npm registry) and returns the binary it names. */
function ensureNode(major: number): string {
  if (!fs.existsSync(ENSURE_NODE_SCRIPT)) {
    throw new Error(`${ENSURE_NODE_SCRIPT} is missing`);
  }
  const bin = execFileSync('bash', [ENSURE_NODE_SCRIPT, String(major)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // A first install downloads a Node.js build from the registry.
    timeout: 10 * 60_000,
  }).trim();
  return path.join(bin, 'node');
}

/**
 * Finds (or fetches) the Node.js binary for each runtime, once per major. `current` is the
 * gateway's own process, used when its major matches.
 */
export class NodeBinaries {
  private readonly byMajor = new Map<number, NodeBinary>();

  constructor(private readonly current: { execPath: string; version: string } = process) {}

  forRuntime(runtime: string, functionLogicalId: string): NodeBinary {
    const major = nodeMajorOf(runtime);
    if (major === undefined)
      throw new GatewayStartError(
        'RUNTIME_NOT_AVAILABLE',
        `Function ${functionLogicalId} has runtime ${runtime}, which is not a Node.js runtime.`,
      );
    const known = this.byMajor.get(major);
    if (known) return known;
    let binary: NodeBinary;
    if (Number(this.current.version.slice(1).split('.')[0]) === major) {
      binary = { major, path: this.current.execPath, version: this.current.version };
    } else {
      try {
        const file = ensureNode(major);
        binary = { major, path: file, version: versionOf(file) };
      } catch (error) {
        const detail = (error as { stderr?: string }).stderr?.toString().trim() || (error as Error).message;
        throw new GatewayStartError(
          'RUNTIME_NOT_AVAILABLE',
          `Function ${functionLogicalId} runs on ${runtime}, and no Node.js ${major} could be found or installed (scripts/ensure-node.sh ${major}: ${detail}). ` +
            `Install Node.js ${major}, or check that the npm registry is reachable, then start again.`,
          { cause: error },
        );
      }
      if (!binary.version.startsWith(`v${major}.`)) {
        throw new GatewayStartError(
          'RUNTIME_NOT_AVAILABLE',
          `scripts/ensure-node.sh ${major} gave ${binary.path}, which is Node.js ${binary.version}, not ${major}.`,
        );
      }
    }
    this.byMajor.set(major, binary);
    return binary;
  }
}
