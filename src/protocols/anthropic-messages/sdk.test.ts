// What Tenet sends, read by the official clients: @anthropic-ai/sdk and the Vercel AI SDK's Anthropic provider, offline.
import { createAnthropic } from '@ai-sdk/anthropic';
import Anthropic from '@anthropic-ai/sdk';
import { generateText, streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import { type MessageAnswer, messagesProtocol } from './index.ts';

/** A fetch that answers every request with `body` (SSE when it is a string of events). */
const answering = (body: string, status = 200) => {
  const sse = body.startsWith('event:');
  return async () =>
    new Response(body, {
      status,
      headers: { 'content-type': sse ? 'text/event-stream' : 'application/json', 'request-id': 'req_test' },
    });
};

const sdk = (body: string, status = 200) =>
  new Anthropic({
    apiKey: 'test',
    baseURL: 'http://tenet.test',
    maxRetries: 0,
    fetch: answering(body, status),
  });

const params = {
  model: 'claude-test',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: 'hi' }],
};
const request = messagesProtocol.parse(JSON.stringify({ ...params, stream: true }));

const usage: Anthropic.Usage = {
  cache_creation: null,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 12,
  inference_geo: null,
  input_tokens: 40,
  output_tokens: 95,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
};

const toolAnswer: Anthropic.Message = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  container: null,
  diagnostics: null,
  content: [
    { type: 'thinking', thinking: 'The user wants the weather; call the tool.', signature: 'EqQBCgIYAhIM' },
    {
      type: 'text',
      text: 'I will look up the weather in Paris for you, then book the trip if it is sunny.',
      citations: null,
    },
    {
      type: 'tool_use',
      id: 'toolu_01',
      name: 'get_weather',
      input: { city: 'Paris', days: [1, 2], options: { unit: 'celsius' } },
      caller: { type: 'direct' },
    },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  stop_details: null,
  usage,
};

const noUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

const asAnswer = (m: Anthropic.Message): MessageAnswer => messagesProtocol.readAnswer(JSON.stringify(m));

/** The final message without the field the SDK's helper adds of its own (structured-output parsing). */
const withoutParsed = ({ parsed_output: _, ...message }: Anthropic.Message & { parsed_output?: unknown }) =>
  message;

describe('@anthropic-ai/sdk reads what Tenet sends', () => {
  const revised = messagesProtocol.applyFinal(
    asAnswer(toolAnswer),
    [{ index: 0, kind: 'revised', text: 'Let me check the forecast first.' }],
    { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
    request,
  );
  const answers: Array<[string, MessageAnswer]> = [
    ['an answer with thinking, text and a tool call', asAnswer(toolAnswer)],
    ['a revised answer', revised],
    [
      'an answer refused after the draft',
      messagesProtocol.applyFinal(
        asAnswer(toolAnswer),
        [{ index: 0, kind: 'refused', message: 'No.' }],
        noUsage,
        request,
      ),
    ],
    [
      'a refusal before any model was asked',
      messagesProtocol.refusal(request, 'Sorry, I cannot help with that.'),
    ],
  ];

  it.each(answers)('messages.stream().finalMessage() of %s equals the answer', async (_, answer) => {
    const stream = sdk(messagesProtocol.toSse(answer, request)).messages.stream(params);
    const texts: string[] = [];
    stream.on('text', (delta) => texts.push(delta));
    const final = await stream.finalMessage();
    expect(withoutParsed(final)).toEqual(answer);
    expect(texts.join('')).toBe(messagesProtocol.draftOf(answer).choices[0]?.text ?? '');
  });

  it.each(answers)('messages.create() returns %s as sent', async (_, answer) => {
    const message = await sdk(JSON.stringify(answer)).messages.create(params);
    expect(message).toEqual(answer);
  });

  it('raises an error event in a stream as an APIError of its type', async () => {
    const err = new TenetError('upstream_stream_broken', 'The upstream model stopped mid-answer.');
    const sse = messagesProtocol.toSse(asAnswer(toolAnswer), request).split('event: content_block_stop')[0];
    const stream = sdk(`${sse}${messagesProtocol.sseError(err)}`).messages.stream(params);
    const caught = await stream.finalMessage().catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(Anthropic.APIError);
    expect(caught).toMatchObject({ type: 'api_error', error: { error: { message: err.message } } });
  });

  it.each([
    [
      new TenetError('invalid_request', 'Invalid request: max_tokens is required.'),
      Anthropic.BadRequestError,
    ],
    [new TenetError('invalid_api_key', 'Bad key.'), Anthropic.AuthenticationError],
    [new TenetError('upstream_error', 'Slow down.', { status: 429 }), Anthropic.RateLimitError],
    [new TenetError('upstream_error', 'The upstream model failed.'), Anthropic.InternalServerError],
  ])('raises an HTTP error body (%s) as the SDK error class of its status', async (err, errorClass) => {
    const caught = await sdk(JSON.stringify(messagesProtocol.errorBody(err)), err.status)
      .messages.create(params)
      .catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(errorClass);
    expect(caught).toMatchObject({ status: err.status, error: messagesProtocol.errorBody(err) });
    expect((caught as Error).message).toContain(err.message);
  });
});

describe('the Vercel AI SDK Anthropic provider reads what Tenet sends', () => {
  const provider = (body: string) =>
    createAnthropic({ apiKey: 'test', baseURL: 'http://tenet.test/v1', fetch: answering(body) });
  const answer: MessageAnswer = {
    ...asAnswer(toolAnswer),
    content: [{ type: 'text', text: 'It is sunny in Paris.' }],
    stop_reason: 'end_turn',
  };

  it('generateText validates and reads a JSON answer and a refusal', async () => {
    const json = await generateText({
      model: provider(JSON.stringify(answer))('claude-test'),
      prompt: 'hi',
      maxOutputTokens: 256,
    });
    expect(json.text).toBe(messagesProtocol.draftOf(answer).choices[0]?.text);
    expect(json.usage.outputTokens).toBe(95);
    const refusal = messagesProtocol.refusal(request, 'Sorry, I cannot help with that.');
    const refused = await generateText({
      model: provider(JSON.stringify(refusal))('claude-test'),
      prompt: 'hi',
      maxOutputTokens: 256,
    });
    expect(refused.text).toBe('Sorry, I cannot help with that.');
  });

  it('streamText validates and reads the stream of an answer, tool calls included', async () => {
    const errors: unknown[] = [];
    const result = streamText({
      model: provider(messagesProtocol.toSse(asAnswer(toolAnswer), request))('claude-test'),
      prompt: 'hi',
      maxOutputTokens: 256,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    expect(await result.text).toBe(toolAnswer.content[1]?.type === 'text' ? toolAnswer.content[1].text : '');
    expect(await result.toolCalls).toMatchObject([
      { toolCallId: 'toolu_01', toolName: 'get_weather', input: { city: 'Paris', days: [1, 2] } },
    ]);
    expect(await result.finishReason).toBe('tool-calls');
    expect(errors).toEqual([]);
  });
});
