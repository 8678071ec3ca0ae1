import { Logger } from '@aws-lambda-powertools/logger';
import {
  createRequestLogWriter,
  MAX_LOGGED_FIELD_CHARS,
  REQUEST_LOG_MESSAGE,
  type RequestLogFields,
  type RequestLogLevel,
} from '../../../lambda/runtime/request-log';

/** Captures stdout and stderr separately, as one string each. */
function captureStreams(): { stdout: () => string; stderr: () => string; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const into = (chunks: string[]) => (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(into(out)),
    jest.spyOn(process.stderr, 'write').mockImplementation(into(err)),
  ];
  return {
    stdout: () => out.join(''),
    stderr: () => err.join(''),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
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

/** What the writer writes for one line, on each stream. */
function written(logger: Logger, level: RequestLogLevel, fields: RequestLogFields): { stdout: string; stderr: string } {
  const streams = captureStreams();
  try {
    createRequestLogWriter(logger)(level, fields);
    return { stdout: streams.stdout(), stderr: streams.stderr() };
  } finally {
    streams.restore();
  }
}

function parsed(text: string): Record<string, unknown> {
  const lines = text.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
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
    [
      'a refusal with a reason',
      'WARN',
      {
        requestId: 'req-2',
        httpMethod: 'POST',
        status: 401,
        durationMs: 0.5,
        reason: 'refused without identity: no authorizer context',
      },
    ],
    [
      'a request without an MCP method',
      'WARN',
      {
        requestId: 'req-3',
        httpMethod: 'GET',
        status: 405,
        durationMs: 0.1,
        sub: '',
        reason: 'method GET is not served',
      },
    ],
  ])('writes %s through the Logger with its keys, on the stream of its level', (_case, level, fields) => {
    withEnv(trace, () => {
      const logger = new Logger({ serviceName: 'mcp-test', logLevel: 'INFO', persistentKeys: { stage: 'prod' } });
      const out = written(logger, level, fields);
      const [stream, other] = level === 'INFO' ? (['stdout', 'stderr'] as const) : (['stderr', 'stdout'] as const);

      expect(out[other]).toBe('');
      const line = parsed(out[stream]);
      const present = Object.fromEntries(
        Object.entries(fields).filter(([, value]) => value !== undefined && value !== ''),
      );
      expect(line).toEqual({
        level,
        message: REQUEST_LOG_MESSAGE,
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        service: 'mcp-test',
        sampling_rate: 0,
        xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
        stage: 'prod',
        ...present,
      });
    });
  });

  it('writes an error with its name, message, stack and cause, as the Logger formats errors', () => {
    const error = Object.assign(new TypeError('x is not a function', { cause: new Error('root cause') }), {
      code: 'E_X',
    });
    const line = parsed(
      written(new Logger({ serviceName: 'mcp-test' }), 'ERROR', {
        ...SERVED,
        status: 500,
        reason: 'unexpected TypeError: x',
        error,
      }).stderr,
    );

    expect(line).toMatchObject({
      level: 'ERROR',
      status: 500,
      error: { name: 'TypeError', message: 'x is not a function', code: 'E_X', cause: { message: 'root cause' } },
    });
    expect(String((line.error as { stack: unknown }).stack)).toContain('request-log.test.ts');
  });

  it.each<[string, RequestLogLevel, boolean]>([
    ['WARN', 'INFO', false],
    ['WARN', 'WARN', true],
    ['ERROR', 'WARN', false],
    ['SILENT', 'ERROR', false],
  ])('respects the Logger level %s for a %s line (written: %s)', (threshold, level, expected) => {
    const out = written(new Logger({ serviceName: 'mcp-test', logLevel: threshold as 'WARN' }), level, SERVED);
    expect(out.stdout + out.stderr !== '').toBe(expected);
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

  it('is pretty-printed by the Logger under POWERTOOLS_DEV', () => {
    withEnv({ POWERTOOLS_DEV: 'true' }, () => {
      // In dev mode Powertools writes through the global console.
      const printed = jest.spyOn(console, 'info').mockImplementation(() => undefined);
      try {
        createRequestLogWriter(new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' }))('INFO', SERVED);
        expect(printed).toHaveBeenCalledTimes(1);
        const text = String(printed.mock.calls[0][0]);
        expect(text.split('\n').length).toBeGreaterThan(3);
        expect(JSON.parse(text)).toMatchObject({ message: REQUEST_LOG_MESSAGE, rpcMethod: 'tools/call' });
      } finally {
        printed.mockRestore();
      }
    });
  });
});

describe('bounded fields', () => {
  const MEGABYTE = 1024 * 1024;

  it.each<[keyof RequestLogFields]>([['rpcMethod'], ['tool'], ['reason'], ['sub'], ['requestId'], ['httpMethod']])(
    'cuts a 1 MB %s to a bounded line that says how long it was',
    (field) => {
      const huge = 'm'.repeat(MEGABYTE);
      const out = written(new Logger({ serviceName: 'mcp-test', logLevel: 'INFO' }), 'WARN', {
        ...SERVED,
        [field]: huge,
      });

      expect(out.stderr.length).toBeLessThan(2048);
      const line = parsed(out.stderr);
      expect(line[field]).toBe(`${'m'.repeat(MAX_LOGGED_FIELD_CHARS)}…`);
      expect(line[`${field}Length`]).toBe(MEGABYTE);
    },
  );

  it('keeps a field of exactly the limit as it is, with no length beside it', () => {
    const line = parsed(
      written(new Logger({ serviceName: 'mcp-test' }), 'INFO', {
        ...SERVED,
        rpcMethod: 'x'.repeat(MAX_LOGGED_FIELD_CHARS),
      }).stdout,
    );

    expect(line.rpcMethod).toBe('x'.repeat(MAX_LOGGED_FIELD_CHARS));
    expect(line).not.toHaveProperty('rpcMethodLength');
  });
});
