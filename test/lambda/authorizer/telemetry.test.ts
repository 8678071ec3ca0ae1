import { createEmfMetrics, createJsonLogger } from '../../../lambda/authorizer/telemetry';

describe('createJsonLogger', () => {
  it('writes one JSON line with level, message, timestamp, service and attributes', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ serviceName: 'authz', logLevel: 'INFO', write: (l) => void lines.push(l) });

    logger.info('Access token rejected', { reason: 'expired', detail: 'Token expired 5 s ago' });

    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0])).toEqual({
      level: 'INFO',
      message: 'Access token rejected',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'authz',
      reason: 'expired',
      detail: 'Token expired 5 s ago',
    });
  });

  it.each([
    ['WARN', ['WARN', 'ERROR']],
    ['ERROR', ['ERROR']],
    ['SILENT', []],
    ['DEBUG', ['INFO', 'WARN', 'ERROR']],
  ] as const)('at POWERTOOLS_LOG_LEVEL=%s writes only %j', (logLevel, expected) => {
    const lines: string[] = [];
    const logger = createJsonLogger({ serviceName: 's', logLevel, write: (l) => void lines.push(l) });

    logger.info('i', {});
    logger.warn('w', {});
    logger.error('e', {});

    expect(lines.map((l) => JSON.parse(l).level)).toEqual(expected);
  });
});

describe('createEmfMetrics', () => {
  it('publishes stored counts as one EMF document dimensioned by service, then starts empty', () => {
    const lines: string[] = [];
    const metrics = createEmfMetrics({ namespace: 'McpAuthKit', serviceName: 'authz', write: (l) => void lines.push(l), now: () => 1_700_000_000_000 });

    metrics.addMetric('token_expired', 'Count', 1);
    metrics.addMetric('token_expired', 'Count', 1);
    metrics.addMetric('token_allowed', 'Count', 1);
    metrics.publishStoredMetrics();
    metrics.publishStoredMetrics();

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          {
            Namespace: 'McpAuthKit',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'token_expired', Unit: 'Count' },
              { Name: 'token_allowed', Unit: 'Count' },
            ],
          },
        ],
      },
      service: 'authz',
      token_expired: 2,
      token_allowed: 1,
    });
  });
});
