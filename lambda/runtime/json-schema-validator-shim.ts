/**
 * Replaces `@modelcontextprotocol/server/_shims` in Lambda bundles (see bundling.ts).
 *
 * On Node the SDK's shim picks the Ajv JSON Schema validator, about 150 KB of the bundle. The
 * server only uses that validator for elicitation results and JSON-Schema-defined tools; zod tools
 * validate through zod. The SDK's own pure-JS validator for Workers and browsers does the same job,
 * so the bundle keeps a working validator at a third of the size.
 */
export { CfWorkerJsonSchemaValidator as DefaultJsonSchemaValidator } from '@modelcontextprotocol/server/validators/cf-worker';
export { default as process } from 'node:process';
