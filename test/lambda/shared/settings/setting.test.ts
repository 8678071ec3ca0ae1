import { parseLogLevel } from '../../../../lambda/shared/settings/common';
import { type Env, nonEmpty, readSetting, wholeNumber } from '../../../../lambda/shared/settings/setting';

class TestConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}
const range = { fallback: 30, min: 0, max: 300 };
/** Reads X as a whole-number row, each problem reported as the caller's own error naming the variable. */
const readWholeNumber = (env: Env) =>
  readSetting(
    wholeNumber('X', range, 'a test setting'),
    env,
    (problem) => new TestConfigError(problem.variable, problem.message),
  );

describe('a whole-number setting', () => {
  it.each([
    [undefined, 30],
    ['', 30],
    ['   ', 30],
    ['0', 0],
    [' 45 ', 45],
    ['300', 300],
  ])('reads %j as %i', (raw, expected) => {
    expect(readWholeNumber({ X: raw })).toBe(expected);
  });

  it.each(['-1', '301', '1.5', '1e2', '30s', '0x10', '+5', '99999999999999999999'])(
    'refuses %j, naming the variable, the range and the default',
    (raw) => {
      expect(() => readWholeNumber({ X: raw })).toThrow(TestConfigError);
      expect(() => readWholeNumber({ X: raw })).toThrow(
        `X: "${raw}" is not a whole number from 0 to 300; set one in that range, or leave it unset for 30.`,
      );
    },
  );
});

describe('nonEmpty', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    [' \t ', undefined],
    [' a ', 'a'],
  ])('reads %j as %j', (raw, expected) => {
    expect(nonEmpty(raw)).toBe(expected);
  });
});

describe('parseLogLevel', () => {
  it.each([
    ['info', 'INFO'],
    [' Warn ', 'WARN'],
    ['SILENT', 'SILENT'],
  ])('reads %j as %s', (raw, level) => {
    expect(parseLogLevel(raw)).toBe(level);
  });

  it.each(['LOUD', '', 'INFO,DEBUG'])('finds no level in %j', (raw) => {
    expect(parseLogLevel(raw)).toBeUndefined();
  });
});
