/**
 * The contract between the runtime and a tool author's server factory: what the factory receives
 * for each request and what it returns. `handler.ts` re-exports these as part of the public API.
 */
import type {
  AuthInfo,
  McpRequestContext,
  McpServer,
  RequestStateCodec,
  Server,
  ServerOptions,
} from '@modelcontextprotocol/server';
import type { Caller } from './caller';

/** Name, version and optional title the server reports to clients. */
export interface ServerInfo {
  readonly name: string;
  readonly version: string;
  readonly title?: string;
}

/** What the factory receives for each request: the SDK's context plus the caller, always present here. */
export interface McpLambdaRequestContext extends McpRequestContext {
  /** The verified caller's `AuthInfo` (also visible to tools as `ctx.http?.authInfo`). */
  readonly authInfo: AuthInfo;
  /** The caller, ready to use: `kind`, `sub`, `organizationId`, `clientId`, `scopes`, `access()`. */
  readonly caller: Caller;
  /** The `serverInfo` option, to pass to `new McpServer(serverInfo)`. */
  readonly serverInfo: ServerInfo;
  /**
   * Server options this runtime needs, to spread into `new McpServer(serverInfo, { ...serverOptions })`:
   * `requestState.verify` checks every echoed `requestState` (when a key is configured), and the
   * 2025-era multi-round-trip shim is off, since a stateless server cannot send requests to a
   * 2025 client.
   */
  readonly serverOptions: Pick<ServerOptions, 'requestState' | 'inputRequired'>;
  /**
   * Seals a tool's multi-round-trip state (`inputRequired({ requestState: await requestState.mint(payload, ctx) })`)
   * with the function's HMAC key (signed, not encrypted: the client can read the payload), bound to
   * the caller (`sub` and `client_id`) and to this request (its method and params less the retry
   * fields: for `tools/call`, the tool name and arguments). A state is refused (`-32602`) for any
   * other user, client, tool or arguments, and after its TTL; within the TTL, the same retry may be
   * sent again (a tool that must act once keeps its own record). Undefined when no key is configured.
   */
  readonly requestState?: RequestStateCodec;
}

/**
 * Builds a fresh `McpServer` (or low-level `Server`) for one request. Register tools here; a tool
 * reads its caller with `callerOf(ctx.http?.authInfo)` in its callback `(args, ctx) => ...`.
 */
export type McpLambdaServerFactory = (ctx: McpLambdaRequestContext) => McpServer | Server | Promise<McpServer | Server>;
