/**
 * The conformance fixture's 2026-07-28 multi-round-trip tools and prompt (SEP-2322), and the
 * diagnostic tools of the `server-stateless` scenario (SEP-2575).
 *
 * Each multi-round-trip fixture asks the client for input by returning `inputRequired(...)`; the
 * client fulfils the embedded requests and sends the same request again with `inputResponses` (and
 * the `requestState` it was given). State that must survive a round trip is sealed with the runtime's
 * `requestState` codec (HMAC, bound to the caller; a tampered state is refused before any handler
 * runs) and names the fixture it was minted for, so another fixture does not take it for its own. A
 * missing or unusable answer is asked for again rather than refused, as SEP-2322 recommends. Nothing here is kept between requests: a different Lambda
 * instance can serve every round.
 *
 * 2025-era clients get a tool error from these fixtures: a stateless server cannot send them a request.
 */
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  inputResponse,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequest,
  type InputRequiredResult,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { McpLambdaRequestContext } from '../../lambda/runtime';

export type InputRequiredContext = Partial<Pick<McpLambdaRequestContext, 'era' | 'requestState'>>;
type Codec = NonNullable<McpLambdaRequestContext['requestState']>;

/** What a fixture seals into `requestState`: which fixture minted it, and the fixture's own progress. */
interface SealedState<T> {
  readonly fixture: string;
  readonly data: T;
}

const nameAnswer = z.object({ name: z.string() });
const okAnswer = z.object({ ok: z.boolean() });
const colorAnswer = z.object({ color: z.string() });
const contextAnswer = z.object({ context: z.string() });

const askName = (message = 'What is your name?'): InputRequest =>
  inputRequired.elicit({ message, requestedSchema: nameAnswer });
const askConfirmation = (): InputRequest =>
  inputRequired.elicit({ message: 'Please confirm', requestedSchema: okAnswer });
const askCapital = (): InputRequest =>
  inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
    maxTokens: 100,
  });
const askGreeting = (): InputRequest =>
  inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
    maxTokens: 50,
  });

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

const LEGACY_ERA_ERROR =
  'This fixture needs a client speaking MCP 2026-07-28: the server is stateless, so it cannot send a request to a 2025-era client mid-call.';
const NO_KEY_ERROR =
  'This fixture needs a requestState key (REQUEST_STATE_SECRET_ARN or requestStateKey) to seal its state between rounds.';

/** The capabilities the client declared on this request (2026-07-28 per-request envelope). */
function declaredCapabilities(ctx: ServerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  return (envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? {};
}

/** Seals `data` for `fixture`; the codec binds it to the caller. */
function seal<T>(codec: Codec, fixture: string, data: T, ctx: ServerContext): Promise<string> {
  return codec.mint({ fixture, data } satisfies SealedState<T>, ctx);
}

/** The verified state of this round, when it was minted by `fixture` (the codec already checked its seal). */
function unsealed<T>(ctx: ServerContext, fixture: string): T | undefined {
  const state = ctx.mcpReq.requestState<SealedState<T>>();
  return state?.fixture === fixture ? state.data : undefined;
}

function samplingText(ctx: ServerContext, key: string): string | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  if (view.kind !== 'sampling') return undefined;
  const content = Array.isArray(view.result.content) ? view.result.content : [view.result.content];
  return content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join(' ');
}

function rootsOf(ctx: ServerContext, key: string): string[] | undefined {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  return view.kind === 'roots' ? view.roots.map((root) => root.uri) : undefined;
}

/** `true` when the user declined or cancelled the elicitation under `key`. */
function refused(ctx: ServerContext, key: string): boolean {
  const view = inputResponse(ctx.mcpReq.inputResponses, key);
  return view.kind === 'elicit' && view.action !== 'accept';
}

type Handler = (ctx: ServerContext) => Promise<CallToolResult | InputRequiredResult>;

/** Registers a multi-round-trip tool without arguments; 2025-era clients get a tool error. */
function registerRoundTripTool(
  server: McpServer,
  { era }: InputRequiredContext,
  name: string,
  description: string,
  handler: Handler,
): void {
  server.registerTool(name, { description }, async (ctx: ServerContext) =>
    era === 'legacy' ? toolError(LEGACY_ERA_ERROR) : handler(ctx),
  );
}

function registerSingleInputTools(server: McpServer, context: InputRequiredContext): void {
  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_elicitation',
    'Asks the user for their name (form elicitation), then greets them.',
    async (ctx) => {
      if (refused(ctx, 'user_name')) return text('You did not tell me your name.');
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', nameAnswer);
      // A missing, malformed or foreign answer is asked for again.
      return answer ? text(`Hello, ${answer.name}!`) : inputRequired({ inputRequests: { user_name: askName() } });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_sampling',
    "Asks the client's model for the capital of France, then returns its answer.",
    async (ctx) => {
      const answer = samplingText(ctx, 'capital_question');
      return answer !== undefined
        ? text(`The model answered: ${answer}`)
        : inputRequired({ inputRequests: { capital_question: askCapital() } });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_list_roots',
    'Asks the client for its roots, then lists them.',
    async (ctx) => {
      const roots = rootsOf(ctx, 'client_roots');
      return roots !== undefined
        ? text(`The client has ${roots.length} root(s): ${roots.join(', ')}`)
        : inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_streaming_elicitation',
    'Asks the user a question through the response stream (an input-required result, never a server-to-client request).',
    async (ctx) => {
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirmation', okAnswer);
      return answer
        ? text(`Confirmed: ${answer.ok}`)
        : inputRequired({ inputRequests: { confirmation: askConfirmation() } });
    },
  );
}

function registerStatefulTools(server: McpServer, context: InputRequiredContext): void {
  const { requestState: codec } = context;

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_request_state',
    'Asks for a confirmation and carries sealed state between the two rounds.',
    async (ctx) => {
      if (!codec) return toolError(NO_KEY_ERROR);
      const state = unsealed<{ asked: string }>(ctx, 'test_input_required_result_request_state');
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', okAnswer);
      if (state && answer)
        return text(`state-ok: the sealed state came back intact (asked at ${state.asked}), confirmed: ${answer.ok}`);
      const requestState = await seal(
        codec,
        'test_input_required_result_request_state',
        { asked: new Date().toISOString() },
        ctx,
      );
      return inputRequired({ inputRequests: { confirm: askConfirmation() }, requestState });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_tampered_state',
    'Carries HMAC-sealed state between rounds; a tampered state is refused.',
    async (ctx) => {
      if (!codec) return toolError(NO_KEY_ERROR);
      // A tampered state never reaches this handler: the runtime's verify hook refuses the request.
      const state = unsealed<{ asked: string }>(ctx, 'test_input_required_result_tampered_state');
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'confirm', okAnswer);
      if (state && answer) return text(`state-ok: confirmed ${answer.ok}`);
      const requestState = await seal(
        codec,
        'test_input_required_result_tampered_state',
        { asked: new Date().toISOString() },
        ctx,
      );
      return inputRequired({ inputRequests: { confirm: askConfirmation() }, requestState });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_multiple_inputs',
    "Asks for the user's name, a greeting from the client's model and the client's roots in one round.",
    async (ctx) => {
      if (!codec) return toolError(NO_KEY_ERROR);
      const state = unsealed<{ round: number }>(ctx, 'test_input_required_result_multiple_inputs');
      const name = acceptedContent(ctx.mcpReq.inputResponses, 'user_name', nameAnswer)?.name;
      const greeting = samplingText(ctx, 'greeting');
      const roots = rootsOf(ctx, 'client_roots');
      if (state && name !== undefined && greeting !== undefined && roots !== undefined) {
        return text(`${greeting} ${name}; your roots: ${roots.join(', ') || 'none'}`);
      }
      // The first round asks for all three; later rounds ask again for what is still missing.
      const inputRequests: Record<string, InputRequest> = {};
      if (!state || name === undefined) inputRequests.user_name = askName();
      if (!state || greeting === undefined) inputRequests.greeting = askGreeting();
      if (!state || roots === undefined) inputRequests.client_roots = inputRequired.listRoots();
      const requestState = await seal(
        codec,
        'test_input_required_result_multiple_inputs',
        { round: (state?.round ?? 0) + 1 },
        ctx,
      );
      return inputRequired({ inputRequests, requestState });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_multi_round',
    "Asks for the user's name, then their favourite colour, carrying the first answer in sealed state.",
    async (ctx) => {
      if (!codec) return toolError(NO_KEY_ERROR);
      const fixture = 'test_input_required_result_multi_round';
      const state = unsealed<{ step: 1 } | { step: 2; name: string }>(ctx, fixture);
      const askColor = () =>
        inputRequired.elicit({ message: 'Step 2: What is your favorite color?', requestedSchema: colorAnswer });
      if (state?.step === 2) {
        const color = acceptedContent(ctx.mcpReq.inputResponses, 'step2', colorAnswer)?.color;
        if (color !== undefined) return text(`${state.name}'s favorite color is ${color}.`);
        return inputRequired({
          inputRequests: { step2: askColor() },
          requestState: await seal(codec, fixture, state, ctx),
        });
      }
      const name =
        state?.step === 1 ? acceptedContent(ctx.mcpReq.inputResponses, 'step1', nameAnswer)?.name : undefined;
      if (name !== undefined) {
        return inputRequired({
          inputRequests: { step2: askColor() },
          requestState: await seal(codec, fixture, { step: 2, name }, ctx),
        });
      }
      return inputRequired({
        inputRequests: { step1: askName('Step 1: What is your name?') },
        requestState: await seal(codec, fixture, { step: 1 }, ctx),
      });
    },
  );

  registerRoundTripTool(
    server,
    context,
    'test_input_required_result_capabilities',
    'Asks only for what the client declared it can give: a name (elicitation), an answer from its model (sampling) or its roots.',
    async (ctx) => {
      const declared = declaredCapabilities(ctx);
      const answered = Object.keys(ctx.mcpReq.inputResponses ?? {});
      if (answered.length > 0) return text(`Received: ${answered.sort().join(', ')}`);
      const inputRequests: Record<string, InputRequest> = {};
      if (declared.elicitation !== undefined) inputRequests.user_name = askName();
      if (declared.sampling !== undefined) inputRequests.capital_question = askCapital();
      if (declared.roots !== undefined) inputRequests.client_roots = inputRequired.listRoots();
      // A client that declared none of the three is asked by elicitation, which the SDK refuses with -32021.
      if (Object.keys(inputRequests).length === 0) inputRequests.user_name = askName();
      return inputRequired({ inputRequests });
    },
  );
}

/** `server-stateless` diagnostics that are not round trips. */
function registerStatelessDiagnostics(server: McpServer, { era }: InputRequiredContext): void {
  // The SDK checks every input request against the capabilities the request declared: asking a client
  // that did not declare sampling is refused with -32021 (HTTP 400) before anything is sent.
  server.registerTool(
    'test_missing_capability',
    { description: "Asks the client's model a question: a client that did not declare sampling gets -32021." },
    async (ctx: ServerContext) => {
      if (era === 'legacy') return toolError(LEGACY_ERA_ERROR);
      const answer = samplingText(ctx, 'capital_question');
      return answer !== undefined
        ? text(`The model answered: ${answer}`)
        : inputRequired({ inputRequests: { capital_question: askCapital() } });
    },
  );

  server.registerTool(
    'test_logging_tool',
    { description: 'Logs three lines; they reach the client only when the request asks for a log level.' },
    async (ctx: ServerContext) => {
      for (const step of ['started', 'working', 'finished']) await ctx.mcpReq.log('info', `test_logging_tool ${step}`);
      return text('test_logging_tool done');
    },
  );
}

/** The prompt of `input-required-result-non-tool-request`: `prompts/get` can ask for input too. */
function registerInputRequiredPrompt(server: McpServer, { era }: InputRequiredContext): void {
  server.registerPrompt(
    'test_input_required_result_prompt',
    { description: 'A prompt that asks the user which context to use before it is built.' },
    async (ctx: ServerContext) => {
      if (era === 'legacy') {
        return {
          messages: [
            {
              role: 'user',
              content: {
                type: 'text',
                text: 'Prompt without user context (this prompt asks for it only from 2026-07-28 clients).',
              },
            },
          ],
        };
      }
      const answer = acceptedContent(ctx.mcpReq.inputResponses, 'user_context', contextAnswer);
      if (!answer) {
        return inputRequired({
          inputRequests: {
            user_context: inputRequired.elicit({
              message: 'What context should the prompt use?',
              requestedSchema: contextAnswer,
            }),
          },
        });
      }
      return {
        messages: [
          { role: 'user', content: { type: 'text', text: `Answer with this context in mind: ${answer.context}` } },
        ],
      };
    },
  );
}

export function registerInputRequiredFixtures(server: McpServer, context: InputRequiredContext): void {
  registerSingleInputTools(server, context);
  registerStatefulTools(server, context);
  registerStatelessDiagnostics(server, context);
  registerInputRequiredPrompt(server, context);
}
