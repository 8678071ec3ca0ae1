import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { DECISION_REASONS, decisionMetricName } from '../../lambda/shared/authorizer-decisions';
import { AuthKitMcpServer } from '../../lib/authkit-mcp-server';
import { McpHandler } from '../../lib/mcp-handler';
import {
  ALARM_THRESHOLDS,
  WORKOS_LOOKUP_FAILED_MESSAGE,
  WORKOS_LOOKUP_FAILED_METRIC,
  CALLER_LIMIT_REFUSAL_REASON,
  CALLER_LIMIT_REFUSED_METRIC,
  REQUEST_LOG_MESSAGE,
  WORKOS_UNAVAILABLE_CODE,
} from '../../lib/monitoring';
import { serverStack, testApp } from './fixtures';

/**
 * The AWS service metrics the dashboard and alarms may name, each namespace with the AWS page that
 * documents its metrics and dimensions. A metric outside this list and outside the code's own
 * metrics fails the test below: a chart of a metric nobody emits stays empty without a word.
 */
const AWS_SERVICE_METRICS: Record<string, { doc: string; metrics: string[]; dimensions: string[] }> = {
  'AWS/ApiGateway': {
    doc: 'https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html',
    metrics: ['Count', '4XXError', '5XXError', 'Latency', 'IntegrationLatency'],
    dimensions: ['ApiName', 'Stage', 'Method', 'Resource'],
  },
  'AWS/Lambda': {
    doc: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html',
    metrics: ['ConcurrentExecutions', 'Throttles', 'Errors', 'Duration'],
    dimensions: ['FunctionName'],
  },
  'AWS/WAFV2': {
    doc: 'https://docs.aws.amazon.com/waf/latest/developerguide/monitoring-cloudwatch.html',
    metrics: ['BlockedRequests'],
    dimensions: ['WebACL', 'Region', 'Rule'],
  },
};

const source = (path: string) => readFileSync(join(__dirname, '../..', path), 'utf8');

interface NamedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, unknown>;
  readonly options: Record<string, unknown>;
}

interface Widget {
  readonly type: string;
  readonly properties: {
    title: string;
    metrics?: unknown[][];
    query?: string;
    annotations?: { horizontal?: { value: number; label: string }[] };
  };
}

/** The dashboard body as JSON, each CloudFormation token inside it written as `TOKEN`. */
function dashboardWidgets(template: Template): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0].Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

/** A dashboard metric row: namespace, name, dimension pairs, then an options object. */
function widgetMetric(row: unknown[]): NamedMetric | undefined {
  if (typeof row[0] !== 'string') return undefined; // a math expression row
  const last = row[row.length - 1];
  const options = typeof last === 'object' && last !== null ? (last as Record<string, unknown>) : {};
  const pairs = row.slice(2, typeof last === 'object' ? -1 : undefined) as string[];
  const dimensions: Record<string, unknown> = {};
  for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]] = pairs[i + 1];
  return { namespace: row[0], name: row[1] as string, dimensions, options };
}

function widget(widgets: Widget[], title: string): Widget {
  const found = widgets.find((w) => w.properties.title === title);
  if (!found) throw new Error(`no widget "${title}" among ${widgets.map((w) => w.properties.title).join(', ')}`);
  return found;
}

const metricsOf = (w: Widget): NamedMetric[] =>
  (w.properties.metrics ?? []).map(widgetMetric).filter((m): m is NamedMetric => m !== undefined);

interface CfnMetric {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: unknown }[];
}

/** Every metric an alarm reads, directly or inside a math expression. */
function alarmMetrics(template: Template): NamedMetric[] {
  const named: NamedMetric[] = [];
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = alarm.Properties as CfnMetric & { Metrics?: { MetricStat?: { Metric: CfnMetric } }[] };
    const metrics: CfnMetric[] = p.MetricName
      ? [p]
      : (p.Metrics ?? []).flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []));
    for (const m of metrics) {
      const dimensions = Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      named.push({ namespace: m.Namespace, name: m.MetricName, dimensions, options: {} });
    }
  }
  return named;
}

function alarmProps(stack: Stack, server: AuthKitMcpServer, id: string, template: Template): Record<string, unknown> {
  const alarm = server.monitoring?.alarms[id];
  if (!alarm) throw new Error(`no alarm ${id}`);
  const logicalId = stack.getLogicalId(alarm.node.defaultChild as cloudwatch.CfnAlarm);
  return template.toJSON().Resources[logicalId].Properties;
}

describe('the stage dashboard and alarms', () => {
  // One stack with the construct's web ACL and a reservation, so that every widget and alarm exists; synthesized once.
  let stack: Stack;
  let server: AuthKitMcpServer;
  let template: Template;
  let widgets: Widget[];
  beforeAll(() => {
    ({ stack, server, template } = serverStack({ rateLimitPerIp: 500, mcpReservedConcurrency: 100 }));
    widgets = dashboardWidgets(template);
  });

  it('charts requests, 4xx and 5xx for each /mcp method (detailed metrics) and the whole stage', () => {
    for (const [title, name] of [
      ['Requests by route', 'Count'],
      ['4xx by route', '4XXError'],
      ['5xx by route', '5XXError'],
    ]) {
      const metrics = metricsOf(widget(widgets, title));
      expect(metrics.map((m) => [m.name, m.dimensions.Method ?? 'stage', m.dimensions.Resource ?? '-'])).toEqual([
        [name, 'POST', '/mcp'],
        [name, 'GET', '/mcp'],
        [name, 'DELETE', '/mcp'],
        [name, 'stage', '-'],
      ]);
      for (const m of metrics) {
        expect(m.namespace).toBe('AWS/ApiGateway');
        expect(m.options.stat).toBe('Sum');
        expect(Object.keys(m.dimensions)).toEqual(expect.arrayContaining(['ApiName', 'Stage']));
      }
    }
    // Method and Resource dimensions exist only with detailed metrics, which the stage turns on for every method.
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [{ HttpMethod: '*', ResourcePath: '/*', MetricsEnabled: true, DataTraceEnabled: false }],
    });
  });

  it('charts latency and integration latency at p50 and p99, and streamed time to first byte from the access log', () => {
    const latency = metricsOf(widget(widgets, 'Latency (ms), whole stage'));
    expect(latency.map((m) => `${m.name} ${m.options.stat}`)).toEqual([
      'Latency p50',
      'Latency p99',
      'IntegrationLatency p50',
      'IntegrationLatency p99',
    ]);
    const ttfb = widget(widgets, 'Time to first byte of streamed answers (ms, access log)');
    expect(ttfb.type).toBe('log');
    expect(ttfb.properties.query).toContain('filter responseTransferMode = "STREAMED"');
    expect(ttfb.properties.query).toContain('pct(timeToFirstContent, 50)');
    expect(ttfb.properties.query).toContain('pct(timeToFirstContent, 99)');
  });

  it('charts every authorizer decision reason, and the upstream failures apart', () => {
    const charted = [
      ...metricsOf(widget(widgets, 'Authorizer decisions: allowed')),
      ...metricsOf(widget(widgets, 'Authorizer refusals by reason')),
      ...metricsOf(widget(widgets, 'Upstream failures (AuthKit keys, WorkOS)')),
    ];
    const decisions = charted.filter((m) => m.name.startsWith('token_'));
    expect(decisions.map((m) => m.name).sort()).toEqual(DECISION_REASONS.map(decisionMetricName).sort());
    for (const m of charted) {
      expect(m.namespace).toBe('McpServer');
      expect(m.options.stat).toBe('Sum');
    }
    expect(decisions[0].dimensions).toEqual({ service: 'mcp-server-authorizer' });
    expect(charted.find((m) => m.name === WORKOS_LOOKUP_FAILED_METRIC)?.dimensions).toEqual({ service: 'mcp-server' });
  });

  it('reads the namespace and service names the functions are given to write under', () => {
    const { template: custom, server: customServer } = serverStack({
      serviceName: 'tools',
      metricsNamespace: 'Acme/Mcp',
    });
    const environmentOf = (fn: lambda.IFunction) =>
      custom.toJSON().Resources[Stack.of(fn).getLogicalId(fn.node.defaultChild as lambda.CfnFunction)].Properties
        .Environment.Variables as Record<string, string>;
    const charted = dashboardWidgets(custom).flatMap(metricsOf);
    const [decision] = charted.filter((m) => m.name === decisionMetricName('expired'));
    const [workos] = charted.filter((m) => m.name === WORKOS_LOOKUP_FAILED_METRIC);
    // The authorizer's Powertools Metrics take both from its environment; the MCP function's logger its service.
    const authorizerEnv = environmentOf(customServer.authorizerFunction);
    expect([decision.namespace, decision.dimensions.service]).toEqual([
      authorizerEnv.POWERTOOLS_METRICS_NAMESPACE,
      authorizerEnv.POWERTOOLS_SERVICE_NAME,
    ]);
    expect([workos.namespace, workos.dimensions.service]).toEqual([
      'Acme/Mcp',
      environmentOf(customServer.mcpFunction).POWERTOOLS_SERVICE_NAME,
    ]);
  });

  it('charts MCP concurrency against its reservation, throttles, errors, duration and WAF blocks', () => {
    const concurrency = widget(widgets, 'MCP function concurrency');
    expect(metricsOf(concurrency).map((m) => [m.namespace, m.name, m.options.stat])).toEqual([
      ['AWS/Lambda', 'ConcurrentExecutions', 'Maximum'],
    ]);
    expect(concurrency.properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: 100, label: 'reserved concurrency' }),
    ]);
    expect(metricsOf(widget(widgets, 'Throttles')).map((m) => m.name)).toEqual([
      'Throttles',
      CALLER_LIMIT_REFUSED_METRIC,
    ]);
    expect(metricsOf(widget(widgets, 'Function errors')).map((m) => m.name)).toEqual(['Errors', 'Errors']);
    expect(metricsOf(widget(widgets, 'MCP function duration (ms)')).map((m) => m.options.stat)).toEqual(['p50', 'p99']);
    const [blocked] = metricsOf(widget(widgets, 'Requests blocked by AWS WAF'));
    expect([blocked.namespace, blocked.name, blocked.dimensions.Rule]).toEqual([
      'AWS/WAFV2',
      'BlockedRequests',
      'RateLimitPerIp',
    ]);
    expect(Object.keys(blocked.dimensions).sort()).toEqual(['Region', 'Rule', 'WebACL']);
    expect(widget(widgets, '429 answers by cause (access log)').properties.query).toContain('filter status = "429"');
  });

  it('counts failed WorkOS lookups from the MCP function log line that reports them', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: `{ ($.message = "${WORKOS_LOOKUP_FAILED_MESSAGE}") && ($.code = "${WORKOS_UNAVAILABLE_CODE}") }`,
      MetricTransformations: [
        {
          MetricName: WORKOS_LOOKUP_FAILED_METRIC,
          MetricNamespace: 'McpServer',
          MetricValue: '1',
          Dimensions: [{ Key: 'service', Value: '$.service' }],
        },
      ],
    });
  });

  it('counts the per-caller limit refusals from the MCP function request log lines and charts them with the throttles', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: `{ ($.message = "${REQUEST_LOG_MESSAGE}") && (($.status = 429) || ($.reason = "${CALLER_LIMIT_REFUSAL_REASON}*")) }`,
      MetricTransformations: [
        {
          MetricName: CALLER_LIMIT_REFUSED_METRIC,
          MetricNamespace: 'McpServer',
          MetricValue: '1',
          Dimensions: [{ Key: 'service', Value: '$.service' }],
        },
      ],
    });
    expect(metricsOf(widget(widgets, 'Throttles')).map((m) => m.name)).toEqual([
      'Throttles',
      CALLER_LIMIT_REFUSED_METRIC,
    ]);
  });

  it.each([
    [
      'AuthKitUnavailable',
      'token_upstream_unavailable',
      ALARM_THRESHOLDS.authkitUnavailable,
      'GreaterThanOrEqualToThreshold',
      1,
    ],
    [
      'WorkOSUnavailable',
      WORKOS_LOOKUP_FAILED_METRIC,
      ALARM_THRESHOLDS.workosUnavailable,
      'GreaterThanOrEqualToThreshold',
      1,
    ],
    ['McpThrottles', 'Throttles', ALARM_THRESHOLDS.mcpThrottles, 'GreaterThanOrEqualToThreshold', 1],
    ['McpConcurrencyNearLimit', 'ConcurrentExecutions', 80, 'GreaterThanOrEqualToThreshold', 3],
    ['WafBlocksSpiking', 'BlockedRequests', 500, 'GreaterThanOrEqualToThreshold', 1],
  ])('alarms %s on %s at %d (%s, %d periods), quiet when no data', (id, metric, threshold, comparison, periods) => {
    const props = alarmProps(stack, server, id, template);
    expect(props).toMatchObject({
      Threshold: threshold,
      ComparisonOperator: comparison,
      EvaluationPeriods: periods,
      TreatMissingData: 'notBreaching',
    });
    // A metric with a label is written in the Metrics form, one MetricStat returning the data.
    const single = props.MetricName
      ? { name: props.MetricName, period: props.Period }
      : (() => {
          const [only] = props.Metrics as { MetricStat: { Metric: CfnMetric; Period: number } }[];
          return { name: only.MetricStat.Metric.MetricName, period: only.MetricStat.Period };
        })();
    expect(single).toEqual({ name: metric, period: id === 'McpConcurrencyNearLimit' ? 60 : 300 });
  });

  it("names the construct's web ACL by the name CloudFormation gives it, and its rate rule", () => {
    const props = alarmProps(stack, server, 'WafBlocksSpiking', template) as {
      Metrics: { MetricStat: { Metric: CfnMetric } }[];
    };
    const dimensions = Object.fromEntries(
      props.Metrics[0].MetricStat.Metric.Dimensions?.map((d) => [d.Name, d.Value]) ?? [],
    );
    const webAclId = stack.getLogicalId(server.webAcl as CfnWebACL);
    // AWS::WAFv2::WebACL's Ref is `name|id|scope`.
    expect(dimensions).toEqual({
      WebACL: { 'Fn::Select': [0, { 'Fn::Split': ['|', { Ref: webAclId }] }] },
      Region: { Ref: 'AWS::Region' },
      Rule: 'RateLimitPerIp',
    });
  });

  it('alarms on a /mcp 5xx share above 5% over 5 minutes from 20 requests', () => {
    const props = alarmProps(stack, server, 'Mcp5xxRate', template) as {
      Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: CfnMetric; Period: number; Stat: string } }[];
    };
    expect(props).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    const [expression, ...inputs] = props.Metrics;
    const requests = inputs.filter((m) => m.MetricStat?.Metric.MetricName === 'Count').map((m) => m.Id);
    const errors = inputs.filter((m) => m.MetricStat?.Metric.MetricName === '5XXError').map((m) => m.Id);
    expect([requests.length, errors.length]).toEqual([3, 3]);
    const total = (ids: string[]) => ids.map((i) => `FILL(${i}, 0)`).join(' + ');
    expect(expression.Expression).toBe(
      `IF((${total(requests)}) >= 20, 100 * (${total(errors)}) / (${total(requests)}), 0)`,
    );
    for (const input of inputs) expect(input.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum' });
  });

  it('names only metrics the code emits or AWS documents', () => {
    const named = [...dashboardWidgetsMetrics(widgets), ...alarmMetrics(template)];
    expect(named.length).toBeGreaterThan(20);
    const authorizer = source('lambda/authorizer/index.ts');
    const workosAccess = source('lambda/runtime/workos-access.ts');
    // The authorizer counts each decision under decisionMetricName(reason), the names charted here.
    expect(authorizer).toMatch(/metrics\.addMetric\(decisionMetricName\(reason\), MetricUnit\.Count, 1\)/);
    // The WorkOS filter's message and code are the ones workos-access.ts logs.
    expect(workosAccess).toContain(`logger.warn('${WORKOS_LOOKUP_FAILED_MESSAGE}'`);
    expect(workosAccess).toContain(`code: '${WORKOS_UNAVAILABLE_CODE}'`);
    // The per-caller limit filter's message and reason are the ones the runtime logs.
    expect(source('lambda/runtime/request-log.ts')).toContain(`REQUEST_LOG_MESSAGE = '${REQUEST_LOG_MESSAGE}'`);
    expect(source('lambda/runtime/lease-step.ts')).toContain(`\`${CALLER_LIMIT_REFUSAL_REASON}: the caller holds`);
    const emitted = new Set([
      ...DECISION_REASONS.map(decisionMetricName),
      WORKOS_LOOKUP_FAILED_METRIC,
      CALLER_LIMIT_REFUSED_METRIC,
    ]);
    for (const metric of named) {
      const where = `${metric.namespace} ${metric.name}`;
      const service = AWS_SERVICE_METRICS[metric.namespace];
      if (metric.namespace.startsWith('AWS/')) {
        expect({ where, listed: service?.metrics.includes(metric.name) ?? false }).toEqual({ where, listed: true });
        for (const dimension of Object.keys(metric.dimensions))
          expect({ where, dimension, listed: service.dimensions.includes(dimension) }).toMatchObject({ listed: true });
      } else {
        expect({ where, emitted: emitted.has(metric.name) }).toEqual({ where, emitted: true });
      }
    }
  });

  it('reads only access-log fields the stage writes in its Logs Insights queries', () => {
    const stageProps = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    const fields = Object.keys(JSON.parse(stageProps.AccessLogSetting.Format as string) as object);
    const queries = widgets.filter((w) => w.type === 'log').map((w) => w.properties.query ?? '');
    expect(queries).toHaveLength(2);
    const read = queries.flatMap((q) =>
      [...q.matchAll(/\b(?:filter|pct\(|by)\s*([A-Za-z]+)/g)].map((m) => m[1]).filter((f) => f !== 'bin'),
    );
    expect(read.length).toBeGreaterThan(3);
    for (const field of read) expect({ field, written: fields.includes(field) }).toEqual({ field, written: true });
  });
});

function dashboardWidgetsMetrics(widgets: Widget[]): NamedMetric[] {
  return widgets.flatMap(metricsOf);
}

describe('the access log', () => {
  it('records the streaming fields API Gateway documents', () => {
    const { template } = serverStack({ monitoring: false });
    const stageProps = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0].Properties;
    expect(JSON.parse(stageProps.AccessLogSetting.Format as string)).toMatchObject({
      responseTransferMode: '$context.integration.responseTransferMode',
      timeToAllHeaders: '$context.integration.timeToAllHeaders',
      timeToFirstContent: '$context.integration.timeToFirstContent',
    });
    // monitoring: false → nothing of the monitoring is created.
    for (const type of ['AWS::CloudWatch::Dashboard', 'AWS::CloudWatch::Alarm', 'AWS::Logs::MetricFilter'])
      template.resourceCountIs(type, 0);
  });
});

describe('monitoring options', () => {
  it('sends every alarm to the given actions, on alarm and on recovery', () => {
    const stack = new Stack(testApp(), 'TestStack');
    const topic = new sns.Topic(stack, 'AlarmTopic');
    new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      mcpReservedConcurrency: 100,
      alarmActions: [new SnsAction(topic)],
    });
    const template = Template.fromStack(stack);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // AuthKit, WorkOS, 5xx, throttles, concurrency; no WAF alarm without the construct's web ACL.
    expect(alarms).toHaveLength(5);
    const topicRef = [{ Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) }];
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual(topicRef);
      expect(alarm.Properties.OKActions).toEqual(topicRef);
    }
  });

  it('skips the WorkOS filter and the concurrency alarm for a function passed in, whose log and reservation it does not own', () => {
    const stack = new Stack(testApp(), 'TestStack');
    const own = new lambda.Function(stack, 'Own', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    new AuthKitMcpServer(stack, 'McpServer', {
      authkitDomain: 'acme.authkit.app',
      mcpHandler: McpHandler.fromFunction(own),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    const descriptions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.AlarmDescription as string,
    );
    // AuthKit, 5xx, throttles.
    expect(descriptions).toHaveLength(3);
    expect(descriptions.join('\n')).not.toMatch(/reserved|WorkOS/);
  });

  it.each([
    ['reserves none (the default)', {}],
    ['sets false', { mcpReservedConcurrency: false as const }],
  ])('has no concurrency alarm when the MCP function %s', (_, props) => {
    const { server } = serverStack(props);
    expect(Object.keys(server.monitoring?.alarms ?? {}).sort()).toEqual([
      'AuthKitUnavailable',
      'Mcp5xxRate',
      'McpThrottles',
      'WorkOSUnavailable',
    ]);
  });
});
