import { Duration } from 'aws-cdk-lib';
import { genericRows, rangeOf, readPropRows, stageFieldOf } from '../../lib/setting-rows';

describe('the props the settings rows carry', () => {
  it('names the stage field after the prop, with the unit a Duration counts, unless the row names it', () => {
    expect(stageFieldOf({ name: 'jwksTimeout', unit: 'ms' })).toEqual({ field: 'jwksTimeoutMs', unit: 'ms' });
    expect(stageFieldOf({ name: 'clockTolerance', unit: 'seconds' })).toEqual({
      field: 'clockToleranceSeconds',
      unit: 'seconds',
    });
    expect(stageFieldOf({ name: 'logLevel' })).toEqual({ field: 'logLevel' });
    expect(
      stageFieldOf({
        name: 'permissionsCacheTtl',
        unit: 'ms',
        stage: { field: 'permissionsCacheTtlSeconds', unit: 'seconds' },
      }),
    ).toEqual({ field: 'permissionsCacheTtlSeconds', unit: 'seconds' });
  });

  it('defaults every prop to the default the function reads when the variable is unset', () => {
    // Act
    const settings = readPropRows({ authkitDomain: 'acme.authkit.app' }) as unknown as Record<string, unknown>;

    // Assess: an optional whole-number row (e.g. PERMISSIONS_CACHE_TTL_MS) is read as absent, and the function applies its range's fallback.
    for (const [key, row] of genericRows()) {
      const unset = row.read(undefined) ?? rangeOf(row)?.fallback;
      expect({ [key]: settings[key] }).toEqual({ [key]: unset });
    }
  });

  it('counts a Duration prop in the unit of its row', () => {
    expect(readPropRows({ authkitDomain: 'acme.authkit.app', jwksTimeout: Duration.seconds(1.5) }).jwksTimeoutMs).toBe(
      1500,
    );
    expect(
      readPropRows({ authkitDomain: 'acme.authkit.app', permissionsCacheTtl: Duration.minutes(2) })
        .permissionsCacheTtlMs,
    ).toBe(120_000);
  });

  it("refuses a Duration outside the row's bounds, naming the prop and the bounds in the row's unit", () => {
    expect(() => readPropRows({ authkitDomain: 'acme.authkit.app', jwksTimeout: Duration.seconds(4) })).toThrow(
      'AuthKitMcpServer: "jwksTimeout" is 4 seconds; it must be from 1 ms to 3000 ms.',
    );
  });
});
