/**
 * How Lambda treats each function's asynchronous events, read from the template's
 * `AWS::Lambda::EventInvokeConfig` resources (`MaximumRetryAttempts` 0 to 2,
 * `MaximumEventAgeInSeconds` 60 to 21600), with Lambda's defaults (2 retries, 6 hours) for a
 * function that has none: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html.
 * Only the unqualified function (`Qualifier: $LATEST`) is served locally.
 */
import { DEFAULT_MAXIMUM_EVENT_AGE_SECONDS, DEFAULT_MAXIMUM_RETRY_ATTEMPTS } from '../aws/lambda';

type Resources = Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;

export interface AsyncInvokeSettings {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
}

export const DEFAULT_ASYNC_INVOKE_SETTINGS: AsyncInvokeSettings = {
  maximumRetryAttempts: DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  maximumEventAgeSeconds: DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
};

function bounded(value: unknown, min: number, max: number, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${where} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}.`);
  return n;
}

/** Each function's settings by logical id; every function of `functionLogicalIds` has an entry. */
export function asyncInvokeSettingsOf(
  resources: Resources,
  functionLogicalIds: readonly string[],
): ReadonlyMap<string, AsyncInvokeSettings> {
  const settings = new Map(functionLogicalIds.map((id) => [id, DEFAULT_ASYNC_INVOKE_SETTINGS]));
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::EventInvokeConfig') continue;
    const p = resource.Properties ?? {};
    const target = (p.FunctionName as { Ref?: unknown } | undefined)?.Ref;
    if (typeof target !== 'string' || !settings.has(target) || (p.Qualifier ?? '$LATEST') !== '$LATEST') continue;
    settings.set(target, {
      maximumRetryAttempts: bounded(
        p.MaximumRetryAttempts,
        0,
        2,
        DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
        `${logicalId}.MaximumRetryAttempts`,
      ),
      maximumEventAgeSeconds: bounded(
        p.MaximumEventAgeInSeconds,
        60,
        21_600,
        DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
        `${logicalId}.MaximumEventAgeInSeconds`,
      ),
    });
  }
  return settings;
}
