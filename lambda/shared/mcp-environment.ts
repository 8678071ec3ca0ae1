/**
 * The environment variables the construct sets on the MCP function and the runtime reads, for the
 * settings that streaming and multi-round-trip requests add. One definition both sides import.
 */

/** How API Gateway carries the function's answer: `STREAM` (response streaming) or `BUFFERED`. */
export const RESPONSE_TRANSFER_MODE_ENV = 'RESPONSE_TRANSFER_MODE';
export type ResponseTransferModeValue = 'STREAM' | 'BUFFERED';

/** ARN of the Secrets Manager secret whose value keys the HMAC of `requestState`. */
export const REQUEST_STATE_SECRET_ARN_ENV = 'REQUEST_STATE_SECRET_ARN';

/** Longest time, in seconds, one `subscriptions/listen` stream is held open before a clean close. */
export const LISTEN_MAX_SECONDS_ENV = 'LISTEN_MAX_SECONDS';
