/**
 * The AWS WAF web ACL associated with the served stage, emulated for the rule shapes this project's
 * construct creates: rate-based rules keyed on the client IP, with Allow, Block (optionally with a
 * custom response) or Count actions, and the web ACL's default action. Any other statement or
 * action is refused at start, as the gateway refuses every template feature it does not model.
 *
 * WAF sits in front of API Gateway: a request it blocks never reaches the stage, so it spends no
 * token of the stage's throttling and never reaches an authorizer or an integration.
 *
 * AWS documentation this follows:
 * - Rules run in Priority order; Allow and Block are terminating, Count is not; a request no rule
 *   terminates gets the DefaultAction:
 *   https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-rule-actions.html
 *   https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-processing-order.html
 *   https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-default-action.html
 * - Rate-based rules: EvaluationWindowSec (60, 120, 300, 600; 300 by default) is how far back WAF
 *   looks when it counts, Limit (at least 10) the count above which the rule's action applies to an
 *   aggregation instance; with AggregateKeyType IP each source address is its own instance:
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-request-limiting.html
 *   https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html
 * - Block answers 403 (Forbidden) unless the action has a CustomResponse (ResponseCode,
 *   ResponseHeaders, CustomResponseBodyKey naming an entry of the web ACL's CustomResponseBodies),
 *   which takes precedence over the protected resource's own responses:
 *   https://docs.aws.amazon.com/waf/latest/developerguide/waf-custom-request-response.html
 *   https://docs.aws.amazon.com/waf/latest/developerguide/customizing-the-response-for-blocked-requests.html
 *   https://docs.aws.amazon.com/waf/latest/APIReference/API_CustomResponse.html
 *   https://docs.aws.amazon.com/waf/latest/APIReference/API_CustomResponseBody.html
 * - On a REST API, a block without a custom response is API Gateway's WAF_FILTERED gateway
 *   response (403, falling back to DEFAULT_4XX):
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 * - A web ACL is associated with a REST API stage by AWS::WAFv2::WebACLAssociation, whose
 *   ResourceArn is the stage's ARN, `arn:<partition>:apigateway:<region>::/restapis/<id>/stages/<stage>`;
 *   a resource takes one web ACL:
 *   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-wafv2-webaclassociation.html
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-aws-waf.html
 */
import { performance } from 'node:perf_hooks';
import { UnresolvableValueError, UnsupportedFeatureError } from './errors';

/** A Block action's custom response, as WAF sends it. */
export interface WafCustomResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The body named by CustomResponseBodyKey, with the Content-Type its ContentType stands for. */
  readonly body?: { readonly key: string; readonly contentType: string; readonly content: string };
}

export type WafAction =
  | { readonly kind: 'allow' }
  | { readonly kind: 'count' }
  /** Without a custom response, API Gateway answers with its WAF_FILTERED gateway response. */
  | { readonly kind: 'block'; readonly customResponse?: WafCustomResponse };

export interface RateBasedRuleModel {
  readonly name: string;
  readonly priority: number;
  readonly action: WafAction;
  /** Requests one client IP may send in the window; the next one is over the limit. */
  readonly limit: number;
  readonly windowSeconds: number;
}

export interface WebAclModel {
  readonly logicalId: string;
  readonly associationLogicalId: string;
  /** Evaluated in ascending Priority. */
  readonly rules: readonly RateBasedRuleModel[];
  readonly defaultAction: Exclude<WafAction, { kind: 'count' }>;
}

type Resolve = (value: unknown, where: string) => unknown;

/** AWS's content types for custom response bodies and the Content-Type each is sent with. */
const BODY_CONTENT_TYPES: Readonly<Record<string, string>> = {
  TEXT_PLAIN: 'text/plain',
  TEXT_HTML: 'text/html',
  APPLICATION_JSON: 'application/json',
};

const EVALUATION_WINDOWS = [60, 120, 300, 600];
const DEFAULT_EVALUATION_WINDOW = 300;
const MIN_RATE_LIMIT = 10;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one key of a union-shaped property (`{ Block: {...} }`, `{ RateBasedStatement: {...} }`). */
function onlyKey(value: unknown, what: string, logicalId: string): [string, unknown] {
  if (!isRecord(value) || Object.keys(value).length !== 1)
    throw new UnsupportedFeatureError(
      `a ${what} that is not exactly one of its choices (${JSON.stringify(value)})`,
      logicalId,
    );
  return Object.entries(value)[0];
}

function customResponseOf(
  raw: unknown,
  bodies: Record<string, unknown>,
  where: string,
  logicalId: string,
): WafCustomResponse | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) throw new UnsupportedFeatureError(`a CustomResponse that is not an object (${where})`, logicalId);
  const status = Number(raw.ResponseCode);
  if (!Number.isInteger(status) || status < 200 || status > 599)
    throw new UnsupportedFeatureError(
      `the custom response code ${String(raw.ResponseCode)} (${where})`,
      logicalId,
      'WAF takes 200 to 599',
    );
  const headers = ((raw.ResponseHeaders as unknown[] | undefined) ?? []).map((header, index): [string, string] => {
    if (!isRecord(header) || typeof header.Name !== 'string')
      throw new UnsupportedFeatureError(
        `a response header without a name (${where}.ResponseHeaders[${index}])`,
        logicalId,
      );
    if (header.Name.toLowerCase() === 'content-type')
      throw new UnsupportedFeatureError(
        `a Content-Type response header (${where})`,
        logicalId,
        "WAF sets it from the body's ContentType",
      );
    return [header.Name, String(header.Value ?? '')];
  });
  const key = raw.CustomResponseBodyKey;
  if (key === undefined) return { status, headers };
  const body = bodies[String(key)];
  if (!isRecord(body))
    throw new UnsupportedFeatureError(
      `a CustomResponseBodyKey that names no CustomResponseBodies entry (${String(key)}, ${where})`,
      logicalId,
    );
  const contentType = BODY_CONTENT_TYPES[String(body.ContentType)];
  if (!contentType)
    throw new UnsupportedFeatureError(
      `the custom response body content type ${String(body.ContentType)} (${where})`,
      logicalId,
    );
  return { status, headers, body: { key: String(key), contentType, content: String(body.Content ?? '') } };
}

function actionOf(raw: unknown, bodies: Record<string, unknown>, where: string, logicalId: string): WafAction {
  const [kind, settings] = onlyKey(raw, `WAF action (${where})`, logicalId);
  const options = isRecord(settings) ? settings : {};
  switch (kind) {
    case 'Allow':
    case 'Count':
      // Headers WAF would insert into the request the stage receives.
      if (options.CustomRequestHandling !== undefined)
        throw new UnsupportedFeatureError(`custom request handling on a ${kind} action (${where})`, logicalId);
      return { kind: kind === 'Allow' ? 'allow' : 'count' };
    case 'Block':
      return {
        kind: 'block',
        customResponse: customResponseOf(options.CustomResponse, bodies, `${where}.Block.CustomResponse`, logicalId),
      };
    default:
      throw new UnsupportedFeatureError(
        `the WAF ${kind} action (${where})`,
        logicalId,
        'only Allow, Block and Count are emulated',
      );
  }
}

function rateBasedRuleOf(
  rule: Record<string, unknown>,
  index: number,
  bodies: Record<string, unknown>,
  logicalId: string,
): RateBasedRuleModel {
  const where = `Rules[${index}]${typeof rule.Name === 'string' ? ` (${rule.Name})` : ''}`;
  if (rule.OverrideAction !== undefined)
    throw new UnsupportedFeatureError(
      `a rule with an OverrideAction (${where})`,
      logicalId,
      'rule groups are not emulated',
    );
  const [statementType, statement] = onlyKey(rule.Statement, `WAF statement (${where})`, logicalId);
  if (statementType !== 'RateBasedStatement') {
    throw new UnsupportedFeatureError(
      `the WAF statement ${statementType} (${where})`,
      logicalId,
      'only rate-based rules keyed on the client IP are emulated',
    );
  }
  const rate = isRecord(statement) ? statement : {};
  const keyType = String(rate.AggregateKeyType ?? 'IP');
  if (keyType !== 'IP')
    throw new UnsupportedFeatureError(
      `a rate-based rule aggregated on ${keyType} (${where})`,
      logicalId,
      'only AggregateKeyType IP (the source address) is emulated',
    );
  if (rate.ScopeDownStatement !== undefined)
    throw new UnsupportedFeatureError(`a rate-based rule with a ScopeDownStatement (${where})`, logicalId);
  if (rate.CustomKeys !== undefined)
    throw new UnsupportedFeatureError(`a rate-based rule with CustomKeys (${where})`, logicalId);
  const limit = Number(rate.Limit);
  if (!Number.isInteger(limit) || limit < MIN_RATE_LIMIT)
    throw new UnsupportedFeatureError(
      `a rate-based Limit of ${String(rate.Limit)} (${where})`,
      logicalId,
      `WAF takes a whole number of at least ${MIN_RATE_LIMIT}`,
    );
  const windowSeconds =
    rate.EvaluationWindowSec === undefined ? DEFAULT_EVALUATION_WINDOW : Number(rate.EvaluationWindowSec);
  if (!EVALUATION_WINDOWS.includes(windowSeconds)) {
    throw new UnsupportedFeatureError(
      `an EvaluationWindowSec of ${String(rate.EvaluationWindowSec)} (${where})`,
      logicalId,
      `WAF takes ${EVALUATION_WINDOWS.join(', ')}`,
    );
  }
  return {
    name: String(rule.Name ?? `rule ${index}`),
    priority: Number(rule.Priority ?? 0),
    action: actionOf(rule.Action, bodies, `${where}.Action`, logicalId),
    limit,
    windowSeconds,
  };
}

/**
 * Reads an AWS::WAFv2::WebACL's properties (already resolved) into what the gateway evaluates,
 * refusing any statement, action or setting it does not emulate.
 */
export function webAclModelOf(
  logicalId: string,
  associationLogicalId: string,
  properties: Record<string, unknown>,
): WebAclModel {
  const bodies = isRecord(properties.CustomResponseBodies) ? properties.CustomResponseBodies : {};
  const defaultAction = actionOf(properties.DefaultAction, bodies, 'DefaultAction', logicalId);
  if (defaultAction.kind === 'count')
    throw new UnsupportedFeatureError('a Count default action', logicalId, 'the default action must allow or block');
  const rules = ((properties.Rules as unknown[] | undefined) ?? []).map((rule, index) => {
    if (!isRecord(rule)) throw new UnsupportedFeatureError(`a rule that is not an object (Rules[${index}])`, logicalId);
    return rateBasedRuleOf(rule, index, bodies, logicalId);
  });
  rules.sort((a, b) => a.priority - b.priority);
  return { logicalId, associationLogicalId, rules, defaultAction };
}

/**
 * The AWS::WAFv2 and AWS::WAFRegional resources of a template as the served stage sees them: the
 * web ACL associated with it (emulated, or refused), and every other one, listed as ignored.
 */
export function webAclForStage(
  resources: Readonly<Record<string, { Type: string; Properties?: Record<string, unknown> }>>,
  stageArn: string,
  webAclArnOf: (logicalId: string) => string,
  resolve: Resolve,
): { webAcl?: WebAclModel; used: string[]; ignored: Array<{ logicalId: string; type: string; reason: string }> } {
  const ignored: Array<{ logicalId: string; type: string; reason: string }> = [];
  const entries = Object.entries(resources);
  const associations: Array<[string, string]> = [];
  for (const [logicalId, resource] of entries) {
    const isV2 = resource.Type === 'AWS::WAFv2::WebACLAssociation';
    const isClassic = resource.Type === 'AWS::WAFRegional::WebACLAssociation';
    if (!isV2 && !isClassic) continue;
    let target: string | undefined;
    try {
      target = String(resolve(resource.Properties?.ResourceArn, `${logicalId}.ResourceArn`));
    } catch (error) {
      // An ARN of a resource the gateway does not model (a load balancer, a GraphQL API) is not the stage's.
      if (!(error instanceof UnresolvableValueError)) throw error;
    }
    if (target !== stageArn) {
      ignored.push({
        logicalId,
        type: resource.Type,
        reason: 'associates a web ACL with another resource than the served stage',
      });
      continue;
    }
    if (isClassic)
      throw new UnsupportedFeatureError(
        'an AWS WAF Classic web ACL (AWS::WAFRegional) on the stage',
        logicalId,
        'only AWS::WAFv2 web ACLs are emulated',
      );
    associations.push([logicalId, String(resolve(resource.Properties?.WebACLArn, `${logicalId}.WebACLArn`))]);
  }
  if (associations.length > 1) {
    throw new UnsupportedFeatureError(
      `several web ACL associations for one stage (${associations.map(([id]) => id).join(', ')})`,
      associations[0][0],
      'a stage takes one web ACL',
    );
  }
  let webAcl: WebAclModel | undefined;
  const used: string[] = [];
  if (associations.length === 1) {
    const [associationId, arn] = associations[0];
    const acl = entries.find(
      ([logicalId, resource]) => resource.Type === 'AWS::WAFv2::WebACL' && webAclArnOf(logicalId) === arn,
    );
    if (!acl)
      throw new UnsupportedFeatureError(
        `a web ACL defined outside this stack (${arn})`,
        associationId,
        'its rules are not in the template, so they cannot be emulated',
      );
    const [aclId, aclResource] = acl;
    const properties = resolve(aclResource.Properties ?? {}, `${aclId}.Properties`) as Record<string, unknown>;
    webAcl = webAclModelOf(aclId, associationId, properties ?? {});
    used.push(aclId, associationId);
  }
  for (const [logicalId, resource] of entries) {
    if (
      used.includes(logicalId) ||
      !(resource.Type.startsWith('AWS::WAFv2::') || resource.Type.startsWith('AWS::WAFRegional::'))
    )
      continue;
    if (ignored.some((item) => item.logicalId === logicalId)) continue;
    ignored.push({
      logicalId,
      type: resource.Type,
      reason: resource.Type.endsWith('::WebACL')
        ? 'not associated with the served stage'
        : 'not used by the web ACL of the served stage',
    });
  }
  return { webAcl, used, ignored };
}

/**
 * Counts requests per key over a sliding window and says when a key is over the limit. It keeps
 * the times of a key's latest `limit + 1` requests only: the key is over the limit exactly when
 * all of them fall within the window, so memory stays bounded however long a flood lasts.
 *
 * The count is exact, to the millisecond: AWS WAF evaluates its counts every few seconds and
 * "applies rate limiting near the limit", so on AWS a burst can pass beyond the limit before the
 * block starts, and the block can outlast the window a little. Tests must therefore only rely on
 * what AWS promises: an address well over the limit gets blocked, one under it is served.
 */
export class RateCounter {
  private readonly rings = new Map<string, { times: number[]; next: number }>();
  private readonly windowMs: number;
  private sinceSweep = 0;

  constructor(
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.windowMs = windowSeconds * 1000;
  }

  /** Counts one request of `key` (blocked ones too: the rule evaluates them); true when the key is over the limit. */
  count(key: string): boolean {
    const now = this.nowMs();
    if (++this.sinceSweep >= 4096) this.sweep(now);
    let ring = this.rings.get(key);
    if (!ring) {
      ring = { times: [], next: 0 };
      this.rings.set(key, ring);
    }
    const capacity = this.limit + 1;
    if (ring.times.length < capacity) {
      ring.times.push(now);
      // Full from this request on, with the oldest at index 0 (where `next` points).
      if (ring.times.length < capacity) return false;
    } else {
      ring.times[ring.next] = now;
      ring.next = (ring.next + 1) % capacity;
    }
    // The oldest of the latest limit + 1 requests: still in the window means limit + 1 in the window.
    return ring.times[ring.next] > now - this.windowMs;
  }

  /** Keys currently tracked (for tests and stats). */
  get trackedKeys(): number {
    return this.rings.size;
  }

  /** Forgets keys whose latest request has left the window. */
  private sweep(now: number): void {
    this.sinceSweep = 0;
    for (const [key, ring] of this.rings) {
      const latest =
        ring.times.length < this.limit + 1
          ? ring.times[ring.times.length - 1]
          : ring.times[(ring.next + this.limit) % (this.limit + 1)];
      if (latest <= now - this.windowMs) this.rings.delete(key);
    }
  }
}

export type WafVerdict =
  | { readonly blocked: false; readonly counted: readonly string[] }
  | {
      readonly blocked: true;
      readonly rule?: string;
      readonly customResponse?: WafCustomResponse;
      readonly reason: string;
    };

/** The web ACL at request time: one counter per rate-based rule. */
export class WebAclEvaluator {
  private readonly counters: ReadonlyArray<readonly [RateBasedRuleModel, RateCounter]>;

  constructor(
    readonly model: WebAclModel,
    nowMs?: () => number,
  ) {
    this.counters = model.rules.map((rule) => [rule, new RateCounter(rule.limit, rule.windowSeconds, nowMs)] as const);
  }

  /**
   * Evaluates a request from `sourceIp`, the TCP peer address: WAF's IP aggregation uses the
   * request's origin address, never X-Forwarded-For (that is FORWARDED_IP, which is refused).
   */
  evaluate(sourceIp: string): WafVerdict {
    const counted: string[] = [];
    for (const [rule, counter] of this.counters) {
      if (!counter.count(sourceIp)) continue;
      const over = `${sourceIp} is over ${rule.limit} requests in ${rule.windowSeconds} s`;
      if (rule.action.kind === 'count') {
        counted.push(rule.name);
        continue;
      }
      if (rule.action.kind === 'allow') return { blocked: false, counted };
      return {
        blocked: true,
        rule: rule.name,
        customResponse: rule.action.customResponse,
        reason: `blocked by AWS WAF rule ${rule.name} of ${this.model.logicalId}: ${over}`,
      };
    }
    if (this.model.defaultAction.kind === 'allow') return { blocked: false, counted };
    return {
      blocked: true,
      customResponse: this.model.defaultAction.customResponse,
      reason: `blocked by the default action of AWS WAF web ACL ${this.model.logicalId}`,
    };
  }
}

function describeAction(action: WafAction): string {
  if (action.kind !== 'block') return action.kind;
  const custom = action.customResponse;
  if (!custom) return 'block (403, the WAF_FILTERED gateway response)';
  const headers = custom.headers.map(([name]) => name).join(', ');
  return `block with ${custom.status}${custom.body ? ` and body ${custom.body.key} (${custom.body.contentType})` : ''}${headers ? `, headers ${headers}` : ''}`;
}

/** The start-up line: which web ACL is emulated, with its rules. */
export function describeWebAcl(model: WebAclModel, stageName: string): string {
  const rules = model.rules.map(
    (rule) =>
      `rule ${rule.name} (priority ${rule.priority}): more than ${rule.limit.toLocaleString('en-US')} requests per client IP (TCP peer address) in ${rule.windowSeconds} s → ${describeAction(rule.action)}`,
  );
  return (
    `AWS WAF web ACL ${model.logicalId} on stage ${stageName} (${model.associationLogicalId}) is emulated, before throttling and authorizers: ` +
    `${rules.length > 0 ? rules.join('; ') : 'no rules'}; default action ${describeAction(model.defaultAction)}. Counts are exact here; AWS checks them every few seconds`
  );
}
