import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as lambda from 'aws-cdk-lib/aws-lambda';

/** Options for an MCP handler built from your own entry file. */
export interface McpHandlerEntryOptions {
  /**
   * The name of the exported handler function in the entry file.
   * @default - `handler`
   */
  readonly handler?: string;
  /**
   * The lock file that esbuild bundling uses to find your dependencies.
   * @default - the first `package-lock.json`, `yarn.lock`, `pnpm-lock.yaml` or `bun.lock(b)` found walking up from the current directory
   */
  readonly depsLockFilePath?: string;
  /**
   * Extra environment variables your tools read. They cannot replace the variables the construct sets.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/** @internal How the MCP function is obtained; read by the construct only. */
export type McpHandlerSource =
  | { readonly kind: 'sample' }
  | { readonly kind: 'entry'; readonly entry: string; readonly options: McpHandlerEntryOptions }
  | { readonly kind: 'function'; readonly fn: lambda.IFunction };

/**
 * The Lambda function behind `/mcp`.
 *
 * - `McpHandler.sampleServer()`: the sample server shipped with this package (tools `whoami` and more).
 * - `McpHandler.fromEntry(file)`: your own entry file, whose `handler` is built with
 *   `createMcpLambdaHandler` from `mcp-authkit-apigateway/runtime`; the construct bundles it with
 *   the same runtime, architecture and environment as the sample.
 * - `McpHandler.fromFunction(fn)`: a function you create yourself. When it is a `lambda.Function`
 *   the construct adds the environment the runtime needs; for an imported function, set the
 *   variables in `AuthKitMcpServer.mcpEnvironment` yourself.
 */
export class McpHandler {
  /** The sample MCP server shipped with this package. */
  static sampleServer(): McpHandler {
    return new McpHandler({ kind: 'sample' });
  }

  /** Your own entry file (TypeScript or JavaScript), bundled by esbuild. */
  static fromEntry(entry: string, options: McpHandlerEntryOptions = {}): McpHandler {
    const resolved = path.resolve(entry);
    if (!/\.(?:[cm]?ts|[cm]?js|tsx|jsx)$/.test(resolved)) {
      throw new Error(
        `McpHandler.fromEntry: "${entry}" is not a TypeScript or JavaScript file. Pass the file that exports your handler.`,
      );
    }
    if (!fs.existsSync(resolved)) {
      throw new Error(
        `McpHandler.fromEntry: cannot find "${entry}" (resolved to ${resolved}). Pass a path relative to the directory you run cdk from, or an absolute path.`,
      );
    }
    return new McpHandler({ kind: 'entry', entry: resolved, options });
  }

  /** A function you built yourself. */
  static fromFunction(fn: lambda.IFunction): McpHandler {
    return new McpHandler({ kind: 'function', fn });
  }

  /** @internal */
  readonly source: McpHandlerSource;

  private constructor(source: McpHandlerSource) {
    this.source = source;
  }
}
