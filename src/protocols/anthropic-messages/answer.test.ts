// The Messages answer through the protocol: reading it, its draft, revisions and refusals put back, errors in its shape.
import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import type { Usage } from '../../core/exchange/conversation.ts';
import { messagesProtocol } from './index.ts';

const usage = (input: number, output: number): Anthropic.Usage => ({
  cache_creation: null,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 4,
  inference_geo: null,
  input_tokens: input,
  output_tokens: output,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
});

const text = (t: string): Anthropic.TextBlock => ({ type: 'text', text: t, citations: null });
/** A text block Tenet writes: the API leaves out `citations` when there are none. */
const written = (t: string) => ({ type: 'text', text: t });
const citation: Anthropic.TextCitation = {
  type: 'char_location',
  cited_text: 'Paris is sunny.',
  document_index: 0,
  document_title: 'Forecast',
  end_char_index: 15,
  file_id: null,
  start_char_index: 0,
};

/** Text split around a cited passage, then a tool call: what Claude answers with documents and tools. */
const answer: Anthropic.Message = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  container: null,
  diagnostics: null,
  content: [
    { type: 'thinking', thinking: 'The forecast says sunny.', signature: 'EqQBCgIYAhIM' },
    text('The forecast says '),
    { ...text('Paris is sunny'), citations: [citation] },
    text('. I will book it.'),
    {
      type: 'tool_use',
      id: 'toolu_01A09q90qw90lq917835lq9',
      name: 'book_trip',
      input: { city: 'Paris', nights: 2 },
      caller: { type: 'direct' },
    },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  stop_details: null,
  usage: usage(120, 80),
};

const raw = JSON.stringify(answer);
const read = () => messagesProtocol.readAnswer(raw);
const request = messagesProtocol.parse(
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    messages: [{ role: 'user', content: 'hi' }],
  }),
);
const noUsage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

describe('messagesProtocol answers', () => {
  it('reads a message and keeps every field', () => {
    expect(read()).toEqual(answer);
  });

  it.each([
    ['not json', 'not JSON'],
    ['a chat completion', JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] })],
    ['a text block without text', JSON.stringify({ ...answer, content: [{ type: 'text' }] })],
    ['an error body', JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'x' } })],
  ])('refuses %s as upstream_invalid_response', (_, body) => {
    const err = (() => {
      try {
        messagesProtocol.readAnswer(body);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TenetError);
    expect(err).toMatchObject({ code: 'upstream_invalid_response', status: 502 });
    expect((err as Error).message).toBe('The upstream model sent an answer that is not a message.');
  });

  it('judges the text blocks joined as the reader sees them, and the tool calls', () => {
    expect(messagesProtocol.draftOf(read())).toEqual({
      choices: [
        {
          index: 0,
          text: 'The forecast says Paris is sunny. I will book it.',
          toolCalls: [
            {
              id: 'toolu_01A09q90qw90lq917835lq9',
              name: 'book_trip',
              arguments: '{"city":"Paris","nights":2}',
            },
          ],
          finishReason: 'tool_use',
        },
      ],
      usage: { prompt_tokens: 124, completion_tokens: 80, total_tokens: 204 },
    });
  });

  it('judges a tool-call-only answer as text null', () => {
    const draft = messagesProtocol.draftOf({
      ...read(),
      content: read().content.slice(4),
    });
    expect(draft.choices[0]?.text).toBeNull();
    expect(draft.choices[0]?.toolCalls).toHaveLength(1);
  });

  it('keeps an unchanged answer as the very object', () => {
    const message = read();
    const out = messagesProtocol.applyFinal(message, [{ index: 0, kind: 'unchanged' }], noUsage, request);
    expect(out).toBe(message);
  });

  it('puts a revision in the first text block, drops the others and adds the revision tokens', () => {
    const message = read();
    const revisionUsage = { prompt_tokens: 300, completion_tokens: 40, total_tokens: 340 };
    const out = messagesProtocol.applyFinal(
      message,
      [{ index: 0, kind: 'revised', text: 'Booking Paris for two nights.' }],
      revisionUsage,
      request,
    );
    expect(out).toEqual({
      ...answer,
      content: [answer.content[0], written('Booking Paris for two nights.'), answer.content[4]],
      usage: { ...answer.usage, input_tokens: 420, output_tokens: 120 },
    });
    expect(message).toEqual(answer); // the input is never mutated
  });

  it('inserts the revised text before the tool calls when the draft had none, and ends the turn', () => {
    const toolOnly = { ...read(), content: read().content.slice(4), stop_reason: null };
    const out = messagesProtocol.applyFinal(
      toolOnly,
      [{ index: 0, kind: 'revised', text: 'Sure.' }],
      noUsage,
      request,
    );
    expect(out.content).toEqual([written('Sure.'), answer.content[4]]);
    expect(out.stop_reason).toBe('end_turn');
    expect(out.usage).toEqual(answer.usage);
  });

  it('replaces a refused answer by the refusal with stop_reason refusal', () => {
    const out = messagesProtocol.applyFinal(
      read(),
      [{ index: 0, kind: 'refused', message: 'Sorry, I cannot help with that.' }],
      { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      request,
    );
    expect(out).toEqual({
      ...answer,
      content: [written('Sorry, I cannot help with that.')],
      stop_reason: 'refusal',
      stop_sequence: null,
      stop_details: { type: 'refusal', category: null, explanation: null },
      usage: { ...answer.usage, input_tokens: 130, output_tokens: 85 },
    });
  });

  it('refuses a request with a whole message of its own', () => {
    const out = messagesProtocol.refusal(request, 'No.');
    expect(out).toEqual({
      id: expect.stringMatching(/^msg_tenet_[0-9a-f]{32}$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [written('No.')],
      stop_reason: 'refusal',
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    expect(messagesProtocol.refusal(request, 'No.').id).not.toBe(out.id);
    expect(messagesProtocol.readAnswer(JSON.stringify(out))).toEqual(out);
  });
});

describe('messagesProtocol errors', () => {
  it.each([
    [
      new TenetError('invalid_request', 'Invalid request: model is required.', { param: 'model' }),
      'invalid_request_error',
    ],
    [new TenetError('invalid_api_key', 'Bad key.'), 'authentication_error'],
    [new TenetError('forbidden', 'No.'), 'permission_error'],
    [new TenetError('not_found', 'Nothing here.'), 'not_found_error'],
    [new TenetError('request_too_large', 'Too big.'), 'request_too_large'],
    [
      new TenetError('upstream_error', 'Slow down.', { status: 429, type: 'rate_limit_error' }),
      'rate_limit_error',
    ],
    [new TenetError('upstream_error', 'Busy.', { status: 529 }), 'overloaded_error'],
    [new TenetError('upstream_error', 'Failed.'), 'api_error'],
    [new TenetError('upstream_timeout', 'Too slow.'), 'api_error'],
    [new TenetError('internal_error', 'Oops.'), 'api_error'],
    [new TenetError('method_not_allowed', 'Use POST.'), 'invalid_request_error'],
  ])('answers %s with an error of type %s', (err, type) => {
    const body = { type: 'error', error: { type, message: err.message } };
    expect(messagesProtocol.errorBody(err)).toEqual(body);
    expect(messagesProtocol.sseError(err)).toBe(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  });
});
