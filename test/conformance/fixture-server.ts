/**
 * The conformance fixture server: the tools, resources and prompts that the server scenarios of
 * `@modelcontextprotocol/conformance` call by name (0.2.0-alpha.12 with `--requirements 2026-07-28`,
 * and 0.1.16 for 2025-11-25), served by the public runtime API exactly as a user's own MCP Lambda
 * would be (`createMcpLambdaHandler` behind the construct's gateway and token authorizer).
 * test/conformance/app.ts deploys it in place of the sample server.
 *
 * Every fixture does what its scenario asks. The 2026-07-28 multi-round-trip fixtures and the
 * `server-stateless` diagnostics live in fixture-input-required.ts. The 2025-era fixtures that talk
 * back to the client during a call (sampling and elicitation requests) need a session and a live
 * stream to the waiting instance; expected-failures.yml says why they fail here.
 */
import { Buffer } from 'node:buffer';
import {
  completable,
  fromJsonSchema,
  McpServer,
  ResourceTemplate,
  type CallToolResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { createMcpLambdaHandler, type McpLambdaRequestContext } from '../../lambda/runtime';
import { registerInputRequiredFixtures } from './fixture-input-required';
import { TASK_FIXTURE_TOOLS } from './fixture-tasks';

/** A 1x1 red pixel PNG (checked: IHDR 1x1 RGB, one scanline 00 ff 00 00, valid CRCs). */
export const RED_PIXEL_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

/** How long a server-to-client request (sampling, elicitation) may wait before the tool reports failure. */
const CLIENT_REQUEST_TIMEOUT_MS = 2_000;
/** The pause between the notifications of the logging and progress fixtures, as the scenarios describe. */
const NOTIFICATION_INTERVAL_MS = 50;

/** A tenth of a second of 8 kHz, 8-bit mono silence as a RIFF/WAVE file. */
export function silentWav(): Buffer {
  const sampleRate = 8000;
  const samples = Buffer.alloc(sampleRate / 10, 0x80); // 0x80 is silence for unsigned 8-bit PCM
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // PCM format chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate, 28); // byte rate: 1 byte per sample, one channel
  header.writeUInt16LE(1, 32); // block align
  header.writeUInt16LE(8, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}

const SILENT_WAV_BASE64 = silentWav().toString('base64');

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function failure(what: string, error: unknown): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${what} failed: ${error instanceof Error ? error.message : String(error)}` }],
  };
}

/**
 * The input schema of `json_schema_2020_12_tool`, with the 2020-12 keywords the scenario expects to
 * survive listing: `$schema`, `$defs` and `additionalProperties` (SEP-1613), and `$anchor`, the
 * composition keywords `allOf`/`anyOf` and the conditional `if`/`then`/`else` (SEP-2106).
 */
const JSON_SCHEMA_2020_12_INPUT = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: { street: { type: 'string' }, city: { type: 'string' } },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  // A phone number or an email address, and the one named by contactMethod when it is given.
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords, not a thenable
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
} as const;

function registerContentTools(server: McpServer): void {
  server.registerTool('test_simple_text', { description: 'Returns one text content block.' }, async () =>
    text('This is a simple text response for testing.'),
  );

  server.registerTool('test_image_content', { description: 'Returns a 1x1 red PNG image.' }, async () => ({
    content: [{ type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' }],
  }));

  server.registerTool('test_audio_content', { description: 'Returns a short silent WAV clip.' }, async () => ({
    content: [{ type: 'audio', data: SILENT_WAV_BASE64, mimeType: 'audio/wav' }],
  }));

  server.registerTool('test_embedded_resource', { description: 'Returns an embedded text resource.' }, async () => ({
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  }));

  server.registerTool(
    'test_multiple_content_types',
    { description: 'Returns text, image and embedded resource content together.' },
    async () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  );

  server.registerTool(
    'test_error_handling',
    { description: 'Always fails, to show how tool errors are reported.' },
    async () => {
      // The SDK turns an exception thrown by a tool into a result with isError: true.
      throw new Error('This tool intentionally returns an error for testing');
    },
  );

  server.registerTool(
    'json_schema_2020_12_tool',
    { description: 'Tool with JSON Schema 2020-12 features', inputSchema: fromJsonSchema(JSON_SCHEMA_2020_12_INPUT) },
    async (args) => text(`Received ${JSON.stringify(args)}`),
  );
}

function registerClientFacingTools(server: McpServer): void {
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Sends three info log notifications while it runs.' },
    async (ctx: ServerContext) => {
      await ctx.mcpReq.log('info', 'Tool execution started');
      await pause(NOTIFICATION_INTERVAL_MS);
      await ctx.mcpReq.log('info', 'Tool processing data');
      await pause(NOTIFICATION_INTERVAL_MS);
      await ctx.mcpReq.log('info', 'Tool execution completed');
      return text('Tool with logging executed successfully');
    },
  );

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Reports progress 0, 50 and 100 of 100 when the request carries a progress token.' },
    async (ctx: ServerContext) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100 },
          });
        }
        if (progress < 100) await pause(NOTIFICATION_INTERVAL_MS);
      }
      return text('Tool with progress executed successfully');
    },
  );

  server.registerTool(
    'test_sampling',
    {
      description: 'Asks the client to sample its LLM with the given prompt.',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    },
    async ({ prompt }, ctx) => {
      try {
        const result = await ctx.mcpReq.requestSampling(
          { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          { timeout: CLIENT_REQUEST_TIMEOUT_MS },
        );
        const content = Array.isArray(result.content) ? result.content : [result.content];
        const reply = content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join(' ');
        return text(`LLM response: ${reply}`);
      } catch (error) {
        return failure('Sampling', error);
      }
    },
  );

  server.registerTool(
    'test_elicitation',
    {
      description: 'Asks the user, through the client, for a username and an email address.',
      inputSchema: z.object({ message: z.string().describe('The message to show the user') }),
    },
    async ({ message }, ctx) => {
      try {
        const result = await ctx.mcpReq.elicitInput(
          {
            message,
            requestedSchema: {
              type: 'object',
              properties: {
                username: { type: 'string', description: "User's response" },
                email: { type: 'string', description: "User's email address" },
              },
              required: ['username', 'email'],
            },
          },
          { timeout: CLIENT_REQUEST_TIMEOUT_MS },
        );
        return text(`User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
      } catch (error) {
        return failure('Elicitation', error);
      }
    },
  );

  server.registerTool(
    'test_elicitation_sep1034_defaults',
    { description: 'Elicits one field of each primitive type, each with a default (SEP-1034).' },
    async (ctx: ServerContext) => {
      try {
        const result = await ctx.mcpReq.elicitInput(
          {
            message: 'Please review and update the form fields with defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', description: 'User name', default: 'John Doe' },
                age: { type: 'integer', description: 'User age', default: 30 },
                score: { type: 'number', description: 'User score', default: 95.5 },
                status: {
                  type: 'string',
                  description: 'User status',
                  enum: ['active', 'inactive', 'pending'],
                  default: 'active',
                },
                verified: { type: 'boolean', description: 'Verification status', default: true },
              },
            },
          },
          { timeout: CLIENT_REQUEST_TIMEOUT_MS },
        );
        return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
      } catch (error) {
        return failure('Elicitation', error);
      }
    },
  );

  server.registerTool(
    'test_elicitation_sep1330_enums',
    { description: 'Elicits the five enum shapes of SEP-1330.' },
    async (ctx: ServerContext) => {
      try {
        const result = await ctx.mcpReq.elicitInput(
          {
            message: 'Please select options from the enum fields',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: {
                  type: 'string',
                  description: 'Untitled single-select',
                  enum: ['option1', 'option2', 'option3'],
                },
                titledSingle: {
                  type: 'string',
                  description: 'Titled single-select',
                  oneOf: [
                    { const: 'value1', title: 'First Option' },
                    { const: 'value2', title: 'Second Option' },
                    { const: 'value3', title: 'Third Option' },
                  ],
                },
                legacyEnum: {
                  type: 'string',
                  description: 'Legacy titled enum',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: {
                  type: 'array',
                  description: 'Untitled multi-select',
                  items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                },
                titledMulti: {
                  type: 'array',
                  description: 'Titled multi-select',
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First Choice' },
                      { const: 'value2', title: 'Second Choice' },
                      { const: 'value3', title: 'Third Choice' },
                    ],
                  },
                },
              },
            },
          },
          { timeout: CLIENT_REQUEST_TIMEOUT_MS },
        );
        return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
      } catch (error) {
        return failure('Elicitation', error);
      }
    },
  );
}

function registerResources(server: McpServer): void {
  server.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource.', mimeType: 'text/plain' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
    }),
  );

  server.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource (a 1x1 PNG).', mimeType: 'image/png' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'image/png', blob: RED_PIXEL_PNG_BASE64 }],
    }),
  );

  server.registerResource(
    'watched-resource',
    'test://watched-resource',
    {
      description: 'A resource clients may subscribe to; it never changes, so no update is ever owed.',
      mimeType: 'text/plain',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content.' }] }),
  );

  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'JSON data for the given id.', mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${String(id)}` }),
        },
      ],
    }),
  );

  // The fixture's resources are static, so a subscription never owes a notifications/resources/updated:
  // acknowledging it is the whole job, and a stateless server has nothing to remember.
  server.server.setRequestHandler('resources/subscribe', async () => ({}));
  server.server.setRequestHandler('resources/unsubscribe', async () => ({}));
}

function registerPrompts(server: McpServer): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments.' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));

  server.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two required arguments; arg1 offers completions.',
      argsSchema: z.object({
        arg1: completable(z.string().describe('First test argument'), (value) =>
          ['paris', 'park', 'party', 'test'].filter((word) => word.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      }),
    },
    ({ arg1, arg2 }) => ({
      messages: [
        { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
      ],
    }),
  );

  server.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds the resource it is given.',
      argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    },
    ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image.' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: RED_PIXEL_PNG_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));
}

export type FixtureContext = Pick<McpLambdaRequestContext, 'serverInfo'> &
  Partial<Pick<McpLambdaRequestContext, 'era' | 'serverOptions' | 'requestState'>>;

/** Builds the fixture server for one request. */
export function createConformanceFixtureServer({
  serverInfo,
  era,
  serverOptions,
  requestState,
}: FixtureContext): McpServer {
  const server = new McpServer(serverInfo, {
    // requestState.verify: every echoed requestState is checked before a handler sees it.
    ...serverOptions,
    // logging: log notifications (2025 era: logging/setLevel). subscribe: resources/subscribe in the 2025 era,
    // resource subscriptions on a 2026-07-28 subscriptions/listen stream. Every list here is fixed (a
    // stateless Lambda could not tell another instance's stream that one changed), so no listChanged.
    capabilities: {
      logging: {},
      tools: { listChanged: false },
      prompts: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
    },
  });
  registerContentTools(server);
  registerClientFacingTools(server);
  registerResources(server);
  registerPrompts(server);
  registerInputRequiredFixtures(server, { era, requestState });
  return server;
}

export const handler = createMcpLambdaHandler(createConformanceFixtureServer, {
  serverInfo: { name: 'mcp-conformance-fixture', title: 'MCP conformance fixture server', version: '1.0.0' },
  // The tasks extension scenarios' tools, defined with their task support.
  tools: TASK_FIXTURE_TOOLS,
});
