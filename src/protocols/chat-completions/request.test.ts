// parseChatRequest: valid requests pass with every field kept; invalid ones name their param.
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import { parseChatRequest } from './request.ts';

const errorOf = (text: string): TenetError => {
  try {
    parseChatRequest(text);
  } catch (err) {
    if (err instanceof TenetError) return err;
    throw err;
  }
  throw new Error('expected a TenetError');
};

describe('parseChatRequest', () => {
  it('accepts every message kind OpenAI accepts and keeps unknown fields', () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'developer', content: 'be brief' },
        { role: 'system', content: [{ type: 'text', text: 'sys' }] },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:,' } }], name: 'u' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 't1', type: 'function', function: { name: 'f' } }],
        },
        { role: 'tool', content: '42', tool_call_id: 't1' },
      ],
      reasoning_effort: 'low',
      a_field_from_the_future: { x: 1 },
    };
    const parsed = parseChatRequest(JSON.stringify(body));
    expect(parsed).toEqual(body);
  });

  it.each([
    ['[]', 'invalid_request', null],
    ['{"model":1,"messages":[]}', 'invalid_request', 'model'],
    ['{"model":"m","messages":[]}', 'invalid_request', 'messages'],
    ['{"model":"m","messages":[{"role":"bot","content":"x"}]}', 'invalid_request', 'messages[0].role'],
    [
      '{"model":"m","messages":[{"role":"tool","content":"x"}]}',
      'invalid_request',
      'messages[0].tool_call_id',
    ],
    ['{"model":"m","messages":[{"role":"user","content":"x"}],"n":0}', 'invalid_request', 'n'],
    ['{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}', 'invalid_request', 'stream'],
    ['{"model":"m",', 'invalid_json', null],
  ])('rejects %s with %s naming %s', (text, code, param) => {
    const err = errorOf(text);
    expect(err.code).toBe(code);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('accepts a seed beyond 2^53, which an int64 client may send', () => {
    expect(() =>
      parseChatRequest(
        '{"model":"m","messages":[{"role":"user","content":"x"}],"seed":12345678901234567890}',
      ),
    ).not.toThrow();
  });
});
