/**
 * Stage throttling as API Gateway applies it to a REST API: the limits of the stage's
 * MethodSettings (`*` on `/*` for every method, or one resource path and HTTP method) are
 * enforced per method, each method with its own token bucket (AWS: "per-API, per-stage
 * throttling limits are applied at the API method level for a stage").
 */
import { UnsupportedFeatureError } from './errors';

export interface ThrottleLimits {
  /** Steady-state requests per second (tokens added per second). */
  readonly rateLimit: number;
  /** Bucket size: how many requests may arrive at once. */
  readonly burstLimit: number;
}

/** The throttling part of one `MethodSettings` entry. */
export interface MethodThrottleSetting {
  /** `*` for every method, else the HTTP method (`GET`, `ANY`, ...). */
  readonly httpMethod: string;
  /** `/*` for every resource, else the resource path (`/mcp`, `/`), decoded from CloudFormation's `~1` form. */
  readonly resourcePath: string;
  readonly rateLimit?: number;
  readonly burstLimit?: number;
}

/** The limits a method is served with, and the settings they come from (for logs). */
export interface MethodThrottle extends ThrottleLimits {
  readonly source: string;
}

/**
 * AWS's per-account, per-region defaults. A method whose settings give only one of the two limits
 * gets the account's value for the other, as on AWS; the account-wide bucket itself is not
 * emulated (it is shared by every API of an account and raised on request).
 */
export const ACCOUNT_DEFAULT_LIMITS: ThrottleLimits = { rateLimit: 10_000, burstLimit: 5_000 };

/** `method.request` paths in MethodSettings escape `/` as `~1`: `/~1mcp` is `/mcp`, `/` is the root. */
export function decodeSettingResourcePath(resourcePath: string, where: string): string {
  if (resourcePath === '/*' || resourcePath === '/') return resourcePath;
  if (!resourcePath.startsWith('/~1'))
    throw new UnsupportedFeatureError(
      `the method setting resource path ${resourcePath}`,
      where,
      'expected /* or a path such as /~1mcp',
    );
  return resourcePath.slice(1).replace(/~1/g, '/');
}

/** Reads the throttling fields of one MethodSettings entry; undefined when it sets neither limit. */
export function methodThrottleSetting(
  setting: Record<string, unknown>,
  where: string,
): MethodThrottleSetting | undefined {
  const limit = (name: 'ThrottlingRateLimit' | 'ThrottlingBurstLimit'): number | undefined => {
    const raw = setting[name];
    if (raw === undefined || raw === null) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value))
      throw new UnsupportedFeatureError(`a ${name} of ${JSON.stringify(raw)}`, where, 'it must be a number');
    // A negative limit is how the API Gateway API says "not set": the account's value applies.
    return value < 0 ? undefined : value;
  };
  const rateLimit = limit('ThrottlingRateLimit');
  const burstLimit = limit('ThrottlingBurstLimit');
  if (rateLimit === undefined && burstLimit === undefined) return undefined;
  const httpMethod = String(setting.HttpMethod ?? '').toUpperCase();
  const resourcePath = decodeSettingResourcePath(String(setting.ResourcePath ?? ''), where);
  if ((httpMethod === '*') !== (resourcePath === '/*')) {
    throw new UnsupportedFeatureError(
      `throttling for ${httpMethod} on ${resourcePath}`,
      where,
      'method settings apply either to every method (HttpMethod * on ResourcePath /*) or to one method of one resource',
    );
  }
  return { httpMethod, resourcePath, rateLimit, burstLimit };
}

/**
 * The limits of one method: its own setting's values, else the stage-wide (`*` on `/*`) ones,
 * else the account's. Undefined when no setting names a limit for it.
 */
export function resolveMethodThrottle(
  settings: readonly MethodThrottleSetting[],
  resourcePath: string,
  httpMethod: string,
): MethodThrottle | undefined {
  const stageWide = settings.find((s) => s.httpMethod === '*');
  const own = settings.find((s) => s.httpMethod === httpMethod && s.resourcePath === resourcePath);
  const rateLimit = own?.rateLimit ?? stageWide?.rateLimit;
  const burstLimit = own?.burstLimit ?? stageWide?.burstLimit;
  if (rateLimit === undefined && burstLimit === undefined) return undefined;
  const sources = [
    own && `${httpMethod} ${resourcePath}`,
    stageWide && (own?.rateLimit === undefined || own?.burstLimit === undefined) && '*/*',
  ].filter(Boolean);
  return {
    rateLimit: rateLimit ?? ACCOUNT_DEFAULT_LIMITS.rateLimit,
    burstLimit: burstLimit ?? ACCOUNT_DEFAULT_LIMITS.burstLimit,
    source: `stage MethodSettings ${sources.join(' + ')}`,
  };
}

/**
 * A token bucket: it starts full with `burstLimit` tokens, gains `rateLimit` tokens per second up
 * to `burstLimit`, and each request takes one; a request finding less than one is throttled.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly limits: ThrottleLimits,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burstLimit;
    this.updatedAt = nowMs();
  }

  /** Takes a token for one request; false means the request is throttled. */
  tryTake(): boolean {
    const now = this.nowMs();
    const elapsedSeconds = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limits.burstLimit, this.tokens + elapsedSeconds * this.limits.rateLimit);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** `100 rps, burst 200`, for start-up and request logs. */
export function describeLimits(limits: ThrottleLimits): string {
  return `${limits.rateLimit.toLocaleString('en-US')} rps, burst ${limits.burstLimit.toLocaleString('en-US')}`;
}
