import {
  allowedOriginOf,
  DEFAULT_LISTEN_MAX_SECONDS,
  DEFAULT_MAX_BODY_BYTES,
  isOriginAllowed,
  readOrigins,
  readRuntimeSettings,
} from '../../../lambda/runtime/config';
import { RuntimeConfigError } from '../../../lambda/runtime/errors';

const BASE = { PUBLIC_BASE_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod' };

describe('readRuntimeSettings', () => {
  it('derives the URLs from PUBLIC_BASE_URL and applies the defaults', () => {
    const settings = readRuntimeSettings({}, BASE);
    expect(settings.urls.resource).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod/mcp');
    expect(settings.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(settings.origins).toEqual({ any: false, origins: new Set(), hostnames: new Set() });
    expect(settings.responseTransferMode).toBe('buffered');
    expect(settings.listenMaxSeconds).toBe(DEFAULT_LISTEN_MAX_SECONDS);
  });

  it.each([
    ['STREAM', 'stream'],
    ['stream', 'stream'],
    ['BUFFERED', 'buffered'],
  ])('reads RESPONSE_TRANSFER_MODE=%s as %s', (value, mode) => {
    expect(readRuntimeSettings({}, { ...BASE, RESPONSE_TRANSFER_MODE: value }).responseTransferMode).toBe(mode);
  });

  it('reads LISTEN_MAX_SECONDS, the option winning', () => {
    expect(readRuntimeSettings({}, { ...BASE, LISTEN_MAX_SECONDS: '60' }).listenMaxSeconds).toBe(60);
    expect(readRuntimeSettings({ listenMaxSeconds: 5 }, { ...BASE, LISTEN_MAX_SECONDS: '60' }).listenMaxSeconds).toBe(
      5,
    );
  });

  it('lets options win over the environment', () => {
    const settings = readRuntimeSettings(
      { publicBaseUrl: 'http://localhost:8787', maxBodyBytes: 10, allowedOrigins: ['https://a.example'] },
      { ...BASE, MAX_BODY_BYTES: '99' },
    );
    expect(settings.urls.resource).toBe('http://localhost:8787/mcp');
    expect(settings.maxBodyBytes).toBe(10);
    expect(settings.origins.any).toBe(false);
  });

  it('reads the clock tolerance from CLOCK_TOLERANCE_SECONDS, 30 s by default, the option winning', () => {
    expect(readRuntimeSettings({}, BASE).clockToleranceSeconds).toBe(30);
    expect(readRuntimeSettings({}, { ...BASE, CLOCK_TOLERANCE_SECONDS: '45' }).clockToleranceSeconds).toBe(45);
    expect(
      readRuntimeSettings({ clockToleranceSeconds: 0 }, { ...BASE, CLOCK_TOLERANCE_SECONDS: '45' })
        .clockToleranceSeconds,
    ).toBe(0);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a missing PUBLIC_BASE_URL', {}, /PUBLIC_BASE_URL is not set/],
    [
      'a plain-http PUBLIC_BASE_URL',
      { PUBLIC_BASE_URL: 'http://mcp.example.com' },
      /PUBLIC_BASE_URL is invalid.*https/,
    ],
    ['a relative PUBLIC_BASE_URL', { PUBLIC_BASE_URL: '/prod' }, /PUBLIC_BASE_URL is invalid/],
    [
      'a negative MAX_BODY_BYTES',
      { ...BASE, MAX_BODY_BYTES: '-5' },
      /MAX_BODY_BYTES: "-5" is not a whole number from 1 to/,
    ],
    [
      'a CLOCK_TOLERANCE_SECONDS above 5 minutes',
      { ...BASE, CLOCK_TOLERANCE_SECONDS: '301' },
      /CLOCK_TOLERANCE_SECONDS: "301" is not a whole number from 0 to 300/,
    ],
    [
      'a word for CLOCK_TOLERANCE_SECONDS',
      { ...BASE, CLOCK_TOLERANCE_SECONDS: 'half a minute' },
      /CLOCK_TOLERANCE_SECONDS/,
    ],
    ['a fractional MAX_BODY_BYTES', { ...BASE, MAX_BODY_BYTES: '1.5' }, /MAX_BODY_BYTES/],
    ['a word for MAX_BODY_BYTES', { ...BASE, MAX_BODY_BYTES: '1MB' }, /MAX_BODY_BYTES/],
    ['an ALLOWED_ORIGINS entry with a path', { ...BASE, ALLOWED_ORIGINS: 'https://a.example/app' }, /ALLOWED_ORIGINS/],
    ['an ALLOWED_ORIGINS entry that is no hostname', { ...BASE, ALLOWED_ORIGINS: 'not a host' }, /ALLOWED_ORIGINS/],
    [
      'an unknown RESPONSE_TRANSFER_MODE',
      { ...BASE, RESPONSE_TRANSFER_MODE: 'CHUNKED' },
      /RESPONSE_TRANSFER_MODE: "CHUNKED" is neither STREAM nor BUFFERED/,
    ],
    [
      'a LISTEN_MAX_SECONDS past 15 minutes',
      { ...BASE, LISTEN_MAX_SECONDS: '901' },
      /LISTEN_MAX_SECONDS: "901" is not a whole number from 1 to 900/,
    ],
  ])('fails on %s, naming the variable', (_case, env, message) => {
    expect(() => readRuntimeSettings({}, env)).toThrow(RuntimeConfigError);
    expect(() => readRuntimeSettings({}, env)).toThrow(message);
  });

  it.each([
    ['maxBodyBytes', { maxBodyBytes: 0 }],
    ['maxBodyBytes', { maxBodyBytes: 1.5 }],
    ['clockToleranceSeconds', { clockToleranceSeconds: -1 }],
    ['clockToleranceSeconds', { clockToleranceSeconds: 301 }],
  ])('fails on an out-of-range %s option, naming it', (option, input) => {
    expect(() => readRuntimeSettings(input, BASE)).toThrow(new RegExp(`^${option}: `));
  });
});

describe('origins', () => {
  it.each(['*', ' * ', 'https://a.example, *'])('allows any origin for %j', (value) => {
    expect(readOrigins(value)).toEqual({ any: true });
  });

  it.each([undefined, '', ' , '])('allows no browser origin for %j', (value) => {
    const none = readOrigins(value);
    expect(isOriginAllowed(none, 'https://app.example.com')).toBe(false);
    expect(isOriginAllowed(none, 'http://localhost:6274')).toBe(false);
    expect(isOriginAllowed(none, 'null')).toBe(false);
  });

  it.each([
    ['https://app.example.com:443', 'https://app.example.com'],
    ['https://APP.example.com', 'https://app.example.com'],
    ['https://evil.com@app.example.com', 'https://app.example.com'],
  ])('echoes %s as the origin it was checked as, %s', (origin, echoed) => {
    expect(allowedOriginOf(readOrigins('https://app.example.com'), origin)).toBe(echoed);
  });

  it('refuses a userinfo trick that names another host', () => {
    expect(allowedOriginOf(readOrigins('https://app.example.com'), 'https://app.example.com@evil.com')).toBeUndefined();
  });

  const policy = readOrigins('https://app.example.com, inspector.local, http://localhost:6274');

  it.each([
    ['https://app.example.com', true],
    ['https://app.example.com:443', true],
    ['http://app.example.com', false],
    ['https://evil.example.com', false],
    ['http://inspector.local:1234', true],
    ['https://INSPECTOR.local', true],
    ['http://localhost:6274', true],
    ['http://localhost:6275', false],
    ['null', false],
    ['not a url', false],
  ])('checks %s → %s', (origin, allowed) => {
    expect(isOriginAllowed(policy, origin)).toBe(allowed);
  });

  it('allows the opaque null origin only when any origin is allowed', () => {
    expect(isOriginAllowed({ any: true }, 'null')).toBe(true);
  });
});
