/**
 * A CDK app for the streaming tests of the local gateway: one small streaming function
 * (`awslambda.streamifyResponse`) behind a STREAM integration and behind a BUFFERED one, a
 * buffered function behind a STREAM integration, and two functions that report the Node.js
 * version they run on (nodejs22.x and nodejs24.x). The handlers are plain JavaScript written next
 * to the assembly and synthesized with a real `cdk synth`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type FixtureAssembly, tempDir } from './fixture-app';

/** `TimeoutInMillis` of the streamed method: short, so the timeout test does not wait long. */
export const STREAM_INTEGRATION_TIMEOUT_MS = 4000;

/**
 * Each query `mode` exercises one behaviour. Writes carry the time they were made (`t`), so a test
 * can measure how long each took to reach the client.
 */
const STREAMING_SOURCE = `
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sse = (stream, extra) => awslambda.HttpResponseStream.from(stream, {
  statusCode: 200, headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }, ...extra });
const event = (fields) => 'data: ' + JSON.stringify({ ...fields, t: Date.now() }) + '\\n\\n';

exports.handler = awslambda.streamifyResponse(async (request, responseStream, context) => {
  const query = request.queryStringParameters || {};
  const mode = query.mode || 'events';
  if (mode === 'events') {
    const stream = sse(responseStream);
    const count = Number(query.count || 3);
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(Number(query.gapMs || 300));
      stream.write(event({ i }));
    }
    stream.end();
    return;
  }
  if (mode === 'metadata') {
    const stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-Single': 'one', 'WWW-Authenticate': 'Bearer realm="x"' },
      multiValueHeaders: { 'X-Multi': ['a', 'b'] },
      cookies: ['a=1; Path=/', 'b=2; Path=/'],
    });
    stream.write('hello ');
    stream.write({ json: true });
    stream.end();
    return;
  }
  if (mode === 'throw-mid') {
    const stream = sse(responseStream);
    stream.write(event({ i: 0 }));
    await sleep(200);
    throw new Error('failed mid-stream on purpose');
  }
  if (mode === 'throw-before') throw new Error('failed before writing on purpose');
  if (mode === 'big-prelude') {
    const stream = sse(responseStream, { headers: { 'X-Big': 'x'.repeat(17 * 1024) } });
    stream.write('never delivered');
    stream.end();
    return;
  }
  if (mode === 'number-header') {
    const stream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200, headers: { 'X-Count': 3 } });
    stream.write('never delivered');
    stream.end();
    return;
  }
  if (mode === 'no-prelude') {
    responseStream.setContentType('text/plain');
    responseStream.write('plain bytes, no prelude');
    responseStream.end();
    return;
  }
  if (mode === 'end-with-body') {
    const stream = sse(responseStream);
    stream.end('the only chunk, given to end()');
    return;
  }
  if (mode === 'late-content-type') {
    responseStream.write('x');
    try { responseStream.setContentType('text/plain'); } catch (error) { console.log('setContentType after write: ' + error.name + ': ' + error.message); }
    responseStream.end();
    return;
  }
  if (mode === 'silent-then-write') {
    const stream = sse(responseStream);
    stream.write(event({ i: 0 }));
    await sleep(Number(query.silentMs));
    stream.write(event({ i: 1 }));
    stream.end();
    return;
  }
  if (mode === 'silent-first') {
    await sleep(Number(query.silentMs));
    sse(responseStream).end();
    return;
  }
  if (mode === 'steady') {
    // Writes every 300 ms for longer than the integration timeout, so only that timeout stops it.
    const stream = sse(responseStream);
    for (let i = 0; i < 30; i++) { stream.write(event({ i })); await sleep(300); }
    stream.end();
    return;
  }
  if (mode === 'until-disconnect') {
    const tag = query.tag;
    let closedAt;
    responseStream.on('close', () => { if (!responseStream.writableFinished) closedAt = Date.now(); });
    const stream = sse(responseStream);
    let writes = 0;
    for (; writes < 40 && closedAt === undefined; writes++) { stream.write(event({ i: writes })); await sleep(100); }
    stream.end();
    console.log('disconnect-probe ' + JSON.stringify({ tag, writes, sawClose: closedAt !== undefined, destroyed: responseStream.destroyed }));
    return;
  }
  if (mode === 'proxy-json') {
    // Through a BUFFERED integration, Lambda's Invoke returns the streamed bytes as the result.
    responseStream.write('{"statusCode":202,');
    responseStream.write('"body":"collected from two writes"}');
    responseStream.end();
    return;
  }
  throw new Error('unknown mode ' + mode);
});
`;

const BUFFERED_SOURCE = `
exports.handler = async () => ({ statusCode: 200, headers: { 'Content-Type': 'text/plain' }, body: 'a buffered handler' });
`;

const VERSION_SOURCE = `
exports.handler = async () => ({
  statusCode: 200,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ version: process.version, execPath: process.execPath, executionEnv: process.env.AWS_EXECUTION_ENV }),
});
`;

function handlerDir(root: string, name: string, source: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.js'), source);
  return dir;
}

export function synthStreamingFixture(): FixtureAssembly {
  const dir = tempDir('gateway-streaming-');
  const cdkOut = path.join(dir, 'cdk.out');
  const app = new cdk.App({ outdir: cdkOut });
  const stack = new cdk.Stack(app, 'GatewayStreaming');
  const fn = (id: string, source: string, runtime: lambda.Runtime, timeout = cdk.Duration.seconds(10)) =>
    new lambda.Function(stack, id, {
      runtime,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(handlerDir(dir, id, source)),
      timeout,
    });

  const streaming = fn('StreamingFn', STREAMING_SOURCE, lambda.Runtime.NODEJS_24_X);
  // Its own Timeout falls before the integration timeout.
  const shortLived = fn('ShortStreamingFn', STREAMING_SOURCE, lambda.Runtime.NODEJS_24_X, cdk.Duration.seconds(2));
  const buffered = fn('BufferedFn', BUFFERED_SOURCE, lambda.Runtime.NODEJS_24_X);
  const node22 = fn('Node22Fn', VERSION_SOURCE, lambda.Runtime.NODEJS_22_X);
  const node24 = fn('Node24Fn', VERSION_SOURCE, lambda.Runtime.NODEJS_24_X);

  const api = new apigw.RestApi(stack, 'Api', { deployOptions: { stageName: 'stream' } });
  const stream = {
    responseTransferMode: apigw.ResponseTransferMode.STREAM,
    timeout: cdk.Duration.millis(STREAM_INTEGRATION_TIMEOUT_MS),
  };
  api.root.addResource('stream').addMethod('GET', new apigw.LambdaIntegration(streaming, stream));
  api.root.addResource('stream-short').addMethod('GET', new apigw.LambdaIntegration(shortLived, stream));
  api.root.addResource('buffered-streaming-handler').addMethod('GET', new apigw.LambdaIntegration(streaming));
  api.root.addResource('stream-buffered-handler').addMethod('GET', new apigw.LambdaIntegration(buffered, stream));
  api.root.addResource('node22').addMethod('GET', new apigw.LambdaIntegration(node22));
  api.root.addResource('node24').addMethod('GET', new apigw.LambdaIntegration(node24));

  app.synth();
  return { dir, cdkOut, stackName: stack.stackName, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
