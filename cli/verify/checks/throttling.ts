/**
 * Recognises a throttled MCP function in an answer of the MCP endpoint. Lambda refuses the
 * invocation (429 TooManyRequestsException, "Rate Exceeded") before the function runs, and API
 * Gateway turns that into a 500 for a Lambda proxy integration (an INTEGRATION_FAILURE), not a 429:
 * https://repost.aws/knowledge-center/api-gateway-internal-server-error. A function that ran and
 * failed gets 502 instead, so on this stack a 500 from the MCP endpoint means the function was
 * not invoked. Other gateways or custom responses may pass Lambda's words on in the body; those
 * count too.
 */

/** Statuses a throttled invocation can reach a client with, through API Gateway, a proxy or a CDN. */
const THROTTLED_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503]);
/** Lambda's own words for a throttled invocation, as a body passed on may carry them. */
const LAMBDA_THROTTLING =
  /TooManyRequestsException|Rate Exceeded|ReservedFunctionConcurrentInvocationLimitExceeded|ConcurrentInvocationLimitExceeded/i;

export const THROTTLED_FIX =
  "Lambda is refusing to run the MCP function: its reserved concurrency (mcpReservedConcurrency) or the account's Lambda concurrency quota (Service Quotas, AWS Lambda, Concurrent executions) is used up, held streams included. Raise the reservation or the quota, or shorten held streams.";

/** Why this answer looks like a throttled MCP function, or undefined. */
export function lambdaThrottlingEvidence(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): string | undefined {
  if (!THROTTLED_STATUSES.has(status)) return undefined;
  // The body only: API Gateway's own 429 (stage throttling) carries TooManyRequestsException as its
  // error type too, and is not Lambda refusing the function.
  const errorType = headers['x-amzn-errortype'] ?? '';
  const words = LAMBDA_THROTTLING.exec(body.slice(0, 4096))?.[0];
  if (words !== undefined) return `HTTP ${status} saying ${words}`;
  if (status === 500 && /InternalServerErrorException/i.test(errorType)) {
    return 'HTTP 500 from API Gateway: the MCP function was not invoked (a function that runs and fails gets 502), which Lambda throttling causes';
  }
  return undefined;
}
