/**
 * `verify` as a command: arguments in, a report on stdout, progress on stderr, an exit code out.
 * 0: every check passed; 1: a check failed; 2: the command was used wrongly or could not run.
 */
import { parseVerifyArguments, UsageError, VERIFY_USAGE, type VerifyArguments } from './args';
import { LoginError, loginForToken } from './login';
import { mcpUrlFromOutputs } from './outputs';
import { redact, renderJson, renderText } from './render';
import { runVerify } from './run';

export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** The McpUrl given, or the one the deploy outputs record for --stage. */
function mcpUrlOf(args: VerifyArguments, cwd: string): string {
  if (args.mcpUrl !== undefined) return args.mcpUrl;
  if (args.stage !== undefined) return mcpUrlFromOutputs(args.outputsFile, args.stage, cwd);
  throw new UsageError('Give the McpUrl to verify, or --stage <name> to read it from the deploy outputs. See --help.');
}

export async function runVerifyCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const secrets: string[] = [];
  const say = (line: string) => io.stderr(`${redact(line, secrets)}\n`);
  try {
    const parsed = parseVerifyArguments(argv, io.env);
    if (parsed.kind === 'help') {
      io.stdout(VERIFY_USAGE);
      return EXIT_OK;
    }
    const { args } = parsed;
    if (args.token) secrets.push(args.token);
    const mcpUrl = mcpUrlOf(args, io.cwd);
    let token = args.token;
    let loginFailure: string | undefined;
    if (args.login) {
      try {
        token = await loginForToken({
          mcpUrl,
          clientMetadataUrl: args.clientMetadataUrl,
          openBrowser: args.openBrowser,
          requestTimeoutMs: args.timeoutMs,
          log: say,
        });
        secrets.push(token);
      } catch (error) {
        // A failed sign-in is a finding like any other: the checks still run and say which link broke.
        if (!(error instanceof LoginError)) throw error;
        loginFailure = error.message;
      }
    }
    const report = await runVerify({ mcpUrl, origin: args.origin, token, loginFailure, timeoutMs: args.timeoutMs });
    io.stdout(args.json ? renderJson(report, secrets) : renderText(report, secrets));
    return report.ok ? EXIT_OK : EXIT_CHECK_FAILED;
  } catch (error) {
    if (error instanceof UsageError) {
      say(error.message);
      return EXIT_USAGE;
    }
    say(`verify could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT_USAGE;
  }
}
