/**
 * The names of the MCP function's variables for streaming and multi-round-trip requests, as other
 * modules import them; the definitions are rows of the MCP settings contract (settings/mcp.ts).
 */
import { MCP_SETTINGS } from './settings/mcp';

/** How API Gateway carries the function's answer: `STREAM` (response streaming) or `BUFFERED`. */
export const RESPONSE_TRANSFER_MODE_ENV = MCP_SETTINGS.responseTransferMode.variable;
export type ResponseTransferModeValue = 'STREAM' | 'BUFFERED';

/** ARN of the Secrets Manager secret whose value keys the HMAC of `requestState`. */
export const REQUEST_STATE_SECRET_ARN_ENV = MCP_SETTINGS.requestStateSecretArn.variable;

/** Longest time, in seconds, one `subscriptions/listen` stream is held open before a clean close. */
export const LISTEN_MAX_SECONDS_ENV = MCP_SETTINGS.listenMaxSeconds.variable;
