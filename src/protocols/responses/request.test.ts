// The Responses API request: what parse() accepts, the conversation it reads, and the param its 400s name.
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import { responsesProtocol } from './index.ts';

const parse = (body: unknown) => responsesProtocol.parse(JSON.stringify(body));

function rejection(body: unknown): TenetError {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof TenetError) return err;
    throw err;
  }
  throw new Error('expected the request to be rejected');
}

describe('responses parse', () => {
  it('reads a string input as one user turn after the instructions, with the sampling settings', () => {
    const req = parse({
      model: 'gpt-4.1',
      input: 'Hi',
      instructions: 'Be terse.',
      stream: true,
      temperature: 0.3,
      max_output_tokens: 200,
      store: false,
    });
    expect(req).toMatchObject({
      model: 'gpt-4.1',
      stream: true,
      choices: 1,
      temperature: 0.3,
      maxTokens: 200,
    });
    expect(req.conversation).toEqual({
      turns: [
        { role: 'system', text: 'Be terse.' },
        { role: 'user', text: 'Hi' },
      ],
    });
    expect(req.body['store']).toBe(false);
  });

  it('reads items: messages of every role, function calls merged into the assistant turn, their outputs as tool turns', () => {
    const req = parse({
      model: 'gpt-4.1',
      input: [
        { role: 'developer', content: 'Answer in French.' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'Weather in' },
            { type: 'input_image', image_url: 'https://example.com/a.png' },
            { type: 'input_text', text: 'Paris?' },
          ],
        },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        {
          type: 'function_call_output',
          call_id: 'call_2',
          output: [{ type: 'input_text', text: '10:00' }],
        },
        { role: 'system', content: 'Be kind.' },
      ],
    });
    expect(req.stream).toBe(false);
    expect(req.conversation.turns).toEqual([
      { role: 'system', text: 'Answer in French.' },
      { role: 'user', text: 'Weather in\nParis?' },
      {
        role: 'assistant',
        text: 'Checking.',
        toolCalls: [
          { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_2', name: 'get_time', arguments: '{}' },
        ],
      },
      { role: 'tool', text: 'sunny', toolCallId: 'call_1' },
      { role: 'tool', text: '10:00', toolCallId: 'call_2' },
      { role: 'system', text: 'Be kind.' },
    ]);
    expect(req.body.input?.[2]).toEqual({ type: 'reasoning', id: 'rs_1', summary: [] });
  });

  it('a function call with no assistant message before it becomes an assistant turn of its own', () => {
    const req = parse({
      model: 'm',
      input: [
        { role: 'user', content: 'hi' },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
      ],
    });
    expect(req.conversation.turns[1]).toEqual({
      role: 'assistant',
      text: '',
      toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }],
    });
  });

  it('records that previous_response_id keeps earlier turns upstream, unjudged', () => {
    const req = parse({ model: 'm', input: 'and then?', previous_response_id: 'resp_1' });
    expect(req.conversation.serverSideHistory).toBe(
      'previous_response_id resp_1: earlier turns are kept by the upstream and were not judged',
    );
    expect(
      parse({ model: 'm', input: 'x', conversation: { id: 'conv_1' } }).conversation.serverSideHistory,
    ).toBe('conversation conv_1: earlier turns are kept by the upstream and were not judged');
    expect(parse({ model: 'm', input: 'x' }).conversation.serverSideHistory).toBeUndefined();
  });

  it('rejects a body that is not JSON, or not an object', () => {
    expect(() => responsesProtocol.parse('{oops')).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    expect(rejection([1])).toMatchObject({ code: 'invalid_request', status: 400, param: null });
  });

  it.each([
    [{ input: 'x' }, 'model', 'Invalid request: model is required and must be a string.'],
    [
      { model: 'm', input: 3 },
      'input',
      'Invalid request: input must be a string or an array of input items.',
    ],
    [
      {
        model: 'm',
        input: [
          { role: 'user', content: 'a' },
          { role: 'bot', content: 'b' },
        ],
      },
      'input[1].role',
      'Invalid request: input[1].role must be user, assistant, system or developer.',
    ],
    [
      { model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      'input[0].call_id',
      'Invalid request: input[0].call_id is required and must be a string.',
    ],
    [
      { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 'a' }, { text: 'b' }] }] },
      'input[0].content[1].type',
      'Invalid request: input[0].content[1].type must be a string naming the part type.',
    ],
    [
      { model: 'm', input: [{ type: 'function_call_output', call_id: 'c' }] },
      'input[0].output',
      'Invalid request: input[0].output is required and must be a string or an array of content parts.',
    ],
    [
      { model: 'm', input: 'x', temperature: 3 },
      'temperature',
      'Invalid request: temperature must be at most 2.',
    ],
    [
      { model: 'm', input: 'x', max_output_tokens: 1.5 },
      'max_output_tokens',
      'Invalid request: max_output_tokens must be an integer.',
    ],
    [{ model: 'm', input: 'x', tools: [{ name: 'f' }] }, 'tools[0].type', undefined],
    [{ model: 'm', input: 'x', stream: 'yes' }, 'stream', 'Invalid request: stream must be a boolean.'],
  ])('names the bad param: %j → %s', (body, param, message) => {
    const err = rejection(body);
    expect(err).toMatchObject({ code: 'invalid_request', status: 400, param });
    if (message) expect(err.message).toBe(message);
  });
});
