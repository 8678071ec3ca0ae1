/**
 * The conformance fixture's Lambda entry, driven in process by the SDK's own client in both protocol
 * eras: each request becomes the proxy event API Gateway would deliver (with the authorizer's context).
 * The 2026-07-28 multi-round-trip fixtures have their own test (fixture-input-required.test.ts).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { McpLambdaHandler } from '../../lambda/runtime';
import { proxyEventFromRequest, publicBaseOf, responseFromProxyResult } from '../../lambda/runtime/adapter';
import { authorizerContext, PUBLIC_BASE_URL, RESOURCE, TOKEN } from '../lambda/runtime/fixtures';

type ContentBlock = {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  resource?: { uri: string; text?: string };
};

/** Loads the Lambda entry as Lambda would: a fresh module reading the construct's environment at import. */
function loadFixtureHandler(): McpLambdaHandler {
  const saved = { ...process.env };
  Object.assign(process.env, { PUBLIC_BASE_URL, POWERTOOLS_LOG_LEVEL: 'SILENT' });
  try {
    let handler: McpLambdaHandler | undefined;
    jest.isolateModules(() => {
      handler = (require('./fixture-server') as { handler: McpLambdaHandler }).handler;
    });
    return handler as McpLambdaHandler;
  } finally {
    process.env = saved;
  }
}

async function connect(handler: McpLambdaHandler, mode: 'legacy' | 'auto'): Promise<Client> {
  const base = publicBaseOf(PUBLIC_BASE_URL);
  const client = new Client(
    { name: 'fixture-test-client', version: '1.0.0' },
    { versionNegotiation: { mode }, capabilities: { elicitation: { form: {} }, sampling: {} } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(RESOURCE), {
    fetch: async (url: string | URL, init?: RequestInit) => {
      const event = await proxyEventFromRequest(new Request(url, init), base, { authorizer: authorizerContext() });
      return responseFromProxyResult(await handler(event));
    },
    requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
  });
  await client.connect(transport);
  return client;
}

const contentOf = (result: { content?: unknown }) => (result.content ?? []) as ContentBlock[];

describe.each([
  ['2025-11-25', 'legacy'],
  ['2026-07-28', 'auto'],
] as const)('the conformance fixture server, to a client negotiating %s', (revision, mode) => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(loadFixtureHandler(), mode);
  });
  afterAll(async () => {
    await client.close();
  });

  it('negotiates the revision', () => {
    expect(client.getNegotiatedProtocolVersion()).toBe(revision);
  });

  it('lists every tool with a description and an input schema, keeping JSON Schema 2020-12 keywords', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(
      expect.arrayContaining([
        'test_simple_text',
        'test_image_content',
        'test_audio_content',
        'test_embedded_resource',
        'test_multiple_content_types',
        'test_error_handling',
        'test_tool_with_logging',
        'test_tool_with_progress',
        'test_sampling',
        'test_elicitation',
        'json_schema_2020_12_tool',
      ]),
    );
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema).toMatchObject({ type: 'object' });
    }
    expect(tools.find((tool) => tool.name === 'json_schema_2020_12_tool')?.inputSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $defs: { address: { type: 'object', $anchor: 'addressDef' } },
      allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
      if: { required: ['contactMethod'] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords, not a thenable
      then: { required: ['phone'] },
      else: { required: ['email'] },
      additionalProperties: false,
    });
  });

  it('returns a real PNG image and a real WAV clip', async () => {
    const [image] = contentOf(await client.callTool({ name: 'test_image_content', arguments: {} }));
    const [audio] = contentOf(await client.callTool({ name: 'test_audio_content', arguments: {} }));

    expect(image).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(Buffer.from(image.data ?? '', 'base64').subarray(0, 8)).toEqual(
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    );
    expect(audio).toMatchObject({ type: 'audio', mimeType: 'audio/wav' });
    const wav = Buffer.from(audio.data ?? '', 'base64');
    expect([wav.toString('ascii', 0, 4), wav.toString('ascii', 8, 12), wav.readUInt32LE(4) + 8]).toEqual([
      'RIFF',
      'WAVE',
      wav.length,
    ]);
  });

  it('returns text, image and an embedded resource from one call', async () => {
    const content = contentOf(await client.callTool({ name: 'test_multiple_content_types', arguments: {} }));
    expect(content.map((block) => block.type)).toEqual(['text', 'image', 'resource']);
    expect(JSON.parse(content[2].resource?.text ?? '')).toEqual({ test: 'data', value: 123 });
  });

  it('reports a failing tool as a tool error with its message', async () => {
    const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
    expect(result.isError).toBe(true);
    expect(contentOf(result)[0].text).toContain('This tool intentionally returns an error for testing');
  });

  it('reads static resources and substitutes the template variable', async () => {
    const { resources } = await client.listResources();
    const text = await client.readResource({ uri: 'test://static-text' });
    const data = await client.readResource({ uri: 'test://template/123/data' });

    expect(resources.map((resource) => resource.uri)).toEqual(
      expect.arrayContaining(['test://static-text', 'test://static-binary', 'test://watched-resource']),
    );
    expect(text.contents[0]).toMatchObject({
      uri: 'test://static-text',
      mimeType: 'text/plain',
      text: 'This is the content of the static text resource.',
    });
    expect(JSON.parse((data.contents[0] as { text: string }).text)).toEqual({
      id: '123',
      templateTest: true,
      data: 'Data for ID: 123',
    });
  });

  it('substitutes prompt arguments and completes arg1', async () => {
    const prompt = await client.getPrompt({
      name: 'test_prompt_with_arguments',
      arguments: { arg1: 'hello', arg2: 'world' },
    });
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'par' },
    });

    expect(prompt.messages).toEqual([
      { role: 'user', content: { type: 'text', text: "Prompt with arguments: arg1='hello', arg2='world'" } },
    ]);
    expect(completion.completion.values).toEqual(['paris', 'park', 'party']);
  });

  it('answers an elicitation tool with a tool error, since a stateless server cannot ask the client mid-call', async () => {
    const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
    expect(result.isError).toBe(true);
    expect(contentOf(result)[0].text).toMatch(/^Elicitation failed: /);
  });
});

describe('the conformance fixture server, to a 2025-era client', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connect(loadFixtureHandler(), 'legacy');
  });
  afterAll(async () => {
    await client.close();
  });

  it('accepts a log level and resource subscriptions with empty results', async () => {
    await expect(client.setLoggingLevel('info')).resolves.toEqual({});
    await expect(client.subscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
    await expect(client.unsubscribeResource({ uri: 'test://watched-resource' })).resolves.toEqual({});
  });
});
