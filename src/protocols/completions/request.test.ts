// The completions request: every prompt spelling read as a conversation, bad input refused naming its param.

import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import { promptOf } from '../../core/exchange/conversation.ts';
import { completionsProtocol } from './index.ts';

const parse = (body: unknown) => completionsProtocol.parse(JSON.stringify(body));

const errorOf = (text: string): TenetError => {
  try {
    completionsProtocol.parse(text);
  } catch (err) {
    if (err instanceof TenetError) return err;
    throw err;
  }
  throw new Error('expected a TenetError');
};

describe('completions request', () => {
  it('keeps every field the client sent, unknown ones too', () => {
    const body = {
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hi',
      suffix: null,
      n: 1,
      best_of: 1,
      echo: false,
      stream: false,
      temperature: 0.2,
      top_p: 1,
      max_tokens: 16,
      logprobs: 2,
      stop: ['\n', 'END'],
      seed: 4242,
      logit_bias: { '50256': -100 },
      user: 'u1',
      a_field_from_the_future: { x: 1 },
    };
    const parsed = parse(body);
    expect(parsed.body).toEqual(body);
    expect(parsed).toMatchObject({ model: 'gpt-3.5-turbo-instruct', stream: false, choices: 1 });
    expect(parsed.temperature).toBe(0.2);
    expect(parsed.maxTokens).toBe(16);
  });

  it('reads a string prompt as one user turn, with the suffix the model fills in before', () => {
    const parsed = parse({ model: 'm', prompt: 'def add(a, b):', suffix: '    return total' });
    expect(parsed.conversation).toEqual({
      turns: [{ role: 'user', text: 'def add(a, b):\n    return total' }],
    });
    expect(parsed.choices).toBe(1);
    expect(parsed.temperature).toBeUndefined();
    expect(parsed.maxTokens).toBeUndefined();
  });

  it('judges every prompt of a batch as the input (one labelled user turn), with n answers per prompt', () => {
    const parsed = parse({ model: 'm', prompt: ['one', 'two', 'three'], n: 2, stream: true });
    expect(parsed.conversation.turns).toEqual([
      { role: 'user', text: '[prompt 1]\none\n\n[prompt 2]\ntwo\n\n[prompt 3]\nthree' },
    ]);
    expect(promptOf(parsed.conversation)).toContain('one');
    expect(parsed.choices).toBe(6);
    expect(parsed.stream).toBe(true);
  });

  it('reads token prompts as empty turns (they cannot be read without the tokenizer)', () => {
    expect(parse({ model: 'm', prompt: [1, 2, 3] }).conversation.turns).toEqual([{ role: 'user', text: '' }]);
    const batch = parse({ model: 'm', prompt: [[1, 2], [3]], n: 3 });
    expect(batch.conversation.turns).toEqual([{ role: 'user', text: '[prompt 1]\n\n\n[prompt 2]\n' }]);
    expect(batch.choices).toBe(6);
  });

  it('reads a null prompt (a new document) as one empty turn', () => {
    const parsed = parse({ model: 'm', prompt: null });
    expect(parsed.conversation.turns).toEqual([{ role: 'user', text: '' }]);
    expect(parsed.choices).toBe(1);
  });

  it('gives revisions no token budget of 0 (an echo-only request)', () => {
    expect(parse({ model: 'm', prompt: 'x', echo: true, max_tokens: 0 }).maxTokens).toBeUndefined();
  });

  it('refuses a body that is not JSON', () => {
    const err = errorOf('{"model":');
    expect(err.code).toBe('invalid_json');
    expect(err.status).toBe(400);
  });

  it.each([
    ['[]', null, 'The request body must be a JSON object.'],
    ['{"prompt":"x"}', 'model', 'Invalid request: model is required and must be a string.'],
    ['{"model":"","prompt":"x"}', 'model', 'Invalid request: model must not be empty.'],
    [
      '{"model":"m"}',
      'prompt',
      'Invalid request: prompt is required and must be a string, an array of strings, an array of tokens or an array of token arrays.',
    ],
    ['{"model":"m","prompt":[]}', 'prompt', undefined],
    ['{"model":"m","prompt":["a",1]}', 'prompt', undefined],
    ['{"model":"m","prompt":[[1],[]]}', 'prompt[1]', 'Invalid request: prompt[1] must not be empty.'],
    ['{"model":"m","prompt":[1.5]}', 'prompt[0]', 'Invalid request: prompt[0] must be an integer.'],
    ['{"model":"m","prompt":[-1]}', 'prompt[0]', 'Invalid request: prompt[0] must not be negative.'],
    ['{"model":"m","prompt":"x","n":0}', 'n', 'Invalid request: n must be at least 1.'],
    ['{"model":"m","prompt":"x","n":1.5}', 'n', 'Invalid request: n must be an integer.'],
    [
      '{"model":"m","prompt":"x","n":3,"best_of":2}',
      'best_of',
      'Invalid request: best_of must be at least n.',
    ],
    ['{"model":"m","prompt":"x","stream":true,"best_of":3}', 'best_of', undefined],
    ['{"model":"m","prompt":"x","stream":"yes"}', 'stream', 'Invalid request: stream must be a boolean.'],
    [
      '{"model":"m","prompt":"x","stream_options":{"include_usage":1}}',
      'stream_options.include_usage',
      'Invalid request: stream_options.include_usage must be a boolean.',
    ],
    ['{"model":"m","prompt":"x","logit_bias":{"50256":"ban"}}', 'logit_bias.50256', undefined],
    [
      '{"model":"m","prompt":"x","temperature":3}',
      'temperature',
      'Invalid request: temperature must be at most 2.',
    ],
    ['{"model":"m","prompt":"x","logprobs":6}', 'logprobs', 'Invalid request: logprobs must be at most 5.'],
    ['{"model":"m","prompt":"x","max_tokens":-1}', 'max_tokens', undefined],
    ['{"model":"m","prompt":"x","stop":["a","b","c","d","e"]}', 'stop', undefined],
    ['{"model":"m","prompt":"x","suffix":3}', 'suffix', 'Invalid request: suffix must be a string.'],
  ])('refuses %s naming param %s', (text, param, message) => {
    const err = errorOf(text);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    if (message) expect(err.message).toBe(message);
    expect(err.toBody()).toEqual({
      error: { message: err.message, type: 'invalid_request_error', param, code: 'invalid_request' },
    });
  });
});
