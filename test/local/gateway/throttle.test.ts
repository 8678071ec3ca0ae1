import { UnsupportedFeatureError } from '../../../local/gateway';
import {
  decodeSettingResourcePath,
  methodThrottleSetting,
  type MethodThrottleSetting,
  resolveMethodThrottle,
  TokenBucket,
} from '../../../local/gateway/throttle';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function takeAll(bucket: TokenBucket, attempts: number): boolean[] {
  return Array.from({ length: attempts }, () => bucket.tryTake());
}

describe('TokenBucket', () => {
  it('starts full: the burst passes at once, the next request is throttled', () => {
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, clock().now);
    expect(takeAll(bucket, 4)).toEqual([true, true, true, false]);
  });

  it('refills at the rate: 10 rps gives one request per 100 ms', () => {
    const c = clock();
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 1 }, c.now);
    expect(bucket.tryTake()).toBe(true);
    c.advance(50);
    expect(bucket.tryTake()).toBe(false);
    c.advance(50);
    expect(bucket.tryTake()).toBe(true);
  });

  it('never holds more than the burst, however long it idles', () => {
    const c = clock();
    const bucket = new TokenBucket({ rateLimit: 100, burstLimit: 2 }, c.now);
    takeAll(bucket, 2);
    c.advance(60_000);
    expect(takeAll(bucket, 3)).toEqual([true, true, false]);
  });

  it.each([
    ['a rate of 0 never refills', { rateLimit: 0, burstLimit: 1 }, [true, false]],
    ['a burst of 0 throttles everything', { rateLimit: 1000, burstLimit: 0 }, [false, false]],
  ])('%s', (_name, limits, expected) => {
    const c = clock();
    const bucket = new TokenBucket(limits, c.now);
    const results = [bucket.tryTake()];
    c.advance(10_000);
    results.push(bucket.tryTake());
    expect(results).toEqual(expected);
  });
});

describe('method settings', () => {
  it.each([
    ['/*', '/*'],
    ['/', '/'],
    ['/~1mcp', '/mcp'],
    ['/~1items~1{id}', '/items/{id}'],
  ])('decodes the resource path %s as %s', (raw, decoded) => {
    expect(decodeSettingResourcePath(raw, 'Stage')).toBe(decoded);
  });

  it('reads the limits of a setting and ignores a setting without them', () => {
    expect(
      methodThrottleSetting(
        { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        'Stage',
      ),
    ).toEqual({
      httpMethod: '*',
      resourcePath: '/*',
      rateLimit: 100,
      burstLimit: 200,
    });
    expect(
      methodThrottleSetting({ HttpMethod: '*', ResourcePath: '/*', MetricsEnabled: true }, 'Stage'),
    ).toBeUndefined();
  });

  it('refuses a limit that is not a number', () => {
    expect(() =>
      methodThrottleSetting({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 'fast' }, 'Stage'),
    ).toThrow(UnsupportedFeatureError);
  });

  const settings: MethodThrottleSetting[] = [
    { httpMethod: '*', resourcePath: '/*', rateLimit: 100, burstLimit: 200 },
    { httpMethod: 'GET', resourcePath: '/fast', rateLimit: 1000, burstLimit: 2000 },
    { httpMethod: 'POST', resourcePath: '/half', rateLimit: 5 },
  ];

  it.each([
    [
      'a method with its own setting',
      '/fast',
      'GET',
      { rateLimit: 1000, burstLimit: 2000, source: 'stage MethodSettings GET /fast' },
    ],
    [
      'another method of the same resource',
      '/fast',
      'POST',
      { rateLimit: 100, burstLimit: 200, source: 'stage MethodSettings */*' },
    ],
    [
      'a setting with only a rate (the burst is the stage-wide one)',
      '/half',
      'POST',
      { rateLimit: 5, burstLimit: 200, source: 'stage MethodSettings POST /half + */*' },
    ],
  ])('resolves the limits of %s', (_name, resourcePath, httpMethod, expected) => {
    expect(resolveMethodThrottle(settings, resourcePath, httpMethod)).toEqual(expected);
  });

  it("gives a half-set method the account's default for the other limit when there is no stage-wide setting", () => {
    expect(resolveMethodThrottle([{ httpMethod: 'GET', resourcePath: '/', burstLimit: 3 }], '/', 'GET')).toEqual({
      rateLimit: 10_000,
      burstLimit: 3,
      source: 'stage MethodSettings GET /',
    });
  });

  it('leaves a method unthrottled when no setting names a limit for it', () => {
    expect(
      resolveMethodThrottle([{ httpMethod: 'GET', resourcePath: '/a', rateLimit: 1 }], '/b', 'GET'),
    ).toBeUndefined();
  });
});
