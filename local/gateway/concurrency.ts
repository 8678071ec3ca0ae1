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
    return `Lambda concurrency: account limit ${this.accountLimit}${reserved ? `, reserved: ${reserved}` : ''}; within a limit every invocation gets its own process at once, beyond it the invocation is throttled (500), never queued`;
  }
}

/**
 * The local bound: how many processes one function may run at once on this machine, which AWS
 * does not have. A process's heap is capped from its MemorySize, so the bound is as many processes
 * as fit in the memory given to functions (`localMemoryMb`) if each grew to its MemorySize.
 */
export interface LocalBound {
  readonly processes: number;
  /** How the bound was sized, for the start-up line and every refusal at it. */
  readonly sizing: string;
}

/** The share of the machine's memory the local bound gives to functions by default. */
export const LOCAL_MEMORY_SHARE = 0.75;

/** The memory the local bound divides by default: three quarters of the machine's, in MB. */
export function defaultLocalMemoryMb(totalBytes: number): number {
  return Math.floor((totalBytes / (1024 * 1024)) * LOCAL_MEMORY_SHARE);
}

/** floor(localMemoryMb / MemorySize), at least 1 so every function can run. */
export function localBound(localMemoryMb: number, memoryMb: number): LocalBound {
  const processes = Math.max(1, Math.floor(localMemoryMb / memoryMb));
  return {
    processes,
    sizing: `floor(${localMemoryMb} MB / MemorySize ${memoryMb} MB) = ${processes} process${processes === 1 ? '' : 'es'}`,
  };
}

/** The start-up line naming each function's local bound, how it was sized and what happens at it. */
export function describeLocalBounds(
  localMemoryMb: number,
  memorySource: string,
  bounds: ReadonlyMap<string, LocalBound>,
): string {
  const perFunction = [...bounds].map(([id, bound]) => `${id} ${bound.sizing}`).join('; ');
  return `local bound (this machine's, not AWS's): ${localMemoryMb} MB for functions (${memorySource}), each function at most ${perFunction}; an invocation beyond it is refused with Lambda's throttling answer (500) and a "local limit" log line, never queued`;
}
