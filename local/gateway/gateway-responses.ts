/**
 * API Gateway's gateway responses: the answers the gateway gives on its own (unknown route,
 * authorizer outcomes, integration failures), selected as AWS does: the specific type if the
 * template customises it, else DEFAULT_4XX / DEFAULT_5XX, else AWS's built-in default.
 */
import { SubstitutionTemplate } from './substitution-template';
import type { TemplateInputs } from './vtl';

export type GatewayResponseType =
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'AUTHORIZER_FAILURE'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'API_CONFIGURATION_ERROR'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'REQUEST_TOO_LARGE'
  | 'THROTTLED'
  | 'WAF_FILTERED'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX';

interface BuiltInResponse {
  readonly status: number;
  readonly errorType: string;
  readonly template: string;
}

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

/** AWS's defaults for the response types this gateway can produce. */
export const BUILT_IN_RESPONSES: Readonly<Record<GatewayResponseType, BuiltInResponse>> = {
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    errorType: 'MissingAuthenticationTokenException',
    template: DEFAULT_TEMPLATE,
  },
  UNAUTHORIZED: { status: 401, errorType: 'UnauthorizedException', template: DEFAULT_TEMPLATE },
  // AWS's own ACCESS_DENIED body spells the key with a capital M.
  ACCESS_DENIED: {
    status: 403,
    errorType: 'AccessDeniedException',
    template: '{"Message":$context.error.messageString}',
  },
  AUTHORIZER_FAILURE: { status: 500, errorType: 'AuthorizerFailureException', template: DEFAULT_TEMPLATE },
  AUTHORIZER_CONFIGURATION_ERROR: {
    status: 500,
    errorType: 'AuthorizerConfigurationException',
    template: DEFAULT_TEMPLATE,
  },
  API_CONFIGURATION_ERROR: { status: 500, errorType: 'InternalServerErrorException', template: DEFAULT_TEMPLATE },
  INTEGRATION_FAILURE: { status: 504, errorType: 'InternalServerErrorException', template: DEFAULT_TEMPLATE },
  INTEGRATION_TIMEOUT: { status: 504, errorType: 'InternalServerErrorException', template: DEFAULT_TEMPLATE },
  REQUEST_TOO_LARGE: { status: 413, errorType: 'RequestTooLargeException', template: DEFAULT_TEMPLATE },
  THROTTLED: { status: 429, errorType: 'TooManyRequestsException', template: DEFAULT_TEMPLATE },
  // A request AWS WAF blocks without a custom response (403 Forbidden).
  WAF_FILTERED: { status: 403, errorType: 'ForbiddenException', template: DEFAULT_TEMPLATE },
  DEFAULT_4XX: { status: 400, errorType: 'BadRequestException', template: DEFAULT_TEMPLATE },
  DEFAULT_5XX: { status: 502, errorType: 'InternalServerErrorException', template: DEFAULT_TEMPLATE },
};

/** Where a gateway response header takes its value from. */
export type HeaderSource =
  | { kind: 'static'; value: string }
  | { kind: 'request'; location: 'header' | 'querystring' | 'path'; name: string }
  | { kind: 'stageVariable'; name: string };

/** A GatewayResponse resource from the template. */
export interface CustomGatewayResponse {
  readonly logicalId: string;
  readonly type: string;
  readonly statusCode?: number;
  readonly headers: ReadonlyArray<readonly [string, HeaderSource]>;
  readonly templates: ReadonlyArray<readonly [string, SubstitutionTemplate]>;
}

/** The situation the gateway is answering. */
export interface GatewayError {
  readonly type: GatewayResponseType;
  /** `$context.error.message`; `null` renders as JSON null, as AWS does for authorizer failures. */
  readonly message: string | null;
  /** Overrides the type's default status (a Lambda integration error is a DEFAULT_5XX with 502). */
  readonly status?: number;
  /** Overrides the type's `x-amzn-ErrorType`. */
  readonly errorType?: string;
}

/**
 * The MISSING_AUTHENTICATION_TOKEN answer to a request for no method. With an Authorization header
 * that is not a SigV4 signature, AWS reads it as one and fails with IncompleteSignatureException,
 * putting the header itself in the message: `'<token>' not a valid key=value pair (missing
 * equal-sign) in Authorization header: 'Bearer <token>'.` A gateway response template that renders
 * $context.error.message therefore echoes the caller's token on AWS, and does here too; a static
 * body does not. (A public report quoting the message: http://www.kouhan.cn/en/article/00039538.)
 */
export function missingAuthenticationToken(authorization: string | undefined): GatewayError {
  if (authorization === undefined)
    return { type: 'MISSING_AUTHENTICATION_TOKEN', message: GATEWAY_MESSAGES.missingAuthenticationToken };
  const space = authorization.indexOf(' ');
  const credential = (space < 0 ? authorization : authorization.slice(space + 1)).split(',')[0].trim();
  return {
    type: 'MISSING_AUTHENTICATION_TOKEN',
    message: `'${credential}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authorization}'.`,
    errorType: 'IncompleteSignatureException',
  };
}

/** Whether a gateway response template puts `$context.error.message(String)` in the body, which can echo a token (see above). */
export function rendersErrorMessage(response: CustomGatewayResponse | undefined): boolean {
  if (!response) return true;
  return (
    response.templates.length === 0 ||
    response.templates.some(([, template]) => /\$context\.error\.message/.test(template.source))
  );
}

export interface RenderedGatewayResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Which template resource (if any) shaped the answer. */
  readonly source: string;
}

const compiledBuiltIns = new Map<string, SubstitutionTemplate>();
function builtInTemplate(source: string): SubstitutionTemplate {
  let compiled = compiledBuiltIns.get(source);
  if (!compiled) {
    compiled = SubstitutionTemplate.compile(source);
    compiledBuiltIns.set(source, compiled);
  }
  return compiled;
}

function defaultTypeFor(status: number): 'DEFAULT_4XX' | 'DEFAULT_5XX' {
  return status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
}

/** Messages AWS uses, so that tests and clients see the same text locally. */
export const GATEWAY_MESSAGES = {
  missingAuthenticationToken: 'Missing Authentication Token',
  unauthorized: 'Unauthorized',
  explicitDeny: 'User is not authorized to access this resource with an explicit deny',
  implicitDeny: 'User is not authorized to access this resource',
  internalServerError: 'Internal server error',
  endpointTimedOut: 'Endpoint request timed out',
  requestTooLong: 'Request Too Long',
  tooManyRequests: 'Too Many Requests',
  forbidden: 'Forbidden',
} as const;

/**
 * The gateway response for a Lambda proxy invocation that failed.
 * - The function threw, timed out or crashed, or its result is malformed: 502 through DEFAULT_5XX
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html).
 * - Lambda throttled it (429 TooManyRequestsException): API Gateway answers 500, as INTEGRATION_FAILURE
 *   (https://repost.aws/questions/QUfI6bsdd0SOiPeyimzxSkfQ: the client sees 500;
 *   https://stackoverflow.com/questions/36363280: a Lambda 429 maps to INTEGRATION_FAILURE).
 * - The event is over Lambda's 6 MB request limit: 413
 *   (https://jun711.github.io/aws/handling-aws-api-gateway-and-lambda-413-error/).
 */
export function lambdaFailureResponse(failure: string): GatewayError {
  if (failure === 'throttled')
    return { type: 'INTEGRATION_FAILURE', message: GATEWAY_MESSAGES.internalServerError, status: 500 };
  if (failure === 'request-too-large') return { type: 'REQUEST_TOO_LARGE', message: GATEWAY_MESSAGES.requestTooLong };
  return { type: 'DEFAULT_5XX', message: GATEWAY_MESSAGES.internalServerError, status: 502 };
}

/**
 * The value of a mapped header (`'static'`, `method.request.*`, `stageVariables.*`) for a request, or
 * undefined when the request has no such value, in which case the header is left out. Names match
 * exactly, header names included: `method.request.header.Origin` does not find the `origin` an
 * HTTP/2 browser sends. That is why aws-cdk-lib's own CORS preflight template reads `Origin` and
 * then `origin` (aws-apigateway/lib/resource.ts, addCorsPreflight).
 */
export function resolveHeader(source: HeaderSource, inputs: TemplateInputs): string | undefined {
  switch (source.kind) {
    case 'static':
      return source.value;
    case 'stageVariable':
      return inputs.stageVariables[source.name];
    case 'request': {
      const map = inputs.params[source.location];
      return Object.hasOwn(map, source.name) ? map[source.name] : undefined;
    }
  }
}

/**
 * Renders the gateway response for an error. `inputs.context.error` is filled in here from the
 * error; the caller provides the rest of the request context.
 */
export function renderGatewayResponse(
  error: GatewayError,
  custom: ReadonlyMap<string, CustomGatewayResponse>,
  inputs: TemplateInputs,
): RenderedGatewayResponse {
  const builtIn = BUILT_IN_RESPONSES[error.type];
  const typeStatus = error.status ?? builtIn.status;
  const specific = custom.get(error.type);
  const fallback = specific ? undefined : custom.get(defaultTypeFor(typeStatus));
  const chosen = specific ?? fallback;
  const status = chosen?.statusCode ?? typeStatus;
  const context = {
    ...inputs.context,
    error: {
      message: error.message ?? '',
      messageString: error.message === null ? 'null' : JSON.stringify(error.message),
      responseType: error.type,
      validationErrorString: '',
    },
  };
  const templateInputs = { ...inputs, context };
  const templates = chosen?.templates ?? [];
  const [contentType, template] = templates.find(([type]) => type === 'application/json') ??
    templates[0] ?? ['application/json', builtInTemplate(builtIn.template)];
  const headers: Record<string, string> = { 'Content-Type': contentType };
  for (const [name, source] of chosen?.headers ?? []) {
    const value = resolveHeader(source, templateInputs);
    if (value !== undefined) headers[name] = value;
  }
  headers['x-amzn-ErrorType'] = error.errorType ?? builtIn.errorType;
  return { status, headers, body: template.render(templateInputs).body, source: chosen?.logicalId ?? 'built-in' };
}
