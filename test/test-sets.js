/**
 * Which test files `npm run test:unit` runs, and why the others are left to `npm test`. Every test
 * file is in exactly one of the two sets (test/architecture/test-sets.test.ts fails otherwise), so a
 * new test is filed on purpose: a file under a unit folder is a unit test by default; anywhere else
 * it must be named here.
 */

/** Folders whose tests are all pure units: no synth of a whole stack, no child process, no local stack. */
const UNIT_FOLDERS = ['test/architecture', 'test/fixtures', 'test/fuzz', 'test/lambda'];

/** Unit tests in folders that also hold slow ones. */
const UNIT_FILES = [
  'test/bench/cost.test.ts',
  'test/bench/fixtures.test.ts',
  'test/app/stage-config.test.ts',
  'test/app/stage-fields.test.ts',
  'test/app/stage-placeholders.test.ts',
  'test/cli/verify-units.test.ts',
  'test/lib/function-environments.test.ts',
  'test/lib/helpers.test.ts',
  'test/lib/props-to-functions.test.ts',
  'test/lib/setting-rows.test.ts',
  'test/local/gateway/async-invoke-settings.test.ts',
  'test/local/gateway/policy.test.ts',
  'test/local/gateway/template.test.ts',
  'test/local/gateway/throttle.test.ts',
  'test/local/gateway/vtl.test.ts',
];

/** Folders left to `npm test` as a whole: the local stack, live verification, packing, conformance, the browser. */
const SLOW_FOLDERS = ['test/bin', 'test/browser', 'test/conformance', 'test/e2e', 'test/local/authkit', 'test/reuse'];

/** Slow tests in folders that also hold unit tests, each with its reason. */
const SLOW_FILES = {
  'test/app/mcp-server-stack.test.ts': 'synthesizes a stack per stage',
  'test/bench/bundles.test.ts': 'bundles every function with esbuild',
  'test/bench/harness.test.ts': 'runs the benchmark harness',
  'test/bench/load.test.ts': 'drives a load client against a server',
  'test/cli/verify-bounded-bodies.test.ts': 'verify against endless local servers',
  'test/cli/verify-throttled.test.ts': 'verify against a live local stack with its reserved execution held',
  'test/cli/verify-misconfigured.test.ts': 'verify against live misconfigured stacks',
  'test/cli/verify-package.test.ts': 'packs and installs the CLI',
  'test/cli/verify-where.test.ts': 'verify against a live local stack, its stand-in, a wrong path and a dead port',
  'test/cli/verify.test.ts': 'verify against a live local stack',
  'test/lib/authkit-mcp-server.test.ts': 'synthesizes many stacks',
  'test/lib/state-table.test.ts': 'synthesizes stacks',
  'test/lib/task-worker.test.ts': 'synthesizes a stack',
  'test/lib/monitoring.test.ts': 'synthesizes stacks for monitoring options',
  'test/lib/server-settings.test.ts': 'synthesizes stacks for prop combinations',
  'test/lib/synth.test.ts': 'runs the real cdk synth',
  'test/local/aws/dynamodb.test.ts': 'serves dynalite behind the local DynamoDB endpoint',
  'test/local/dev-server.test.ts': 'starts npm run dev',
  'test/local/dev-token.test.ts': 'starts the local AuthKit stand-in',
  'test/local/gateway/anonymous-flood.test.ts': 'floods a running gateway',
  'test/local/gateway/async-invoke.test.ts': 'serves a synthesized stack',
  'test/local/gateway/execute-api-origin.test.ts': 'serves a synthesized stack',
  'test/local/gateway/gateway-response-templates.test.ts': 'serves a synthesized stack',
  'test/local/gateway/gateway.test.ts': 'serves a synthesized stack',
  'test/local/gateway/lambda-limits.test.ts': 'serves a synthesized stack',
  'test/local/gateway/local-concurrency.test.ts': 'runs a dozen function processes at once',
  'test/local/gateway/node-runtime.test.ts': 'serves a synthesized stack',
  'test/local/gateway/request-authorizer.test.ts': 'serves a synthesized stack',
  'test/local/gateway/secrets.test.ts': 'serves a synthesized stack',
  'test/local/gateway/start-failures.test.ts': 'synthesizes a stack per failure',
  'test/local/gateway/streaming.test.ts': 'serves a synthesized stack',
  'test/local/gateway/throttling.test.ts': 'serves a synthesized stack',
  'test/local/gateway/unknown-route.test.ts': 'serves a synthesized stack',
  'test/local/gateway/waf.test.ts': 'serves a synthesized stack',
};

module.exports = { UNIT_FOLDERS, UNIT_FILES, SLOW_FOLDERS, SLOW_FILES };
