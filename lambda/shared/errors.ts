/**
 * The base of every error of the contract (`lambda/shared/`): settings, URLs, issuers and bounded
 * fetches. Each error states its own `name`: the bundle is minified, which renames classes, and
 * keeping their names (esbuild `keepNames`) costs the MCP bundle 48 KB and its cold start a `__name`
 * call per function.
 */
export abstract class ContractError extends Error {
  abstract override readonly name: string;
}
