import { Logger } from '@aws-lambda-powertools/logger';
import { createRequestLogWriter, REQUEST_LOG_MESSAGE, type RequestLogFields, type RequestLogLevel } from '../../../lambda/runtime/request-log';

/** Captures stdout and stderr separately, as one string each. */
function captureStreams(): { stdout: () => string; stderr: () => string; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const into = (chunks: string[]) => (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(into(out)), jest.spyOn(process.stderr, 'write').mockImplementation(into(err))];
  return { stdout: () => out.join(''), stderr: () => err.join(''), restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    return fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

/** What Powertools itself writes for the same line, and what the writer writes, parsed, on their streams. */
function bothLines(logger: Logger, level: RequestLogLevel, fields: RequestLogFields) {
  const streams = captureStreams();
  try {
    const attributes = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    logger[level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error'](REQUEST_LOG_MESSAGE, attributes);
    const powertools = { stdout: streams.stdout(), stderr: streams.stderr() };
    createRequestLogWriter(logger)(level, fields);
    const ours = { stdout: streams.stdout().slice(powertools.stdout.length), stderr: streams.stderr().slice(powertools.stderr.length) };
    return { powertools, ours };
  } finally {
    streams.restore();
  }
}

function parsed(text: string): Record<string, unknown> {
  const lines = text.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

/** The line without its timestamp, which differs between two writes by construction. */
function withoutTimestamp(line: Record<string, unknown>): Record<string, unknown> {
  const { timestamp, ...rest } = line;
  expect(typeof timestamp).toBe('string');
  expect(new Date(timestamp as string).toISOString()).toBe(timestamp);
  return rest;
}

const SERVED: RequestLogFields = {
  requestId: 'req-1',
  httpMethod: 'POST',
  rpcMethod: 'tools/call',
  tool: 'format_json',
  era: 'modern',
  status: 200,
  durationMs: 1.25,
  sub: 'user_01H',
};

describe('the per-request line', () => {
  const trace = { _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' };

  it.each<[string, RequestLogLevel, RequestLogFields]>([
    ['a served request', 'INFO', SERVED],
    ['a refusal with a reason', 'WARN', { requestId: 'req-2', httpMethod: 'POST', status: 401, durationMs: 0.5, reason: 'refused without identity: no authorizer context' }],
    ['a failure with an error and its cause', 'ERROR', { ...SERVED, status: 500, reason: 'unexpected TypeError: x', error: Object.assign(new TypeError('x is not a function', { cause: new Error('root cause') }), { code: 'E_X' }) }],
    ['a request without an MCP method', 'WARN', { requestId: 'req-3', httpMethod: 'GET', status: 405, durationMs: 0.1, sub: '', reason: 'method GET is not served' }],
  ])('matches what Powertools writes for %s, on the same stream', (_case, level, fields) => {
    withEnv(trace, () => {
      const logger = new Logger({ serviceName: 'mcp-test', logLevel: 'INFO', persistentKeys: { stage: 'prod', team: 'platform' } });
      const { powertools, ours } = bothLines(logger, level, fields);
      const stream = level === 'INFO' ? 'stdout' : 'stderr';
      const other = level === 'INFO' ? 'stderr' : 'stdout';
      expect(ours[other]).toBe('');
      expect(powertools[other]).toBe('');
      const expected = withoutTimestamp(parsed(powertools[stream]));
      const actual = withoutTimestamp(parsed(ours[stream]));
      expect(actual).toEqual(expected);
      // Same keys in the same order, so the raw lines read the same.
      expect(Object.keys(actual)).toEqual(Object.keys(expected));
      expect(actual).toMatchObject({ service: 'mcp-test', xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793', stage: 'prod', message: REQUEST_LOG_MESSAGE });
    });
  });

  it('takes the service from POWERTOOLS_SERVICE_NAME when the Logger was given none', () => {
    withEnv({ POWERTOOLS_SERVICE_NAME: 'from-env', _X_AMZN_TRACE_ID: undefined }, () => {
      const { powertools, ours } = bothLines(new Logger({ logLevel: 'INFO' }), 'INFO', SERVED);
      expect(withoutTimestamp(parsed(ours.stdout))).toEqual(withoutTimestamp(parsed(powertools.stdout)));
      expect(parsed(ours.stdout)).toMatchObject({ service: 'from-env' });
      expect(parsed(ours.stdout)).not.toHaveProperty('xray_trace_id');
    });
  });

  it.each<[string, RequestLogLevel, boolean]>([
    ['WARN', 'INFO', false],
    ['WARN', 'WARN', true],
    ['ERROR', 'WARN', false],
    ['SILENT', 'ERROR', false],
  ])('respects the Logger level %s for a %s line (written: %s)', (threshold, level, written) => {
    const logger = new Logger({ serviceName: 'mcp-test', logLevel: threshold as 'WARN' });
    const { powertools, ours } = bothLines(logger, level, SERVED);
    expect(ours.stdout + ours.stderr !== '').toBe(written);
    expect(powertools.stdout + powertools.stderr !== '').toBe(written);
  });

  it('follows a level changed after creation', () => {
    const logger = new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' });
    const write = createRequestLogWriter(logger);
    logger.setLogLevel('ERROR');
    const streams = captureStreams();
    try {
      write('INFO', SERVED);
      write('ERROR', { ...SERVED, status: 500 });
    } finally {
      streams.restore();
    }
    expect(streams.stdout()).toBe('');
    expect(parsed(streams.stderr())).toMatchObject({ level: 'ERROR', status: 500 });
  });

  it('leaves the line to the Logger when it must format it itself (POWERTOOLS_DEV pretty-prints)', () => {
    withEnv({ POWERTOOLS_DEV: 'true' }, () => {
      // In dev mode Powertools writes through the global console.
      const printed = jest.spyOn(console, 'info').mockImplementation(() => undefined);
      try {
        const logger = new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' });
        logger.info(REQUEST_LOG_MESSAGE, { ...SERVED });
        createRequestLogWriter(logger)('INFO', SERVED);
        expect(printed).toHaveBeenCalledTimes(2);
        const [powertools, ours] = printed.mock.calls.map(([text]) => String(text));
        expect(ours.split('\n').length).toBeGreaterThan(3);
        const timeless = (text: string) => text.replace(/"timestamp": "[^"]+"/, '');
        expect(timeless(ours)).toBe(timeless(powertools));
      } finally {
        printed.mockRestore();
      }
    });
  });

  it('leaves a line with a persistent key JSON cannot carry to the Logger', () => {
    const logger = new Logger({ serviceName: 'mcp-test', logLevel: 'INFO', persistentKeys: { big: 10n as unknown as string } });
    const { powertools, ours } = bothLines(logger, 'INFO', SERVED);
    expect(withoutTimestamp(parsed(ours.stdout))).toEqual(withoutTimestamp(parsed(powertools.stdout)));
    expect(parsed(ours.stdout)).toMatchObject({ big: '10' });
  });
});
