/**
 * Errors of the task store. Callers branch on `code`, never on message text.
 */
import { McpRuntimeError } from '../errors';

/** A result larger than the store keeps inline (DynamoDB items are at most 400 KB). */
export class TaskResultTooLargeError extends McpRuntimeError {
  override readonly name = 'TaskResultTooLargeError';
  readonly code = 'TASK_RESULT_TOO_LARGE';
  constructor(
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `The task's result is ${bytes} bytes of JSON, over the ${limitBytes} bytes a task keeps inline; ` +
        'return a smaller result (a resource link to the data, for instance).',
    );
  }
}

/** DynamoDB could not be read or written (unreachable, throttled, misconfigured). */
export class TaskStoreUnavailableError extends McpRuntimeError {
  override readonly name = 'TaskStoreUnavailableError';
  readonly code = 'TASK_STORE_UNAVAILABLE';
}
