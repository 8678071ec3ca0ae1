/** Messages between the gateway and a local Lambda process (over Node's IPC channel). */

export interface SerializedError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

/** The fields of the Lambda context object that cross the process boundary. */
export interface InvocationContextFields {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Epoch milliseconds at which the invocation times out (for `getRemainingTimeInMillis`). */
  readonly deadlineMs: number;
}

export interface InvokeMessage {
  readonly type: 'invoke';
  readonly invocationId: string;
  readonly event: unknown;
  readonly context: InvocationContextFields;
}

export type BootstrapMessage =
  | { readonly type: 'ready'; readonly rss: number }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly invocationId: string; readonly payload: string; readonly rss: number }
  | { readonly type: 'error'; readonly invocationId: string; readonly error: SerializedError; readonly rss: number }
  | { readonly type: 'crash'; readonly invocationId: string | undefined; readonly error: SerializedError };
