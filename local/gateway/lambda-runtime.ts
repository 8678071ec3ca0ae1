/**
 * Local Lambda functions: each one a pool of child processes ("execution environments") running
 * the bundled asset from `cdk.out` with the environment from the template. As on Lambda, every
 * invocation that finds no idle process gets a new one at once (a cold start), a process serves one
 * invocation at a time, stays warm for the next, is stopped after a while idle, and is replaced
 * after a timeout or crash. Only the local bound (see `LocalBound`) refuses an invocation that AWS
 * would run, and it says so in the log each time; nothing waits in a queue.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { AccountConcurrency, LocalBound } from './concurrency';
import type {
  BootstrapMessage,
  GatewayMessage,
  ClientGoneMessage,
  InvokeMessage,
  InvokeMode,
  SerializedError,
} from './lambda-protocol';

export interface LocalFunctionSpec {
  readonly logicalId: string;
  readonly functionName: string;
  readonly arn: string;
  /** The folder the handler is loaded from (`LAMBDA_TASK_ROOT`). */
  readonly codeDir: string;
  readonly handler: string;
  /** e.g. `nodejs22.x`. */
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** `ReservedConcurrentExecutions`, when the template sets it. */
  readonly reservedConcurrency?: number;
  /** `Environment.Variables` from the template, resolved. */
  readonly environment: Readonly<Record<string, string>>;
  readonly region: string;
}

export type InvocationOutcome =
  /** `payload` is the JSON result in buffered mode, empty in stream mode (the bytes went to the observer). */
  | { readonly ok: true; readonly payload: string; readonly durationMs: number; readonly coldStart: boolean }
  | {
      readonly ok: false;
      /**
       * `function`: the handler threw; `timeout`: it ran past its Timeout; `crash`: the process died;
       * `init`: loading failed; `throttled`: Lambda refused it at the concurrency limit (429);
       * `request-too-large`: the event is over Lambda's 6 MB invoke payload limit (413). The last two never ran.
       */
      readonly failure: InvocationFailure;
      readonly error: SerializedError;
      readonly durationMs: number;
      readonly coldStart: boolean;
    };

export type InvocationFailure = 'function' | 'timeout' | 'crash' | 'init' | 'throttled' | 'request-too-large';

/**
 * Lambda refuses a synchronous invocation whose payload is 6,291,456 bytes or more ("Request must
 * be smaller than 6291456 bytes for the InvokeFunction operation"), before the function runs.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html and
 * https://zaccharles.medium.com/deep-dive-lambdas-request-payload-size-limit-2-2-6350c1ae5577
 */
export const MAX_INVOKE_REQUEST_BYTES = 6 * 1024 * 1024;

export interface ProcessStats {
  readonly pid: number;
  readonly rssBytes: number;
  readonly invocations: number;
  readonly busy: boolean;
}

export interface FunctionStats {
  readonly logicalId: string;
  readonly functionName: string;
  readonly invocations: number;
  readonly errors: number;
  /** Invocations refused at the concurrency limit, or at the local bound. */
  readonly throttles: number;
  /** Of those, the ones refused at the local bound, which AWS would have run. */
  readonly localLimitRefusals: number;
  readonly coldStarts: number;
  readonly processes: readonly ProcessStats[];
}

/** Receives a streamed response as the function writes it. */
export interface StreamObserver {
  /** The response's content type; comes once, before the first chunk. */
  onHead(contentType: string): void;
  onChunk(chunk: Buffer): void;
}

export interface InvokeOptions {
  /** `stream` invokes as InvokeWithResponseStream. @default 'buffered' */
  readonly mode?: InvokeMode;
  /** Stream mode: where the response goes. */
  readonly stream?: StreamObserver;
  /** When this aborts, the function's response stream is destroyed (its handler sees 'close'). */
  readonly clientGone?: AbortSignal;
}

export interface LocalFunctionOptions {
  /** The compiled bootstrap script to fork. */
  readonly bootstrapFile: string;
  /** The Node.js binary the processes run on (of the major the function's runtime names). */
  readonly nodeBinary: string;
  /**
   * How many processes this function may run at once on this machine: an invocation within the
   * Lambda concurrency limits that finds them all busy is refused with the throttling answer, and
   * `log` says so.
   */
  readonly localBound: LocalBound;
  /**
   * Receives the gateway's lines about this function's execution environments: each one started
   * (as Lambda logs INIT_START), each one stopped when idle, each refusal at the local bound.
   */
  readonly log: (line: string) => void;
  /** How long a process may stay idle before it is stopped (the next invocation cold-starts). */
  readonly idleTimeoutMs: number;
  /** The account's concurrency, shared by every function of the gateway. */
  readonly concurrency: AccountConcurrency;
  /** Receives each line the function writes to stdout or stderr. */
  readonly onOutput: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * What Lambda's execution environment gives every function besides its own variables: the
   * role's credentials, and locally where AWS services are reached and the runtime's AWS SDK.
   */
  readonly awsEnvironment?: Readonly<Record<string, string>>;
  /** Start processes with `--expose-gc`, so that `measureHeaps` can ask each for its heap after a full collection. */
  readonly exposeGc?: boolean;
}

// Lambda allows 10 s for loading a function's code before the first invocation.
const INIT_TIMEOUT_MS = 10_000;

interface Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<SerializedError | undefined>;
  busy: boolean;
  alive: boolean;
  /** Stops the process once it has been idle for `idleTimeoutMs`. */
  idleTimer?: NodeJS.Timeout;
  invocations: number;
  rss: number;
  pending?: {
    readonly invocationId: string;
    readonly stream?: StreamObserver;
    readonly settle: (message: BootstrapMessage | { type: 'exit' }) => void;
  };
}

function readRss(pid: number | undefined, fallback: number): number {
  if (pid === undefined) return fallback;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : fallback;
  } catch {
    return fallback;
  }
}

export class LocalFunction {
  private readonly workers: Worker[] = [];
  private invocationCount = 0;
  private errorCount = 0;
  private throttleCount = 0;
  private localLimitCount = 0;
  private coldStartCount = 0;
  private stopped = false;

  constructor(
    readonly spec: LocalFunctionSpec,
    private readonly options: LocalFunctionOptions,
  ) {}

  /** The environment a process of this function sees: the template's variables plus Lambda's reserved ones. */
  processEnvironment(): Record<string, string> {
    const { spec } = this;
    return {
      ...spec.environment,
      ...this.options.awsEnvironment,
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: spec.codeDir,
      _HANDLER: spec.handler,
      AWS_REGION: spec.region,
      AWS_DEFAULT_REGION: spec.region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    };
  }

  async invoke(
    event: unknown,
    awsRequestId: string = randomUUID(),
    options: InvokeOptions = {},
  ): Promise<InvocationOutcome> {
    const started = Date.now();
    if (this.stopped) throw new Error(`Function ${this.spec.logicalId} is stopped`);
    const refused = this.refusal(event, started);
    if (refused) return refused;
    const grant = this.options.concurrency.acquire(this.spec.logicalId);
    if (!grant.ok) return this.throttled(`Rate Exceeded. (${grant.reason})`, started);
    try {
      const claimed = this.claimProcess();
      if (!claimed) return this.refuseAtLocalBound(started);
      return await this.invokeWithinConcurrency(event, awsRequestId, options, started, claimed);
    } finally {
      grant.release();
    }
  }

  /** Lambda's answer to an invocation beyond a concurrency limit: 429 TooManyRequestsException. */
  private throttled(errorMessage: string, started: number): InvocationOutcome {
    this.throttleCount++;
    return {
      ok: false,
      failure: 'throttled',
      error: { errorType: 'TooManyRequestsException', errorMessage, trace: [] },
      durationMs: Date.now() - started,
      coldStart: false,
    };
  }

  /** Every process the local bound allows is busy: refuse as Lambda throttles, and say loudly that AWS would not. */
  private refuseAtLocalBound(started: number): InvocationOutcome {
    this.localLimitCount++;
    const { logicalId } = this.spec;
    const { processes, sizing } = this.options.localBound;
    this.options.log(
      `local limit: ${logicalId} has all ${processes} processes of its local bound busy (${sizing}); this invocation is refused with the throttling answer, although AWS would run it. Give functions more memory (the gateway's localMemoryMb, LOCAL_MEMORY_MB for npm run dev) or hold fewer requests at once.`,
    );
    return this.throttled(`Rate Exceeded. (local bound of ${processes} processes for ${logicalId})`, started);
  }

  /** Lambda's check of the request payload, made before anything runs. */
  private refusal(event: unknown, started: number): InvocationOutcome | undefined {
    const bytes = Buffer.byteLength(JSON.stringify(event) ?? '');
    if (bytes < MAX_INVOKE_REQUEST_BYTES) return undefined;
    return {
      ok: false,
      failure: 'request-too-large',
      error: {
        errorType: 'RequestEntityTooLargeException',
        errorMessage: `Request must be smaller than ${MAX_INVOKE_REQUEST_BYTES} bytes for the InvokeFunction operation (the event is ${bytes} bytes)`,
        trace: [],
      },
      durationMs: Date.now() - started,
      coldStart: false,
    };
  }

  private async invokeWithinConcurrency(
    event: unknown,
    awsRequestId: string,
    options: InvokeOptions,
    started: number,
    { worker, coldStart }: { worker: Worker; coldStart: boolean },
  ): Promise<InvocationOutcome> {
    this.invocationCount++;
    const failed = (failure: InvocationFailure, error: SerializedError): InvocationOutcome => {
      this.errorCount++;
      return { ok: false, failure, error, durationMs: Date.now() - started, coldStart };
    };
    try {
      const initError = await worker.ready;
      if (initError) return failed('init', initError);
      const invocationId = randomUUID();
      const timeoutMs = this.spec.timeoutSeconds * 1000;
      const message: InvokeMessage = {
        type: 'invoke',
        invocationId,
        event,
        context: {
          awsRequestId,
          functionName: this.spec.functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: this.spec.arn,
          memoryLimitInMB: String(this.spec.memoryMb),
          logGroupName: `/aws/lambda/${this.spec.functionName}`,
          logStreamName: 'local',
          deadlineMs: Date.now() + timeoutMs,
        },
        mode: options.mode ?? 'buffered',
      };
      const reply = await this.exchange(worker, message, timeoutMs, options);
      worker.invocations++;
      switch (reply.type) {
        case 'result':
          return { ok: true, payload: reply.payload, durationMs: Date.now() - started, coldStart };
        case 'stream-end':
          return { ok: true, payload: '', durationMs: Date.now() - started, coldStart };
        case 'error':
          return failed('function', reply.error);
        case 'timeout':
          this.retire(worker);
          return failed('timeout', {
            errorType: 'Sandbox.Timedout',
            errorMessage: `${awsRequestId} Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
            trace: [],
          });
        case 'crash':
          this.retire(worker);
          return failed('crash', reply.error);
        default:
          this.retire(worker);
          return failed('crash', {
            errorType: 'Runtime.ExitError',
            errorMessage: 'The function process exited during the invocation',
            trace: [],
          });
      }
    } finally {
      this.release(worker);
    }
  }

  /** Sends one invocation and waits for its outcome, the function's Timeout, or the process's exit. */
  private exchange(
    worker: Worker,
    message: InvokeMessage,
    timeoutMs: number,
    options: InvokeOptions,
  ): Promise<BootstrapMessage | { type: 'exit' } | { type: 'timeout' }> {
    return new Promise((resolve) => {
      const onClientGone = () => {
        if (worker.pending?.invocationId === message.invocationId && worker.alive) {
          worker.child.send({ type: 'client-gone', invocationId: message.invocationId } satisfies ClientGoneMessage);
        }
      };
      const finish = (reply: BootstrapMessage | { type: 'exit' } | { type: 'timeout' }) => {
        clearTimeout(timer);
        options.clientGone?.removeEventListener('abort', onClientGone);
        worker.pending = undefined;
        resolve(reply);
      };
      const timer = setTimeout(() => finish({ type: 'timeout' }), timeoutMs);
      worker.pending = { invocationId: message.invocationId, stream: options.stream, settle: finish };
      options.clientGone?.addEventListener('abort', onClientGone, { once: true });
      worker.child.send(message);
    });
  }

  /** An idle process, or a new one (a cold start); undefined when the local bound's processes are all busy. */
  private claimProcess(): { worker: Worker; coldStart: boolean } | undefined {
    // Most recently used first, so sequential requests meet the same warm module state.
    for (let i = this.workers.length - 1; i >= 0; i--) {
      const worker = this.workers[i];
      if (!worker.busy && worker.alive) {
        worker.busy = true;
        clearTimeout(worker.idleTimer);
        this.workers.splice(i, 1);
        this.workers.push(worker);
        return { worker, coldStart: false };
      }
    }
    if (this.workers.length >= this.options.localBound.processes) return undefined;
    const worker = this.spawn();
    worker.busy = true;
    this.coldStartCount++;
    this.options.log(
      `${this.spec.logicalId}: execution environment started (cold start, pid ${worker.child.pid ?? 'none'}); ${this.workers.length} environments now`,
    );
    return { worker, coldStart: true };
  }

  /** The process waits for the next invocation, and is stopped once idle for `idleTimeoutMs`. */
  private release(worker: Worker): void {
    worker.busy = false;
    if (!worker.alive || this.stopped) return;
    worker.idleTimer = setTimeout(() => this.stopIdle(worker), this.options.idleTimeoutMs);
    worker.idleTimer.unref();
  }

  private stopIdle(worker: Worker): void {
    if (worker.busy || !worker.alive) return;
    worker.alive = false;
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers.splice(index, 1);
    worker.child.kill('SIGTERM');
    this.options.log(
      `${this.spec.logicalId}: execution environment stopped after ${this.options.idleTimeoutMs / 1000} s idle (pid ${worker.child.pid ?? 'none'}); ${this.workers.length} environments now`,
    );
  }

  private spawn(): Worker {
    const child = this.forkProcess();
    let markReady: (error: SerializedError | undefined) => void = () => undefined;
    const worker: Worker = {
      child,
      ready: new Promise((resolve) => (markReady = resolve)),
      busy: false,
      alive: true,
      invocations: 0,
      rss: 0,
    };
    const initTimer = setTimeout(() => {
      markReady({
        errorType: 'Runtime.InitTimeout',
        errorMessage: `Loading the handler took longer than ${INIT_TIMEOUT_MS / 1000} s`,
        trace: [],
      });
      this.retire(worker);
    }, INIT_TIMEOUT_MS);
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source) readline.createInterface({ input: source }).on('line', (line) => this.options.onOutput(line, stream));
    }
    child.on('message', (message: BootstrapMessage) => this.onMessage(worker, message, initTimer, markReady));
    // A process that cannot start (its asset folder is gone: spawn ENOENT) fails its invocation,
    // which the gateway answers with a 502 as for any function that cannot initialise, instead of
    // an unhandled 'error' event ending the gateway.
    child.on('error', (error) => {
      clearTimeout(initTimer);
      markReady({
        errorType: 'Runtime.StartError',
        errorMessage: `The function process could not start: ${error.message}`,
        trace: [],
      });
      worker.pending?.settle({ type: 'exit' });
      this.retire(worker);
    });
    child.on('exit', () => {
      clearTimeout(initTimer);
      worker.alive = false;
      markReady({
        errorType: 'Runtime.ExitError',
        errorMessage: 'The function process exited while loading',
        trace: [],
      });
      worker.pending?.settle({ type: 'exit' });
      const index = this.workers.indexOf(worker);
      if (index >= 0) this.workers.splice(index, 1);
    });
    this.workers.push(worker);
    return worker;
  }

  private forkProcess(): ChildProcess {
    return fork(this.options.bootstrapFile, [], {
      execPath: this.options.nodeBinary,
      cwd: this.spec.codeDir,
      env: this.processEnvironment(),
      // The Node.js Lambda runtime sizes the heap from the configured memory.
      execArgv: [
        `--max-old-space-size=${Math.max(64, Math.floor(this.spec.memoryMb * 0.9))}`,
        ...(this.options.exposeGc ? ['--expose-gc'] : []),
      ],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
  }

  /** What the bootstrap reports: readiness, an invocation's result or stream, a crash, a heap measurement. */
  private onMessage(
    worker: Worker,
    message: BootstrapMessage,
    initTimer: NodeJS.Timeout,
    markReady: (error: SerializedError | undefined) => void,
  ): void {
    if (message.type === 'ready') {
      clearTimeout(initTimer);
      worker.rss = message.rss;
      markReady(undefined);
    } else if (message.type === 'init-error') {
      clearTimeout(initTimer);
      markReady(message.error);
      this.retire(worker);
    } else if (message.type === 'result' || message.type === 'error' || message.type === 'stream-end') {
      worker.rss = message.rss;
      if (worker.pending?.invocationId === message.invocationId) worker.pending.settle(message);
    } else if (message.type === 'stream-head' || message.type === 'stream-chunk') {
      const observer = worker.pending?.invocationId === message.invocationId ? worker.pending.stream : undefined;
      if (message.type === 'stream-head') observer?.onHead(message.contentType);
      else observer?.onChunk(Buffer.from(message.data, 'base64'));
    } else if (message.type === 'crash') {
      worker.pending?.settle(message);
    } else if (message.type === 'heap') {
      this.heapWaiters.get(message.measurementId)?.(message.heapUsedBytes);
    }
  }

  private retire(worker: Worker): void {
    worker.alive = false;
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers.splice(index, 1);
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  }

  private readonly heapWaiters = new Map<string, (heapUsedBytes: number) => void>();

  /**
   * Each live process's V8 heap right after a full collection (process id → bytes): what the
   * function really keeps, unlike RSS, which also holds garbage V8 has not collected yet. Needs
   * `exposeGc`; a process that does not answer within `timeoutMs` is left out.
   */
  async measureHeaps(timeoutMs = 5000): Promise<Map<number, number>> {
    if (!this.options.exposeGc)
      throw new Error(`measureHeaps needs the gateway's exposeGc option (function ${this.spec.logicalId}).`);
    const heaps = new Map<number, number>();
    await Promise.all(
      this.workers
        .filter((worker) => worker.alive && worker.child.connected)
        .flatMap((worker) => (worker.child.pid === undefined ? [] : [{ worker, pid: worker.child.pid }]))
        .map(
          ({ worker, pid }) =>
            new Promise<void>((resolve) => {
              const measurementId = randomUUID();
              const timer = setTimeout(() => finish(undefined), timeoutMs);
              const finish = (bytes: number | undefined) => {
                clearTimeout(timer);
                this.heapWaiters.delete(measurementId);
                if (bytes !== undefined) heaps.set(pid, bytes);
                resolve();
              };
              this.heapWaiters.set(measurementId, finish);
              worker.child.send({ type: 'measure-heap', measurementId } satisfies GatewayMessage);
            }),
        ),
    );
    return heaps;
  }

  stats(): FunctionStats {
    return {
      logicalId: this.spec.logicalId,
      functionName: this.spec.functionName,
      invocations: this.invocationCount,
      errors: this.errorCount,
      throttles: this.throttleCount,
      localLimitRefusals: this.localLimitCount,
      coldStarts: this.coldStartCount,
      processes: this.workers.map((worker) => ({
        pid: worker.child.pid ?? -1,
        rssBytes: readRss(worker.child.pid, worker.rss),
        invocations: worker.invocations,
        busy: worker.busy,
      })),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const worker of this.workers) clearTimeout(worker.idleTimer);
    const exits = this.workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
          // A handler stuck in a busy loop gets SIGKILL, as Lambda would end its environment.
          const force = setTimeout(() => worker.child.kill('SIGKILL'), 2000);
          worker.child.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          worker.child.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
