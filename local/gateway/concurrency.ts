/**
 * Lambda concurrency as the account applies it to synchronous invocations: a function with
 * `ReservedConcurrentExecutions` runs at most that many invocations at once (0 disables it); the
 * others share what the account limit leaves unreserved. An invocation beyond its limit is not
 * queued but throttled (Lambda answers 429 TooManyRequestsException). An invocation holds its
 * slot until the function finishes, even after API Gateway has stopped waiting for it.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html (at least 100 stay unreserved)
 */
import { GatewayStartError } from './errors';

/** AWS's default concurrency quota per account and region. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;
/** Reserving concurrency must leave this much unreserved. */
const MINIMUM_UNRESERVED = 100;

export type ThrottleReason = 'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

export type ConcurrencyGrant =
  | { readonly ok: true; release(): void }
  | { readonly ok: false; readonly reason: ThrottleReason };

export class AccountConcurrency {
  private readonly inFlight = new Map<string, number>();
  private unreservedInFlight = 0;
  readonly unreservedLimit: number;

  /** `reserved`: ReservedConcurrentExecutions by function logical id, for the functions that set it. */
  constructor(
    readonly accountLimit: number,
    private readonly reserved: ReadonlyMap<string, number>,
  ) {
    if (!Number.isInteger(accountLimit) || accountLimit < 1) {
      throw new TypeError(`accountConcurrencyLimit must be a positive integer, got ${accountLimit}.`);
    }
    const total = [...reserved.values()].reduce((sum, n) => sum + n, 0);
    if (total > 0 && total > accountLimit - MINIMUM_UNRESERVED) {
      throw new GatewayStartError(
        'UNRESOLVABLE_VALUE',
        `The functions reserve ${total} concurrent executions, but Lambda keeps at least ${MINIMUM_UNRESERVED} of the account's ${accountLimit} unreserved, so this stack would not deploy. Lower ReservedConcurrentExecutions or raise accountConcurrencyLimit.`,
      );
    }
    this.unreservedLimit = accountLimit - total;
  }

  acquire(logicalId: string): ConcurrencyGrant {
    const reserved = this.reserved.get(logicalId);
    const running = this.inFlight.get(logicalId) ?? 0;
    if (reserved !== undefined) {
      if (running >= reserved) return { ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
    } else if (this.unreservedInFlight >= this.unreservedLimit) {
      return { ok: false, reason: 'ConcurrentInvocationLimitExceeded' };
    }
    this.inFlight.set(logicalId, running + 1);
    if (reserved === undefined) this.unreservedInFlight++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight.set(logicalId, (this.inFlight.get(logicalId) ?? 1) - 1);
        if (reserved === undefined) this.unreservedInFlight--;
      },
    };
  }

  /** The start-up line saying which limits apply. */
  describe(): string {
    const reserved = [...this.reserved].map(([id, n]) => `${id} ${n}`).join(', ');
    return `Lambda concurrency: account limit ${this.accountLimit}${reserved ? `, reserved: ${reserved}` : ''}; invocations beyond a limit are throttled (500), not queued`;
  }
}
