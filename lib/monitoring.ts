/**
 * The stage's dashboard and alarms (`monitoring`, on by default): what a person watching the server
 * needs on one page, and an alarm for each thing that needs a person.
 *
 * Metrics used, and where they come from:
 * - `AWS/ApiGateway` `Count`, `4XXError`, `5XXError`, `Latency`, `IntegrationLatency` by ApiName +
 *   Stage, and by ApiName + Stage + Method + Resource for the `/mcp` methods: the stage enables
 *   detailed metrics (`metricsEnabled` renders a `/*` `/*` method setting)
 *   (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
 * - `AWS/Lambda` `ConcurrentExecutions`, `Throttles`, `Errors`, `Duration` by FunctionName
 *   (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
 * - `AWS/WAFV2` `BlockedRequests` by WebACL + Region + Rule, for the web ACL the construct creates
 *   (https://docs.aws.amazon.com/waf/latest/developerguide/monitoring-cloudwatch.html).
 * - The authorizer's decision counts (`token_<reason>`, lambda/shared/authorizer-decisions.ts) in
 *   `metricsNamespace`, dimensioned by its Powertools service name.
 * - `workos_lookup_failed`: a metric filter on the MCP function's log lines for a failed WorkOS
 *   roles lookup (lambda/runtime/workos-access.ts), in `metricsNamespace`, by service.
 * - `caller_limit_refused`: a metric filter on the MCP function's request log lines refused by the
 *   per-caller limit (lambda/runtime/lease-step.ts): a 429, or a reason that starts with the limit's
 *   refusal (a request refused after its grace period, whose answer was already streaming).
 * - Time to first byte of streamed answers has no CloudWatch metric: a Logs Insights query over the
 *   access log's `timeToFirstContent` charts it, as does the 429 count by cause (API Gateway has no
 *   429 metric: throttled requests count in `4XXError`).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DECISION_REASONS, decisionMetricName } from '../lambda/shared/authorizer-decisions';
import { MCP_PATH } from '../lambda/shared/urls';

/** The metric the WorkOS failure filter counts, and the log line it matches (lambda/runtime/workos-access.ts). */
export const WORKOS_LOOKUP_FAILED_METRIC = 'workos_lookup_failed';
export const WORKOS_LOOKUP_FAILED_MESSAGE = 'WorkOS roles lookup failed';
export const WORKOS_UNAVAILABLE_CODE = 'WORKOS_UNAVAILABLE';
/** The metric the per-caller limit filter counts, and the request log line it matches (lambda/runtime). */
export const CALLER_LIMIT_REFUSED_METRIC = 'caller_limit_refused';
export const REQUEST_LOG_MESSAGE = 'mcp request';
export const CALLER_LIMIT_REFUSAL_REASON = 'per-caller limit reached';
/** The rule name of the construct's rate-based WAF rule (lib/authkit-mcp-server.ts). */
export const RATE_LIMIT_RULE_NAME = 'RateLimitPerIp';

/** The thresholds of the alarms, documented in the README ("Operate a stage"). */
export const ALARM_THRESHOLDS = {
  /** Authorizer decisions `upstream_unavailable` (AuthKit's keys unreachable) in 5 minutes. */
  authkitUnavailable: 5,
  /** Failed WorkOS roles lookups in 5 minutes. */
  workosUnavailable: 5,
  /** Percentage of `/mcp` answers that are 5xx over 5 minutes... */
  mcp5xxPercent: 5,
  /** ...once at least this many `/mcp` requests came in those 5 minutes. */
  mcp5xxMinRequests: 20,
  /** Throttled MCP function invocations in 5 minutes. */
  mcpThrottles: 5,
  /** Share of the reserved concurrency the MCP function may reach for 3 minutes in a row. */
  concurrencyShare: 0.8,
  /** WAF-blocked requests in 5 minutes, at least; more with a larger per-IP limit (`rateLimitPerIp`). */
  wafBlocksMin: 100,
} as const;

const FIVE_MINUTES = Duration.minutes(5);
const MCP_METHODS = ['POST', 'GET', 'DELETE'] as const;

export interface ServerMonitoringProps {
  readonly api: apigw.RestApi;
  readonly authorizerFunction: lambda.IFunction;
  readonly mcpFunction: lambda.IFunction;
  /** The MCP function's log group, when the construct built the function (not `McpHandler.fromFunction`). */
  readonly mcpLogGroup?: logs.ILogGroup;
  readonly accessLogGroup: logs.ILogGroup;
  /** The web ACL the construct created (`rateLimitPerIp`); a web ACL passed by ARN is the deployer's to watch. */
  readonly webAcl?: wafv2.CfnWebACL;
  readonly rateLimitPerIp?: number;
  readonly metricsNamespace: string;
  /** The Powertools service names the authorizer and the MCP function log and count under. */
  readonly authorizerServiceName: string;
  readonly mcpServiceName: string;
  readonly mcpReservedConcurrency?: number;
  readonly alarmActions: readonly cloudwatch.IAlarmAction[];
  /**
   * Refusals of the per-caller concurrency limit, charted beside the throttles.
   * @default - counted by a metric filter on the MCP function's request log lines, when the construct owns its log group
   */
  readonly callerLimitRefusals?: cloudwatch.IMetric;
}

/** A CloudWatch dashboard and alarms for one stage of the MCP server. */
export class ServerMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by construct id. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  private readonly props: ServerMonitoringProps;

  constructor(scope: Construct, id: string, props: ServerMonitoringProps) {
    super(scope, id);
    this.props = props;
    const workosFailures = this.workosFailures();
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(...this.requestWidgets());
    this.dashboard.addWidgets(...this.latencyWidgets());
    this.dashboard.addWidgets(...this.authorizerWidgets(workosFailures));
    this.dashboard.addWidgets(...this.functionWidgets());
    this.dashboard.addWidgets(...this.throttleWidgets());
    const alarms = this.createAlarms(workosFailures);
    for (const alarm of Object.values(alarms)) {
      alarm.addAlarmAction(...props.alarmActions);
      alarm.addOkAction(...props.alarmActions);
    }
    this.alarms = alarms;
  }

  private get stage(): apigw.Stage {
    return this.props.api.deploymentStage;
  }

  /** The `/mcp` method of `httpMethod`: its metrics carry the Method and Resource dimensions. */
  private mcpMethod(httpMethod: string): apigw.Method {
    const method = this.props.api.methods.find((m) => m.resource.path === MCP_PATH && m.httpMethod === httpMethod);
    if (!method) throw new Error(`ServerMonitoring: the API has no ${httpMethod} ${MCP_PATH} method to chart`);
    return method;
  }

  /** One metric per `/mcp` method, labelled with the method. */
  private byMcpMethod(
    metric: (method: apigw.Method, stage: apigw.Stage, options: cloudwatch.MetricOptions) => cloudwatch.Metric,
    options: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric[] {
    return MCP_METHODS.map((name) =>
      metric(this.mcpMethod(name), this.stage, { period: FIVE_MINUTES, label: `${name} ${MCP_PATH}`, ...options }),
    );
  }

  private requestWidgets(): cloudwatch.IWidget[] {
    const sum = { statistic: cloudwatch.Stats.SUM };
    return [
      graph('Requests by route', [
        ...this.byMcpMethod((m, s, o) => m.metricCount(s, o), sum),
        this.stage.metricCount({ ...sum, period: FIVE_MINUTES, label: 'whole stage' }),
      ]),
      graph('4xx by route', [
        ...this.byMcpMethod((m, s, o) => m.metricClientError(s, o), sum),
        this.stage.metricClientError({ period: FIVE_MINUTES, label: 'whole stage' }),
      ]),
      graph('5xx by route', [
        ...this.byMcpMethod((m, s, o) => m.metricServerError(s, o), sum),
        this.stage.metricServerError({ period: FIVE_MINUTES, label: 'whole stage' }),
      ]),
    ];
  }

  private latencyWidgets(): cloudwatch.IWidget[] {
    const percentiles = (
      metric: (options: cloudwatch.MetricOptions) => cloudwatch.Metric,
      name: string,
    ): cloudwatch.Metric[] =>
      ['p50', 'p99'].map((statistic) => metric({ statistic, period: FIVE_MINUTES, label: `${name} ${statistic}` }));
    return [
      graph('Latency (ms), whole stage', [
        ...percentiles((o) => this.stage.metricLatency(o), 'Latency'),
        ...percentiles((o) => this.stage.metricIntegrationLatency(o), 'IntegrationLatency'),
      ]),
      new cloudwatch.LogQueryWidget({
        title: 'Time to first byte of streamed answers (ms, access log)',
        logGroupNames: [this.props.accessLogGroup.logGroupName],
        view: cloudwatch.LogQueryVisualizationType.LINE,
        queryLines: [
          'filter responseTransferMode = "STREAMED"',
          'stats pct(timeToFirstContent, 50) as p50, pct(timeToFirstContent, 99) as p99, pct(timeToAllHeaders, 99) as headersP99 by bin(5m)',
        ],
        width: 12,
      }),
    ];
  }

  /** A count in the construct's namespace, as the functions' Powertools metrics write it. */
  private customCount(metricName: string, service: string, label: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.props.metricsNamespace,
      metricName,
      dimensionsMap: { service },
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
      label,
    });
  }

  private decisionCount(reason: (typeof DECISION_REASONS)[number]): cloudwatch.Metric {
    return this.customCount(decisionMetricName(reason), this.props.authorizerServiceName, reason);
  }

  /** Counts failed WorkOS lookups from the MCP function's log; none when the construct has not its log group. */
  private workosFailures(): cloudwatch.Metric | undefined {
    const logGroup = this.props.mcpLogGroup;
    if (!logGroup) return undefined;
    new logs.MetricFilter(this, 'WorkOSLookupFailures', {
      logGroup,
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.message', '=', WORKOS_LOOKUP_FAILED_MESSAGE),
        logs.FilterPattern.stringValue('$.code', '=', WORKOS_UNAVAILABLE_CODE),
      ),
      metricNamespace: this.props.metricsNamespace,
      metricName: WORKOS_LOOKUP_FAILED_METRIC,
      metricValue: '1',
      dimensions: { service: '$.service' },
      unit: cloudwatch.Unit.COUNT,
    });
    return this.customCount(WORKOS_LOOKUP_FAILED_METRIC, this.props.mcpServiceName, 'WorkOS lookups failed');
  }

  /** Counts the per-caller limit's refusals from the MCP function's request log; none without its log group. */
  private callerLimitRefusals(): cloudwatch.IMetric | undefined {
    if (this.props.callerLimitRefusals) return this.props.callerLimitRefusals;
    const logGroup = this.props.mcpLogGroup;
    if (!logGroup) return undefined;
    new logs.MetricFilter(this, 'CallerLimitRefusals', {
      logGroup,
      filterPattern: logs.FilterPattern.all(
        logs.FilterPattern.stringValue('$.message', '=', REQUEST_LOG_MESSAGE),
        logs.FilterPattern.any(
          logs.FilterPattern.numberValue('$.status', '=', 429),
          logs.FilterPattern.stringValue('$.reason', '=', `${CALLER_LIMIT_REFUSAL_REASON}*`),
        ),
      ),
      metricNamespace: this.props.metricsNamespace,
      metricName: CALLER_LIMIT_REFUSED_METRIC,
      metricValue: '1',
      dimensions: { service: '$.service' },
      unit: cloudwatch.Unit.COUNT,
    });
    return this.customCount(CALLER_LIMIT_REFUSED_METRIC, this.props.mcpServiceName, 'per-caller limit refusals');
  }

  private authorizerWidgets(workosFailures: cloudwatch.Metric | undefined): cloudwatch.IWidget[] {
    const refusals = DECISION_REASONS.filter((reason) => reason !== 'allowed' && reason !== 'upstream_unavailable');
    return [
      graph('Authorizer decisions: allowed', [this.decisionCount('allowed')], 6),
      graph(
        'Authorizer refusals by reason',
        refusals.map((reason) => this.decisionCount(reason)),
        10,
      ),
      graph(
        'Upstream failures (AuthKit keys, WorkOS)',
        [this.decisionCount('upstream_unavailable'), ...(workosFailures ? [workosFailures] : [])],
        8,
      ),
    ];
  }

  private functionWidgets(): cloudwatch.IWidget[] {
    const { mcpFunction, authorizerFunction, mcpReservedConcurrency } = this.props;
    const period = Duration.minutes(1);
    return [
      graph(
        'MCP function concurrency',
        [mcpFunction.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, period })],
        8,
        mcpReservedConcurrency === undefined
          ? []
          : [{ value: mcpReservedConcurrency, label: 'reserved concurrency', color: cloudwatch.Color.RED }],
      ),
      graph(
        'Function errors',
        [
          mcpFunction.metricErrors({ period: FIVE_MINUTES, label: 'MCP function' }),
          authorizerFunction.metricErrors({ period: FIVE_MINUTES, label: 'authorizer (refusals count as errors)' }),
        ],
        8,
      ),
      graph(
        'MCP function duration (ms)',
        ['p50', 'p99'].map((statistic) =>
          mcpFunction.metricDuration({ statistic, period: FIVE_MINUTES, label: statistic }),
        ),
        8,
      ),
    ];
  }

  private throttleWidgets(): cloudwatch.IWidget[] {
    const { mcpFunction } = this.props;
    const callerLimitRefusals = this.callerLimitRefusals();
    const throttles: cloudwatch.IMetric[] = [
      mcpFunction.metricThrottles({ period: FIVE_MINUTES, label: 'MCP function throttled (Lambda)' }),
      ...(callerLimitRefusals ? [callerLimitRefusals] : []),
    ];
    const widgets: cloudwatch.IWidget[] = [
      graph('Throttles', throttles, 8),
      new cloudwatch.LogQueryWidget({
        title: '429 answers by cause (access log)',
        logGroupNames: [this.props.accessLogGroup.logGroupName],
        view: cloudwatch.LogQueryVisualizationType.STACKEDAREA,
        queryLines: ['filter status = "429"', 'stats count() as answers by errorType, bin(5m)'],
        width: 8,
      }),
    ];
    const blocked = this.wafBlocked();
    if (blocked) widgets.push(graph('Requests blocked by AWS WAF', [blocked], 8));
    return widgets;
  }

  /** Requests the construct's rate-based rule blocked; undefined without the construct's web ACL. */
  private wafBlocked(): cloudwatch.Metric | undefined {
    const { webAcl } = this.props;
    if (!webAcl) return undefined;
    return new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      // The metric names the web ACL by its name, which CloudFormation generates here.
      dimensionsMap: {
        WebACL: webAcl.webAclRef.webAclName,
        Region: Stack.of(this).region,
        Rule: RATE_LIMIT_RULE_NAME,
      },
      statistic: cloudwatch.Stats.SUM,
      period: FIVE_MINUTES,
      label: `blocked by ${RATE_LIMIT_RULE_NAME}`,
    });
  }

  private createAlarms(workosFailures: cloudwatch.Metric | undefined): Record<string, cloudwatch.Alarm> {
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (id: string, alarm: cloudwatch.Alarm | undefined) => {
      if (alarm) alarms[id] = alarm;
    };
    add('AuthKitUnavailable', this.upstreamAlarm('AuthKitUnavailable', this.decisionCount('upstream_unavailable')));
    add('WorkOSUnavailable', workosFailures && this.upstreamAlarm('WorkOSUnavailable', workosFailures));
    add('Mcp5xxRate', this.mcp5xxRateAlarm());
    add('McpThrottles', this.mcpThrottlesAlarm());
    add('McpConcurrencyNearLimit', this.concurrencyAlarm());
    add('WafBlocksSpiking', this.wafBlocksAlarm());
    return alarms;
  }

  /**
   * AuthKit's keys or WorkOS unreachable for several requests in 5 minutes. The count exists only
   * when a failure happens, so missing data is "no failure" (NOT_BREACHING).
   */
  private upstreamAlarm(id: 'AuthKitUnavailable' | 'WorkOSUnavailable', metric: cloudwatch.Metric): cloudwatch.Alarm {
    const authkit = id === 'AuthKitUnavailable';
    return new cloudwatch.Alarm(this, id, {
      metric,
      threshold: authkit ? ALARM_THRESHOLDS.authkitUnavailable : ALARM_THRESHOLDS.workosUnavailable,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: authkit
        ? "The authorizer cannot fetch AuthKit's signing keys (JWKS): new tokens get 503. Check AuthKit's status and the authkitDomain."
        : 'WorkOS roles lookups fail (WorkOS unreachable, slow, or refusing the API key): role-based tools are refused. Check WorkOS status and the API key secret.',
    });
  }

  /**
   * 5xx share of `/mcp` answers over 5 minutes, counted only from a minimum of requests so that one
   * failure among three requests does not page anyone. No traffic, no data: NOT_BREACHING.
   */
  private mcp5xxRateAlarm(): cloudwatch.Alarm {
    const sum = { statistic: cloudwatch.Stats.SUM };
    const counts = this.byMcpMethod((m, s, o) => m.metricCount(s, o), sum);
    const errors = this.byMcpMethod((m, s, o) => m.metricServerError(s, o), sum);
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    counts.forEach((metric, i) => {
      usingMetrics[`requests${i}`] = metric;
    });
    errors.forEach((metric, i) => {
      usingMetrics[`errors${i}`] = metric;
    });
    const total = (prefix: string) => counts.map((_, i) => `FILL(${prefix}${i}, 0)`).join(' + ');
    const { mcp5xxMinRequests: min, mcp5xxPercent } = ALARM_THRESHOLDS;
    const rate = new cloudwatch.MathExpression({
      expression: `IF((${total('requests')}) >= ${min}, 100 * (${total('errors')}) / (${total('requests')}), 0)`,
      usingMetrics,
      period: FIVE_MINUTES,
      label: `/mcp 5xx % (from ${min} requests)`,
    });
    return new cloudwatch.Alarm(this, 'Mcp5xxRate', {
      metric: rate,
      threshold: mcp5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `More than ${mcp5xxPercent}% of /mcp answers were 5xx in 5 minutes (at least ${min} requests). Read the MCP function's log for the failing requests.`,
    });
  }

  /** Lambda refused invocations of the MCP function. Lambda reports nothing while idle: NOT_BREACHING. */
  private mcpThrottlesAlarm(): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, 'McpThrottles', {
      metric: this.props.mcpFunction.metricThrottles({ period: FIVE_MINUTES }),
      threshold: ALARM_THRESHOLDS.mcpThrottles,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Lambda throttled the MCP function: callers get 500/429. Raise mcpReservedConcurrency or the account quota, or find the caller driving the load.',
    });
  }

  /**
   * The MCP function holds 80% of its reserved concurrency for 3 minutes in a row. Without a
   * reservation there is no alarm: its limit is the account's unreserved concurrency, which synth
   * cannot know; the throttles alarm still fires when it is reached.
   */
  private concurrencyAlarm(): cloudwatch.Alarm | undefined {
    const reserved = this.props.mcpReservedConcurrency;
    if (reserved === undefined) return undefined;
    const threshold = Math.ceil(reserved * ALARM_THRESHOLDS.concurrencyShare);
    return new cloudwatch.Alarm(this, 'McpConcurrencyNearLimit', {
      metric: this.props.mcpFunction.metric('ConcurrentExecutions', {
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(1),
      }),
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The MCP function ran ${threshold} or more instances (of ${reserved} reserved) for 3 minutes: new requests will soon be throttled.`,
    });
  }

  /**
   * More blocked requests in 5 minutes than one client over its limit would cause: many clients, or
   * a flood. WAF reports nothing when nothing is blocked: NOT_BREACHING.
   */
  private wafBlocksAlarm(): cloudwatch.Alarm | undefined {
    const blocked = this.wafBlocked();
    if (!blocked) return undefined;
    const threshold = Math.max(ALARM_THRESHOLDS.wafBlocksMin, this.props.rateLimitPerIp ?? 0);
    return new cloudwatch.Alarm(this, 'WafBlocksSpiking', {
      metric: blocked,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `AWS WAF blocked ${threshold} or more requests in 5 minutes (per-IP rate limit): a flood, or a client looping. Check the access log's ip field.`,
    });
  }
}

function graph(
  title: string,
  metrics: cloudwatch.IMetric[],
  width = 8,
  annotations: cloudwatch.HorizontalAnnotation[] = [],
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width, leftAnnotations: annotations });
}
