#!/usr/bin/env node
/**
 * The package's command line: `mcp-authkit-apigateway verify <McpUrl>`.
 */
import { runVerifyCommand } from './verify/command';

const USAGE = `Usage: mcp-authkit-apigateway <command>

Commands:
  verify <McpUrl>   Check a deployed stage from outside, as an MCP client would (verify --help)
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'verify') {
    return runVerifyCommand(rest, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      cwd: process.cwd(),
    });
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`Unknown command "${command}".\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
