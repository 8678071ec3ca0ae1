/**
 * The settings more than one function reads, each defined once: the function contracts
 * (authorizer.ts, metadata.ts, mcp.ts) take their rows from here.
 */
import { authkitIssuer, InvalidAuthKitDomainError } from '../issuer';
import { isLoopbackHost } from '../loopback';
import { DEFAULT_CLOCK_TOLERANCE_SECONDS, MAX_CLOCK_TOLERANCE_SECONDS } from '../token-policy';
import { InvalidBaseUrlError, normaliseBaseUrl } from '../urls';
import { fromProp, invalid, required, type Row, SettingValueError, withDefault, wholeNumber } from './setting';

/** Powertools log levels, as `POWERTOOLS_LOG_LEVEL` and the construct's `logLevel` prop accept them. */
export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A log level in any case, upper-cased; `undefined` when it is not one. */
export function parseLogLevel(value: string): LogLevel | undefined {
  const upper = value.trim().toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(upper) ? (upper as LogLevel) : undefined;
}

export const DEFAULT_LOG_LEVEL: LogLevel = 'INFO';
/** The Powertools service name of the deployment; each function logs under it plus its own suffix. */
export const DEFAULT_SERVICE_NAME = 'mcp-server';
/** The CloudWatch namespace of the authorizer's decision metrics. */
export const DEFAULT_METRICS_NAMESPACE = 'McpServer';

/** The suffix each function adds to the deployment's service name. */
export const SERVICE_NAME_SUFFIXES = { authorizer: '-authorizer', metadata: '-metadata', mcp: '' } as const;

/**
 * A text setting read through a normaliser, whose own error (`invalid`, an instance of that class)
 * becomes the setting's problem with the normaliser's message.
 */
function normalisedText(
  variable: string,
  doc: string,
  normalise: (raw: string) => string,
  invalid: abstract new (...args: never[]) => Error,
): Row<string> {
  return {
    variable,
    doc,
    write: (value) => value,
    parse(raw) {
      try {
        return normalise(raw);
      } catch (error) {
        if (error instanceof invalid)
          throw new SettingValueError(error.message, 'invalid', undefined, { cause: error });
        throw error;
      }
    },
  };
}

/** The public base URL, normalised (lower-case scheme and host, no trailing slash). */
export const publicBaseUrl = fromProp(
  required(
    normalisedText(
      'PUBLIC_BASE_URL',
      'The public base URL of the server; every public URL and the token audience derive from it.',
      normaliseBaseUrl,
      InvalidBaseUrlError,
    ),
    'the public base URL of the MCP server, e.g. https://mcp.example.com',
  ),
  'publicBaseUrl',
  // Unset, the construct writes the URL of the custom domain or of the stage.
  { byConstruct: true },
);

/** The AuthKit issuer, normalised the same way everywhere: `iss` is compared byte for byte. */
export const authkitIssuerSetting = fromProp(
  required(
    normalisedText(
      'AUTHKIT_ISSUER',
      'The AuthKit issuer (`https://<host>`), exactly as it appears in `iss` and in its metadata.',
      authkitIssuer,
      InvalidAuthKitDomainError,
    ),
    'your AuthKit issuer, e.g. https://acme.authkit.app',
  ),
  'authkitDomain',
  // A missing domain is refused in the construct's own words.
  { byConstruct: true },
);

/** Powertools log level. */
export const logLevel = fromProp(
  withDefault<LogLevel>(
    {
      variable: 'POWERTOOLS_LOG_LEVEL',
      doc: 'Powertools log level of the function.',
      write: (value) => value,
      parse(raw) {
        const level = parseLogLevel(raw);
        if (level === undefined) throw invalid(`"${raw}" is not a log level`, `use one of ${LOG_LEVELS.join(', ')}.`);
        return level;
      },
    },
    DEFAULT_LOG_LEVEL,
  ),
  'logLevel',
);

/** The longest service name a deployment may choose; each function adds its suffix to it. */
const MAX_SERVICE_NAME_LENGTH = 64;

/** A Powertools service name of at most `maxLength` characters. */
function serviceNameRow(doc: string, maxLength: number): Row<string> {
  const pattern = new RegExp(`^[A-Za-z0-9._-]{1,${maxLength}}$`);
  return {
    variable: 'POWERTOOLS_SERVICE_NAME',
    doc,
    write: (value) => value,
    parse(raw) {
      if (!pattern.test(raw))
        throw invalid(
          `"${raw}" is not a service name`,
          `use 1 to ${maxLength} letters, digits, dots, hyphens or underscores.`,
        );
      return raw;
    },
  };
}

/** The deployment's service name (the construct's `serviceName` prop), before a function's suffix. */
export const deploymentServiceName = withDefault(
  serviceNameRow("The deployment's Powertools service name.", MAX_SERVICE_NAME_LENGTH),
  DEFAULT_SERVICE_NAME,
);

/** Powertools service name of one function: the deployment's name (the `serviceName` prop) plus the function's suffix. */
export function serviceName(fn: keyof typeof SERVICE_NAME_SUFFIXES) {
  const suffix = SERVICE_NAME_SUFFIXES[fn];
  return fromProp(
    withDefault(
      serviceNameRow(
        `Powertools service name (the deployment's service name${suffix ? `, suffixed ${suffix}` : ''}).`,
        MAX_SERVICE_NAME_LENGTH + suffix.length,
      ),
      `${DEFAULT_SERVICE_NAME}${suffix}`,
    ),
    'serviceName',
    // The prop is the deployment's name, read through `deploymentServiceName`; each function adds its suffix.
    { byConstruct: true },
  );
}

/**
 * What CloudWatch accepts as a custom namespace (`AWS/` is reserved for AWS's own), with spaces only
 * inside it: an environment variable is read trimmed, so an edge space would not survive the trip.
 */
const METRICS_NAMESPACE = /^(?! )[A-Za-z0-9 ._/#:-]{1,255}(?<! )$/;

/** The CloudWatch namespace of the authorizer's decision metrics (the construct's `metricsNamespace`). */
export const metricsNamespace = fromProp(
  withDefault<string>(
    {
      variable: 'POWERTOOLS_METRICS_NAMESPACE',
      doc: "CloudWatch namespace of the authorizer's decision metrics.",
      write: (value) => value,
      parse(raw) {
        if (!METRICS_NAMESPACE.test(raw) || raw.startsWith('AWS/'))
          throw invalid(
            `"${raw}" is not a custom CloudWatch namespace`,
            'use a CloudWatch namespace of letters, digits and . _ / # : - (spaces only inside) that does not start with "AWS/".',
          );
        return raw;
      },
    },
    DEFAULT_METRICS_NAMESPACE,
  ),
  'metricsNamespace',
);

/** Allowed clock skew when checking a token's `exp` and `nbf`; the authorizer and the MCP runtime use the same. */
export const clockToleranceSeconds = fromProp(
  wholeNumber(
    'CLOCK_TOLERANCE_SECONDS',
    { fallback: DEFAULT_CLOCK_TOLERANCE_SECONDS, min: 0, max: MAX_CLOCK_TOLERANCE_SECONDS },
    'Allowed clock skew for `exp` and `nbf`, in seconds.',
  ),
  'clockTolerance',
  { unit: 'seconds' },
);

/** `value` as an absolute https URL (http only on a loopback host); `undefined` when it is not one. */
export function secureUrl(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  return secure ? url : undefined;
}
