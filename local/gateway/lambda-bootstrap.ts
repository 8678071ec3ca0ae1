/**
 * The inside of one local Lambda "container": a child process that loads the function's handler
 * from its asset folder, as the Node.js Lambda runtime does (`LAMBDA_TASK_ROOT` + `_HANDLER`),
 * and serves invocations sent over IPC one at a time. Module state survives between
 * invocations, as in a warm Lambda environment.
 *
 * This file runs as plain Node.js (the gateway bundles it with esbuild before forking), so it
 * imports nothing but Node built-ins.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BootstrapMessage, InvokeMessage, SerializedError } from './lambda-protocol';

type Handler = (event: unknown, context: unknown, callback: (error?: unknown, result?: unknown) => void) => unknown;

function send(message: BootstrapMessage): void {
  process.send?.(message);
}

function serializeError(error: unknown, fallbackType = 'Error'): SerializedError {
  if (error instanceof Error) {
    return { errorType: error.name || fallbackType, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  // `callback('Unauthorized')` and `throw 'x'` report the string itself as the message.
  return { errorType: fallbackType, errorMessage: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error), trace: [] };
}

// Same rule as the Lambda runtime: `dir/file.export.path` → module `dir/file`, export `export.path`.
function splitHandler(handler: string): { modulePath: string; exportPath: string[] } {
  const slash = handler.lastIndexOf('/');
  const base = handler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${handler}: expected <module>.<export>`), { name: 'Runtime.MalformedHandlerName' });
  return { modulePath: handler.slice(0, slash + 1) + base.slice(0, dot), exportPath: base.slice(dot + 1).split('.') };
}

async function loadHandler(taskRoot: string, handlerSetting: string): Promise<Handler> {
  const { modulePath, exportPath } = splitHandler(handlerSetting);
  const base = path.resolve(taskRoot, modulePath);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((candidate) => fs.existsSync(candidate));
  if (!file) throw Object.assign(new Error(`Cannot find module '${modulePath}' in ${taskRoot}`), { name: 'Runtime.ImportModuleError' });
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
  for (const key of exportPath) target = target === null || target === undefined ? undefined : (target as Record<string, unknown>)[key];
  if (typeof target !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportPath.join('.')} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return target as Handler;
}

let current: string | undefined;

function runHandler(handler: Handler, message: InvokeMessage): Promise<unknown> {
  const { deadlineMs, ...fields } = message.context;
  const context = {
    ...fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
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
  let handler: Handler;
  try {
    handler = await loadHandler(taskRoot, handlerSetting);
  } catch (error) {
    send({ type: 'init-error', error: serializeError(error, 'Runtime.ImportModuleError') });
    process.exit(1);
  }
  process.on('message', (raw: InvokeMessage) => {
    if (raw?.type !== 'invoke') return;
    current = raw.invocationId;
    runHandler(handler, raw).then(
      (result) => {
        let payload: string;
        try {
          payload = JSON.stringify(result === undefined ? null : result);
        } catch (error) {
          send({ type: 'error', invocationId: raw.invocationId, error: serializeError(error, 'Runtime.ResponseSerializationError'), rss: process.memoryUsage().rss });
          return;
        }
        send({ type: 'result', invocationId: raw.invocationId, payload, rss: process.memoryUsage().rss });
      },
      (error: unknown) => send({ type: 'error', invocationId: raw.invocationId, error: serializeError(error), rss: process.memoryUsage().rss }),
    );
  });
  send({ type: 'ready', rss: process.memoryUsage().rss });
}

void main();
