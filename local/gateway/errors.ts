/**
 * Errors the local gateway raises at start. Each carries a stable `code` so callers (the dev
 * runner, tests) branch on it, never on message text.
 */
import { LocalError } from '../errors';

export type GatewayStartErrorCode =
  | 'TEMPLATE_NOT_FOUND'
  | 'TEMPLATE_AMBIGUOUS'
  | 'UNSUPPORTED_FEATURE'
  | 'UNRESOLVABLE_VALUE'
  | 'ASSET_NOT_FOUND'
  | 'RUNTIME_NOT_AVAILABLE'
  | 'LISTEN_FAILED';

export class GatewayStartError extends LocalError {
  constructor(
    readonly code: GatewayStartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A template feature that would change how requests are answered and that the local gateway does
 * not emulate. Serving the API without it would be a silent difference from AWS, so start fails.
 */
export class UnsupportedFeatureError extends GatewayStartError {
  constructor(
    readonly feature: string,
    readonly logicalId: string,
    detail?: string,
  ) {
    super(
      'UNSUPPORTED_FEATURE',
      `The local gateway does not support ${feature} (resource ${logicalId})${detail ? `: ${detail}` : ''}. ` +
        'Remove it from the stack served locally or serve the API from AWS.',
    );
  }
}

/** A value needed at request time (an environment variable, a URI, a header) that no intrinsic resolution can produce. */
export class UnresolvableValueError extends GatewayStartError {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(
      'UNRESOLVABLE_VALUE',
      `Cannot resolve ${where}: ${detail}. Pass an override to startGateway or make the value static.`,
    );
  }
}
