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

/**
 * How the function is invoked: `buffered` is Lambda's Invoke (one JSON result), `stream` is
 * InvokeWithResponseStream (the bytes the function writes, as it writes them).
 */
export type InvokeMode = 'buffered' | 'stream';

export interface InvokeMessage {
  readonly type: 'invoke';
  readonly invocationId: string;
  readonly event: unknown;
  readonly context: InvocationContextFields;
  readonly mode: InvokeMode;
}

/** Sent to a process whose streamed response lost its client (only when the gateway is asked to tell the function). */
export interface ClientGoneMessage {
  readonly type: 'client-gone';
  readonly invocationId: string;
}

/** Asks a process for its heap after a full collection (answered only by processes started with `--expose-gc`). */
export interface MeasureHeapMessage {
  readonly type: 'measure-heap';
  readonly measurementId: string;
}

export type GatewayMessage = InvokeMessage | ClientGoneMessage | MeasureHeapMessage;

export type BootstrapMessage =
  | { readonly type: 'ready'; readonly rss: number }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly invocationId: string; readonly payload: string; readonly rss: number }
  | { readonly type: 'error'; readonly invocationId: string; readonly error: SerializedError; readonly rss: number }
  | { readonly type: 'crash'; readonly invocationId: string | undefined; readonly error: SerializedError }
  /** Stream mode: the response's content type, sent once before the first chunk (or at the end when nothing was written). */
  | { readonly type: 'stream-head'; readonly invocationId: string; readonly contentType: string }
  /** Stream mode: one write of the function, base64-encoded. */
  | { readonly type: 'stream-chunk'; readonly invocationId: string; readonly data: string }
  /** Stream mode: the handler has returned and its stream has ended. */
  | { readonly type: 'stream-end'; readonly invocationId: string; readonly rss: number }
  /** The V8 heap in use right after a full collection, in bytes. */
  | { readonly type: 'heap'; readonly measurementId: string; readonly heapUsedBytes: number };
