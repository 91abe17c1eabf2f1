// messagesProtocol.parse: valid Messages requests pass with every field kept and become neutral turns; invalid ones name their param.
import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import { messagesProtocol } from './index.ts';

const errorOf = (text: string): TenetError => {
  try {
    messagesProtocol.parse(text);
  } catch (err) {
    if (err instanceof TenetError) return err;
    throw err;
  }
  throw new Error('expected a TenetError');
};

// A tool-use round trip as the SDK sends it, with thinking kept, an image, and fields Tenet does not know.
const toolRoundTrip = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: [
    { type: 'text', text: 'You are a weather bot.' },
    { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
  ],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'text', text: 'Weather in Paris?' },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'Call the tool.', signature: 'sig' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: '18°C, sunny' }] },
        { type: 'text', text: 'And tomorrow?' },
      ],
    },
  ],
  tools: [
    {
      name: 'get_weather',
      description: 'Weather of a city',
      input_schema: { type: 'object', properties: { city: { type: 'string' } } },
    },
  ],
  tool_choice: { type: 'auto' },
  stream: true,
  temperature: 0.3,
  stop_sequences: ['END'],
  metadata: { user_id: 'u-1' },
  thinking: { type: 'enabled', budget_tokens: 1024 },
  a_field_from_the_future: { x: 1 },
} satisfies Anthropic.MessageCreateParams & { temperature: number; a_field_from_the_future: unknown };
// (temperature is no longer in the SDK's types; the API and older SDKs still take it, so Tenet reads it.)

describe('messagesProtocol.parse', () => {
  it('keeps every field and turns system, tool_use and tool_result into neutral turns', () => {
    const parsed = messagesProtocol.parse(JSON.stringify(toolRoundTrip));
    expect(parsed.body).toEqual(toolRoundTrip);
    expect(parsed).toMatchObject({
      model: 'claude-sonnet-4-5',
      stream: true,
      choices: 1,
      temperature: 0.3,
      maxTokens: 1024,
    });
    expect(parsed.conversation.turns).toEqual([
      { role: 'system', text: 'You are a weather bot.\nBe brief.' },
      { role: 'user', text: 'Weather in Paris?' },
      {
        role: 'assistant',
        text: 'Let me check.',
        toolCalls: [{ id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      { role: 'tool', text: '18°C, sunny', toolCallId: 'toolu_01' },
      { role: 'user', text: 'And tomorrow?' },
    ]);
  });

  it('reads string content, a string system, string tool results and image-only turns', () => {
    const body = {
      model: 'm',
      max_tokens: 5,
      system: 'Be kind.',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: '42', is_error: true }] },
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] },
      ],
    } satisfies Anthropic.MessageCreateParams;
    const parsed = messagesProtocol.parse(JSON.stringify(body));
    expect(parsed.stream).toBe(false);
    expect(parsed.temperature).toBeUndefined();
    expect(parsed.conversation.turns).toEqual([
      { role: 'system', text: 'Be kind.' },
      { role: 'user', text: 'hi' },
      { role: 'assistant', text: '', toolCalls: [{ id: 't', name: 'f', arguments: '{}' }] },
      { role: 'tool', text: '42', toolCallId: 't' },
      { role: 'user', text: '' },
    ]);
  });

  it('says a body that is not JSON is invalid_json', () => {
    const err = errorOf('{"model":');
    expect(err.code).toBe('invalid_json');
    expect(err.status).toBe(400);
  });

  it.each([
    ['[]', null, 'The request body must be a JSON object.'],
    ['{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}', 'model', 'is required'],
    ['{"model":"m","messages":[{"role":"user","content":"x"}]}', 'max_tokens', 'is required'],
    ['{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}', 'max_tokens', 'at least 1'],
    ['{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}', 'max_tokens', 'integer'],
    ['{"model":"m","max_tokens":5,"messages":[]}', 'messages', 'must not be empty'],
    ['{"model":"m","max_tokens":5,"messages":[{"role":"bot","content":"x"}]}', 'messages[0].role', "'user'"],
    [
      '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":3}]}',
      'messages[0].content',
      'string',
    ],
    [
      '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}',
      'messages[0].content[0].text',
      'must be a string',
    ],
    [
      '{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}]}',
      'messages[0].content[0].input',
      'must be an object',
    ],
    [
      '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}',
      'messages[0].content[0].tool_use_id',
      'must be a string',
    ],
    [
      '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text"}]}]}]}',
      'messages[0].content[0].content[0].text',
      'must be a string',
    ],
    [
      '{"model":"m","max_tokens":5,"system":[{"type":"image"}],"messages":[{"role":"user","content":"x"}]}',
      'system[0].type',
      "'text'",
    ],
    [
      '{"model":"m","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"x"}]}',
      'temperature',
      'at most 1',
    ],
    [
      '{"model":"m","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"x"}]}',
      'stream',
      'boolean',
    ],
    [
      '{"model":"m","max_tokens":5,"stop_sequences":"END","messages":[{"role":"user","content":"x"}]}',
      'stop_sequences',
      'array of strings',
    ],
  ])('rejects %s naming %s', (text, param, detail) => {
    const err = errorOf(text);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toContain(detail);
    if (param)
      expect(err.message).toMatch(new RegExp(`^Invalid request: ${param.replace(/[[\].]/g, '\\$&')} `));
  });

  it('accepts block types it does not know (new API features keep working)', () => {
    const body = {
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'a_block_from_the_future', payload: 1 }] }],
    };
    expect(messagesProtocol.parse(JSON.stringify(body)).body).toEqual(body);
  });
});
