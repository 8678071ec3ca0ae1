/**
 * Starts a task's worker: an asynchronous `Invoke` (`InvocationType: Event`,
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) of this very function
 * (`AWS_LAMBDA_FUNCTION_NAME`, set by Lambda), signed with the function's own role. Lambda answers
 * 202 once the event is queued; the worker runs in another invocation. The Lambda client is loaded on
 * the first task, so a function that never runs one never pays for it.
 */
import type * as LambdaSdk from '@aws-sdk/client-lambda';
import { signTaskEvent, type TaskEventBody } from './event';

export type TaskInvoker = (body: TaskEventBody) => Promise<void>;

export interface TaskInvokerOptions {
  readonly functionName: string;
  readonly key: () => Promise<string | Uint8Array>;
  readonly clientConfig?: LambdaSdk.LambdaClientConfig;
}

export function createTaskInvoker({ functionName, key, clientConfig }: TaskInvokerOptions): TaskInvoker {
  let client: Promise<{ sdk: typeof LambdaSdk; client: LambdaSdk.LambdaClient }> | undefined;
  return async (body) => {
    // With require, not import(): an ES import() does not search NODE_PATH, where Lambda's Node.js
    // runtime provides the AWS SDK (https://nodejs.org/api/esm.html#no-node_path).
    client ??= Promise.resolve()
      .then(() => require('@aws-sdk/client-lambda') as typeof LambdaSdk)
      .then((sdk) => ({ sdk, client: new sdk.LambdaClient({ maxAttempts: 3, ...clientConfig }) }));
    const { sdk, client: lambda } = await client;
    const payload = signTaskEvent(await key(), body);
    const answer = await lambda.send(
      new sdk.InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(payload) }),
    );
    if (answer.StatusCode !== 202) throw new Error(`Lambda answered ${answer.StatusCode} to the task's Invoke`);
  };
}
