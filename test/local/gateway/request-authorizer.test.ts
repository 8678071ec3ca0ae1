/**
 * REQUEST authorizers at the local gateway, as the cited AWS behaviour has them: every identity
 * source present and non-empty or 401 without an invocation, the request's headers (never its
 * body) in the event, a cache keyed by the identity sources (none with TTL 0), and a Deny's
 * context readable as `$context.authorizer.<key>` by the ACCESS_DENIED gateway response's body.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type RunningGateway, startGateway } from '../../../local/gateway';
import { type FixtureAssembly, synthVariant } from './fixture-app';

jest.setTimeout(60_000);

/** Allows unless the `X-Tool` header names `admin`; counts its invocations; echoes what it saw. */
const AUTHORIZER_SOURCE = `
let invocations = 0;
exports.handler = async (event) => {
  invocations++;
  const [arnPrefix, stage] = event.methodArn.split('/');
  const policy = (effect) => ({ Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: arnPrefix + '/' + stage + '/*/*' }] });
  if (event.headers['X-Tool'] === 'admin')
    return { principalId: 'p', policyDocument: policy('Deny'), context: { requiredScope: 'mcp:admin', invocations } };
  return { principalId: 'p', policyDocument: policy('Allow'), context: { invocations, type: event.type,
    sawBody: 'body' in event, key: event.headers['X-Key'], tool: event.headers['X-Tool'] || '' } };
};
`;

const ECHO_SOURCE = `exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event.requestContext.authorizer) });`;

function synth(ttl: number): FixtureAssembly {
  return synthVariant((stack, api) => {
    const handler = new lambda.Function(stack, 'AuthFn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(AUTHORIZER_SOURCE),
    });
    const echo = new lambda.Function(stack, 'EchoFn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(ECHO_SOURCE),
    });
    const authorizer = new apigw.RequestAuthorizer(stack, 'RequestAuth', {
      handler,
      identitySources: [apigw.IdentitySource.header('X-Key')],
      resultsCacheTtl: Duration.seconds(ttl),
    });
    api.root.addMethod('POST', new apigw.LambdaIntegration(echo), { authorizer });
    api.addGatewayResponse('Denied', {
      type: apigw.ResponseType.ACCESS_DENIED,
      statusCode: '403',
      responseHeaders: { 'WWW-Authenticate': `'Bearer error="insufficient_scope"'` },
      templates: { 'application/json': '{"required_scope":"$context.authorizer.requiredScope"}' },
    });
  });
}

describe.each([
  ['without a cache (TTL 0)', 0],
  ['with a cache keyed by the identity sources', 300],
])('a REQUEST authorizer %s', (_name, ttl) => {
  let assembly: FixtureAssembly;
  let gateway: RunningGateway;
  const post = (headers: Record<string, string>) =>
    fetch(`${gateway.url}/`, { method: 'POST', headers, body: '{"secret":"never in the event"}' });

  beforeAll(async () => {
    assembly = synth(ttl);
    gateway = await startGateway({
      cdkOut: assembly.cdkOut,
      port: 0,
      log: () => undefined,
      onFunctionOutput: () => undefined,
    });
  });
  afterAll(async () => {
    await gateway?.stop();
    assembly?.cleanup();
  });

  it('answers 401 without an invocation when an identity source is missing', async () => {
    const before = gateway.stats().authorizerCache.misses;
    const response = await post({ 'X-Tool': 'admin' });
    expect(response.status).toBe(401);
    expect(gateway.stats().authorizerCache.misses).toEqual(before);
  });

  it('passes the request headers, not the body, and caches only when the TTL says so', async () => {
    const first = await (await post({ 'X-Key': 'k1', 'X-Tool': 'a' })).json();
    const second = await (await post({ 'X-Key': 'k1', 'X-Tool': 'b' })).json();

    expect(first).toMatchObject({ type: 'REQUEST', sawBody: 'false', key: 'k1', tool: 'a' });
    // With a cache, the second request with the same X-Key gets the first decision, whatever X-Tool says.
    expect(second.tool).toBe(ttl === 0 ? 'b' : 'a');
    expect(Number(second.invocations)).toBe(ttl === 0 ? Number(first.invocations) + 1 : Number(first.invocations));
  });

  it("fills the ACCESS_DENIED body from the Deny's context and keeps the static header", async () => {
    const response = await post({ 'X-Key': 'k2', 'X-Tool': 'admin' });

    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"');
    expect(await response.json()).toEqual({ required_scope: 'mcp:admin' });
  });
});
