/**
 * The inside of one local Lambda "container": a child process that loads the function's handler
 * from its asset folder, as the Node.js Lambda runtime does (`LAMBDA_TASK_ROOT` + `_HANDLER`),
 * and serves invocations sent over IPC one at a time. Module state survives between
 * invocations, as in a warm Lambda environment. A handler wrapped in `awslambda.streamifyResponse`
 * streams its response (see lambda-response-stream.ts).
 *
 * This file runs as plain Node.js (the gateway bundles it with esbuild before forking), so it
 * imports nothing but Node built-ins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BootstrapMessage, GatewayMessage, InvokeMessage, SerializedError } from './lambda-protocol';
import {
  installAwsLambdaGlobal,
  isStreamingHandler,
  LocalResponseStream,
  MalformedStreamingHandler,
  type ResponseSink,
  streamingHighWaterMark,
} from './lambda-response-stream';

type Handler = (event: unknown, context: unknown, callback: (error?: unknown, result?: unknown) => void) => unknown;
type StreamingHandler = (event: unknown, responseStream: LocalResponseStream, context: unknown) => unknown;

function send(message: BootstrapMessage): void {
  process.send?.(message);
}

function serializeError(error: unknown, fallbackType = 'Error'): SerializedError {
  if (error instanceof Error) {
    return {
      errorType: error.name || fallbackType,
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  // `callback('Unauthorized')` and `throw 'x'` report the string itself as the message.
  return {
    errorType: fallbackType,
    errorMessage: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)),
    trace: [],
  };
}

// Same rule as the Lambda runtime: `dir/file.export.path` → module `dir/file`, export `export.path`.
function splitHandler(handler: string): { modulePath: string; exportPath: string[] } {
  const slash = handler.lastIndexOf('/');
  const base = handler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0)
    throw Object.assign(new Error(`Bad handler ${handler}: expected <module>.<export>`), {
      name: 'Runtime.MalformedHandlerName',
    });
  return { modulePath: handler.slice(0, slash + 1) + base.slice(0, dot), exportPath: base.slice(dot + 1).split('.') };
}

async function loadHandler(taskRoot: string, handlerSetting: string): Promise<Handler> {
  const { modulePath, exportPath } = splitHandler(handlerSetting);
  const base = path.resolve(taskRoot, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((candidate) => fs.existsSync(candidate));
  if (!file)
    throw Object.assign(new Error(`Cannot find module '${modulePath}' in ${taskRoot}`), {
      name: 'Runtime.ImportModuleError',
    });
  let loaded: unknown;
  if (file.endsWith('.mjs')) {
    loaded = await import(pathToFileURL(file).href);
  } else {
    try {
      loaded = require(file);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw error;
      loaded = await import(pathToFileURL(file).href);
    }
  }
  let target: unknown = loaded;
  for (const key of exportPath)
    target = target === null || target === undefined ? undefined : (target as Record<string, unknown>)[key];
  if (typeof target !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportPath.join('.')} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  return target as Handler;
}

let current: string | undefined;

function lambdaContext(message: InvokeMessage): Record<string, unknown> {
  const { deadlineMs, ...fields } = message.context;
  return {
    ...fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
}

function runHandler(handler: Handler, message: InvokeMessage): Promise<unknown> {
  const context = lambdaContext(message);
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error?: unknown, result?: unknown) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    const returned = handler(message.event, context, callback);
    if (returned && typeof (returned as Promise<unknown>).then === 'function') {
      (returned as Promise<unknown>).then(
        (result) => callback(null, result),
        (error: unknown) => callback(error ?? new Error('The handler rejected without a reason')),
      );
    }
  });
}

/** The stream of the invocation being served, so that a `client-gone` message can reach it. */
let currentStream: { readonly invocationId: string; readonly stream: LocalResponseStream } | undefined;

/**
 * Runs a `streamifyResponse` handler as the runtime's handleOnceStreaming does: it must return a
 * promise; the invocation is over once that promise has settled and the stream has ended (or been
 * destroyed). A value the handler returns is ignored with the runtime's warning.
 */
async function runStreamingHandler(
  handler: Handler,
  message: InvokeMessage,
  sink: ResponseSink,
  highWaterMark: number | undefined,
): Promise<void> {
  const stream = new LocalResponseStream(sink, highWaterMark);
  currentStream = { invocationId: message.invocationId, stream };
  const ended = new Promise<void>((resolve) => {
    stream.once('finish', resolve);
    stream.once('close', resolve);
  });
  try {
    const returned = (handler as unknown as StreamingHandler)(message.event, stream, lambdaContext(message));
    if (!returned || typeof (returned as Promise<unknown>).then !== 'function') {
      throw new MalformedStreamingHandler('Streaming does not support non-async handlers.');
    }
    if ((await returned) !== undefined) console.warn('Streaming handlers ignore return values.');
    await ended;
  } finally {
    currentStream = undefined;
    // A handler that failed mid-stream leaves it open; the runtime ends it with error trailers.
    if (!stream.writableFinished) stream.destroy();
  }
}

/** Stream mode: each write goes to the gateway as it happens. */
function ipcSink(invocationId: string): ResponseSink {
  return {
    head: (contentType) => send({ type: 'stream-head', invocationId, contentType }),
    chunk: (data, done) => {
      if (!process.send) return done(new Error('The IPC channel to the gateway is closed'));
      process.send(
        { type: 'stream-chunk', invocationId, data: data.toString('base64') } satisfies BootstrapMessage,
        undefined,
        {},
        (error) => done(error),
      );
    },
  };
}

/** Buffered mode (Lambda's Invoke of a streaming function): the streamed bytes become the result payload. */
function collectingSink(chunks: Buffer[]): ResponseSink {
  return {
    head: () => undefined,
    chunk: (data, done) => {
      chunks.push(Buffer.from(data));
      done();
    },
  };
}

function serveInvocation(handler: Handler, message: InvokeMessage): void {
  const { invocationId } = message;
  const rss = () => process.memoryUsage().rss;
  const fail = (error: unknown) => send({ type: 'error', invocationId, error: serializeError(error), rss: rss() });
  let streaming: boolean;
  try {
    streaming = isStreamingHandler(handler);
  } catch (error) {
    fail(error);
    return;
  }
  if (streaming && message.mode === 'stream') {
    runStreamingHandler(handler, message, ipcSink(invocationId), streamingHighWaterMark(handler)).then(
      () => send({ type: 'stream-end', invocationId, rss: rss() }),
      fail,
    );
  } else if (streaming) {
    const chunks: Buffer[] = [];
    runStreamingHandler(handler, message, collectingSink(chunks), streamingHighWaterMark(handler)).then(
      () => send({ type: 'result', invocationId, payload: Buffer.concat(chunks).toString('utf8'), rss: rss() }),
      fail,
    );
  } else {
    runHandler(handler, message).then((result) => {
      let payload: string;
      try {
        payload = JSON.stringify(result === undefined ? null : result);
      } catch (error) {
        send({
          type: 'error',
          invocationId,
          error: serializeError(error, 'Runtime.ResponseSerializationError'),
          rss: rss(),
        });
        return;
      }
      if (message.mode === 'buffered') return send({ type: 'result', invocationId, payload, rss: rss() });
      // InvokeWithResponseStream of a buffered handler: its JSON result is the whole stream.
      send({ type: 'stream-head', invocationId, contentType: 'application/json' });
      send({ type: 'stream-chunk', invocationId, data: Buffer.from(payload, 'utf8').toString('base64') });
      send({ type: 'stream-end', invocationId, rss: rss() });
    }, fail);
  }
}

async function main(): Promise<void> {
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const handlerSetting = process.env._HANDLER ?? 'index.handler';
  process.on('uncaughtException', (error) => {
    send({ type: 'crash', invocationId: current, error: serializeError(error, 'Runtime.UnhandledException') });
    process.exit(129);
  });
  process.on('unhandledRejection', (reason) => {
    send({ type: 'crash', invocationId: current, error: serializeError(reason, 'Runtime.UnhandledPromiseRejection') });
    process.exit(128);
  });
  installAwsLambdaGlobal();
  let handler: Handler;
  try {
    handler = await loadHandler(taskRoot, handlerSetting);
  } catch (error) {
    send({ type: 'init-error', error: serializeError(error, 'Runtime.ImportModuleError') });
    process.exit(1);
  }
  process.on('message', (raw: GatewayMessage) => {
    if (raw?.type === 'client-gone') {
      // Destroyed without an error, so a handler with no 'error' listener does not crash: it sees 'close'.
      if (currentStream?.invocationId === raw.invocationId) currentStream.stream.destroy();
      return;
    }
    if (raw?.type === 'measure-heap') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc === undefined) return;
      gc();
      send({ type: 'heap', measurementId: raw.measurementId, heapUsedBytes: process.memoryUsage().heapUsed });
      return;
    }
    if (raw?.type !== 'invoke') return;
    current = raw.invocationId;
    serveInvocation(handler, raw);
  });
  send({ type: 'ready', rss: process.memoryUsage().rss });
}

void main();
