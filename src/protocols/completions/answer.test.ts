// The text_completion answer: read, judged per choice, revised and refused the way the API and its schema expect.
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../../../test/openai-schema.ts';
import { TenetError } from '../../core/errors.ts';
import type { FinalChoice } from '../../core/exchange/conversation.ts';
import { completionsProtocol, type TextCompletion } from './index.ts';

const request = completionsProtocol.parse(
  JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: ['Tell me a fact', 'Tell me a joke'], n: 2 }),
);

/** A recorded-shape answer to two prompts with n=2 (the upstream's field order, logprobs on one choice). */
const upstreamJson = JSON.stringify({
  id: 'cmpl-9x2Jk',
  object: 'text_completion',
  created: 1727000000,
  model: 'gpt-3.5-turbo-instruct',
  choices: [
    {
      text: '\n\nHoney never spoils.',
      index: 0,
      logprobs: {
        tokens: ['\n\n', 'Honey', ' never', ' spoils', '.'],
        token_logprobs: [-0.01, -0.5, -0.2, -0.1, -0.01],
        top_logprobs: [
          { '\n\n': -0.01 },
          { Honey: -0.5 },
          { ' never': -0.2 },
          { ' spoils': -0.1 },
          { '.': -0.01 },
        ],
        text_offset: [14, 16, 21, 27, 34],
      },
      finish_reason: 'stop',
    },
    { text: '\n\nOctopuses have three hearts', index: 1, logprobs: null, finish_reason: 'length' },
    { text: '\n\nWhy did the chicken', index: 2, logprobs: null, finish_reason: null },
    { text: '', index: 3, logprobs: null, finish_reason: 'stop' },
  ],
  usage: { prompt_tokens: 8, completion_tokens: 21, total_tokens: 29 },
  system_fingerprint: 'fp_44709d6fcb',
});
const answer = (): TextCompletion => completionsProtocol.readAnswer(upstreamJson);

const noUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/** Freezes an object graph, so a test fails where the code under test writes into its input. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('completions answer', () => {
  it('reads an upstream answer as it was sent', () => {
    const read = answer();
    expect(JSON.stringify(read)).toBe(upstreamJson);
  });

  it.each([
    ['not json', 'not JSON'],
    ['array', '[]'],
    [
      'a chat completion',
      '{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{}}]}',
    ],
    ['no choices', '{"id":"c","object":"text_completion","created":1,"model":"m"}'],
    [
      'a choice without text',
      '{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0}]}',
    ],
  ])('refuses %s as an upstream answer', (_name, text) => {
    let err: unknown;
    try {
      completionsProtocol.readAnswer(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TenetError);
    expect((err as TenetError).code).toBe('upstream_invalid_response');
    expect((err as TenetError).message).toBe(
      'The upstream model sent an answer that is not a text completion.',
    );
  });

  it('judges each choice text, without tool calls', () => {
    expect(completionsProtocol.draftOf(answer())).toEqual({
      choices: [
        { index: 0, text: '\n\nHoney never spoils.', toolCalls: [], finishReason: 'stop' },
        { index: 1, text: '\n\nOctopuses have three hearts', toolCalls: [], finishReason: 'length' },
        { index: 2, text: '\n\nWhy did the chicken', toolCalls: [], finishReason: null },
        { index: 3, text: '', toolCalls: [], finishReason: 'stop' },
      ],
      usage: { prompt_tokens: 8, completion_tokens: 21, total_tokens: 29 },
    });
  });

  it('returns the answer itself when every choice is unchanged and no revision cost tokens', () => {
    const read = deepFreeze(answer());
    const finals: FinalChoice[] = [0, 1, 2, 3].map((index) => ({ index, kind: 'unchanged' }));
    expect(completionsProtocol.applyFinal(read, finals, noUsage, request)).toBe(read);
  });

  it('replaces revised and refused texts, keeps unchanged choices byte for byte, adds the revision usage', () => {
    const read = deepFreeze(answer());
    const finals: FinalChoice[] = [
      { index: 0, kind: 'revised', text: 'Honey keeps for a very long time.' },
      { index: 1, kind: 'unchanged' },
      { index: 2, kind: 'revised', text: 'A joke.' },
      { index: 3, kind: 'refused', message: "Sorry, I can't help with that." },
    ];
    const revisionUsage = { prompt_tokens: 40, completion_tokens: 10, total_tokens: 50 };
    const final = completionsProtocol.applyFinal(read, finals, revisionUsage, request);
    expect(final).not.toBe(read);
    expect(final.choices[1]).toBe(read.choices[1]);
    expect(final.choices).toEqual([
      // Logprobs described the replaced tokens; the kept finish_reason stays, a missing one becomes stop.
      { text: 'Honey keeps for a very long time.', index: 0, logprobs: null, finish_reason: 'stop' },
      read.choices[1],
      { text: 'A joke.', index: 2, logprobs: null, finish_reason: 'stop' },
      { text: "Sorry, I can't help with that.", index: 3, logprobs: null, finish_reason: 'content_filter' },
    ]);
    expect(final.usage).toEqual({ prompt_tokens: 48, completion_tokens: 31, total_tokens: 79 });
    expect(final).toMatchObject({ id: 'cmpl-9x2Jk', system_fingerprint: 'fp_44709d6fcb' });
    expect(schemaErrors.textCompletion(final)).toEqual([]);
    expect(JSON.stringify(read)).toBe(upstreamJson);
  });

  it('adds revision usage to the answer usage only, keeping its details', () => {
    const withDetails = completionsProtocol.readAnswer(
      JSON.stringify({
        ...JSON.parse(upstreamJson),
        usage: {
          prompt_tokens: 1,
          completion_tokens: 2,
          total_tokens: 3,
          prompt_tokens_details: { cached_tokens: 0 },
        },
      }),
    );
    const unchanged: FinalChoice[] = [{ index: 0, kind: 'unchanged' }];
    const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
    expect(completionsProtocol.applyFinal(withDetails, unchanged, usage, request).usage).toEqual({
      prompt_tokens: 2,
      completion_tokens: 3,
      total_tokens: 5,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    const { usage: _gone, ...noAnswerUsage } = answer();
    const revised: FinalChoice[] = [{ index: 0, kind: 'revised', text: 'x' }];
    expect(completionsProtocol.applyFinal(noAnswerUsage, revised, usage, request)).not.toHaveProperty(
      'usage',
    );
  });

  it('refuses with a complete answer: one content_filter choice per answer asked for', () => {
    const refusal = completionsProtocol.refusal(request, 'No.');
    expect(refusal.id).toMatch(/^cmpl-tenet-[0-9a-f]{32}$/);
    expect(refusal).toMatchObject({
      object: 'text_completion',
      model: 'gpt-3.5-turbo-instruct',
      usage: noUsage,
    });
    expect(refusal.choices).toEqual(
      [0, 1, 2, 3].map((index) => ({ text: 'No.', index, logprobs: null, finish_reason: 'content_filter' })),
    );
    expect(schemaErrors.textCompletion(refusal)).toEqual([]);
    expect(completionsProtocol.draftOf(refusal).choices).toHaveLength(4);
  });

  it('writes errors in the OpenAI shape, as a body and as the event that ends a stream', () => {
    const err = new TenetError('content_blocked', 'Blocked by the constitution.');
    const body = {
      error: {
        message: 'Blocked by the constitution.',
        type: 'invalid_request_error',
        param: null,
        code: 'content_blocked',
      },
    };
    expect(completionsProtocol.errorBody(err)).toEqual(body);
    expect(schemaErrors.error(completionsProtocol.errorBody(err))).toEqual([]);
    expect(completionsProtocol.sseError(err)).toBe(`data: ${JSON.stringify(body)}\n\n`);
  });
});
