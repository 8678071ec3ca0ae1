/**
 * The `Accept` check reads media ranges, not substrings: the client must list `application/json`
 * and `text/event-stream` by name (Streamable HTTP), each with a weight above 0. A type whose name
 * merely starts with one of them, a `q=0`, or a wildcard that lists neither by name gets 406, as
 * the MCP SDK's transport answers a wildcard.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { createMcpLambdaHandler } from '../../../lambda/runtime/handler';
import { mediaRangesOf } from '../../../lambda/runtime/media-types';
import { createSampleServer, SAMPLE_TOOLS } from '../../../lambda/mcp/server';
import { mcpEvent, modernRequest, PUBLIC_BASE_URL, replyOf } from './fixtures';

const handler = createMcpLambdaHandler(createSampleServer, {
  tools: SAMPLE_TOOLS,
  publicBaseUrl: PUBLIC_BASE_URL,
  logger: new Logger({ serviceName: 'accept-test', logLevel: 'SILENT' }),
  responseTransferMode: 'buffered',
});

async function statusFor(accept: string) {
  const request = modernRequest('tools/list', {}, 7);
  const result = await handler(mcpEvent(request.body, { headers: { ...request.headers, Accept: accept } }));
  return { status: result.statusCode, reply: replyOf(result) };
}

describe('Accept', () => {
  it.each([
    ['application/jsonfoo, text/event-stream', 'a type that only starts with application/json'],
    ['application/json, text/event-streamx', 'a type that only starts with text/event-stream'],
    ['application/json;q=0, text/event-stream', 'application/json refused with q=0'],
    ['application/json, text/event-stream; q=0.000', 'text/event-stream refused with q=0.000'],
    ['application/json, text/event-stream, application/json;q=0', 'application/json also refused with q=0'],
    ['*/*', 'a wildcard for every type'],
    ['application/*, text/*', 'wildcards for both types'],
    ['application/json, text/*', 'text/event-stream only through a wildcard'],
    ['application/json, text/event-stream;q=2', 'a weight above 1 (malformed)'],
    ['application/json/x, text/event-stream', 'a range with two slashes'],
    ['x-application/json, text/event-stream', 'another type whose name ends with application/json'],
  ])('refuses %j (%s) with 406', async (accept) => {
    const { status, reply } = await statusFor(accept);
    expect(status).toBe(406);
    expect(reply.error).toMatchObject({ code: -32000, message: expect.stringMatching(/^Not Acceptable/) });
  });

  it.each([
    ['application/json, text/event-stream', 'both, as the SDK client sends them'],
    ['text/event-stream, application/json', 'both, the other way round'],
    ['Application/JSON, TEXT/Event-Stream', 'both, in other letter cases'],
    ['application/json;q=0.5, text/event-stream;q=0.001', 'both with weights above 0'],
    ['application/json; charset=utf-8, text/event-stream; charset="utf-8"', 'both with parameters'],
    ['*/*;q=0.1, application/json, text/event-stream', 'both by name beside a wildcard'],
    ['application/json,text/event-stream,', 'both, with an empty element'],
  ])('serves %j (%s)', async (accept) => {
    const { status, reply } = await statusFor(accept);
    expect(status).toBe(200);
    expect(reply.result?.tools).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'whoami' })]));
  });

  it('judges each value on its own, whatever value passed on the request before', async () => {
    const passing = 'application/json, text/event-stream';
    const refused = 'application/json;q=0, text/event-stream';
    expect((await statusFor(passing)).status).toBe(200);
    expect((await statusFor(refused)).status).toBe(406);
    expect((await statusFor(passing)).status).toBe(200);
    expect((await statusFor(`${passing}x`)).status).toBe(406);
    expect((await statusFor(passing)).status).toBe(200);
  });

  it('keeps an escaped quote inside a quoted parameter', () => {
    expect(mediaRangesOf('text/plain; note="a \\" , b", application/json')).toEqual([
      { essence: 'text/plain', q: 1 },
      { essence: 'application/json', q: 1 },
    ]);
  });

  it('reads quoted parameters without splitting inside them', () => {
    expect(mediaRangesOf('text/plain; note="a, b; q=0", application/json;q=0.5')).toEqual([
      { essence: 'text/plain', q: 1 },
      { essence: 'application/json', q: 0.5 },
    ]);
  });
});
