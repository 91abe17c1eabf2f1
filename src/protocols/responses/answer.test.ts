// The Responses API answer: reading drafts, putting revisions and refusals back, and the errors, all schema-valid.
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../../../test/openai-schema.ts';
import { TenetError } from '../../core/errors.ts';
import { responsesProtocol } from './index.ts';
import type { ResponseObject } from './shape.ts';
import {
  citation,
  functionCall,
  message,
  multiPartResponse,
  recordedResponse,
  textPart,
} from './test-fixtures.ts';

const p = responsesProtocol;
const request = p.parse(
  JSON.stringify({
    model: 'gpt-4.1',
    input: 'Weather in Paris?',
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }],
  }),
);
const noUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
const revisionUsage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };

/** Applies `finals`, checking the input is never mutated and the result is a valid response. */
function apply(answer: ResponseObject, finals: Parameters<typeof p.applyFinal>[1], usage = noUsage) {
  const before = JSON.stringify(answer);
  const out = p.applyFinal(answer, finals, usage, request);
  expect(JSON.stringify(answer)).toBe(before);
  expect(schemaErrors.response(out)).toEqual([]);
  return out;
}

describe('responses readAnswer', () => {
  it('reads a response object, keeping every field', () => {
    const answer = multiPartResponse();
    expect(p.readAnswer(JSON.stringify(answer))).toEqual(answer);
  });

  it.each(['not json', '{"object":"chat.completion","id":"x","model":"m","choices":[]}', '[]'])(
    'refuses what is not a response: %s',
    (text) => {
      expect(() => p.readAnswer(text)).toThrow(
        expect.objectContaining({
          code: 'upstream_invalid_response',
          message: 'The upstream model sent an answer that is not a Responses API response object.',
        }),
      );
    },
  );
});

describe('responses draftOf', () => {
  it('joins the text of every message item and lists the function calls', () => {
    expect(p.draftOf(multiPartResponse())).toEqual({
      choices: [
        {
          index: 0,
          text: 'Paris is sunny today. Let me check the forecast.',
          toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
          finishReason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 80, completion_tokens: 30, total_tokens: 110 },
    });
  });

  it('reads stop, the incomplete reason, and no text', () => {
    const done = recordedResponse({ output: [message('m', textPart('Hi'))] });
    expect(p.draftOf(done).choices[0]).toMatchObject({ text: 'Hi', finishReason: 'stop' });
    const cut = recordedResponse({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [message('m', textPart('Hi'))],
    });
    expect(p.draftOf(cut).choices[0]?.finishReason).toBe('max_output_tokens');
    const callsOnly = recordedResponse({ output: [functionCall('fc', 'c', '{}')], usage: null });
    expect(p.draftOf(callsOnly)).toMatchObject({
      choices: [{ text: null, finishReason: 'tool_calls' }],
      usage: null,
    });
  });
});

describe('responses applyFinal', () => {
  it('unchanged returns the very same object', () => {
    const answer = multiPartResponse();
    expect(apply(answer, [{ index: 0, kind: 'unchanged' }])).toBe(answer);
    expect(apply(answer, [])).toBe(answer);
  });

  it('unchanged still adds the tokens a revision spent', () => {
    const out = apply(multiPartResponse(), [{ index: 0, kind: 'unchanged' }], revisionUsage);
    expect(out.usage).toMatchObject({ input_tokens: 90, output_tokens: 35, total_tokens: 125 });
    expect(out.output).toEqual(multiPartResponse().output);
  });

  it('revised puts the text in the first text part, drops the other text, keeps the function call', () => {
    const out = apply(
      multiPartResponse(),
      [{ index: 0, kind: 'revised', text: 'Paris: rain.' }],
      revisionUsage,
    );
    expect(out.output).toEqual([
      message('msg_a', textPart('Paris: rain.')),
      functionCall('fc_a', 'call_1', '{"city":"Paris"}'),
    ]);
    expect(out.usage).toMatchObject({ input_tokens: 90, output_tokens: 35, total_tokens: 125 });
    expect(p.draftOf(out).choices[0]).toMatchObject({ text: 'Paris: rain.', finishReason: 'tool_calls' });
  });

  it('revised keeps a message that still has other parts, and the SDK-style output_text in step', () => {
    const answer = recordedResponse({
      output: [
        message('m1', textPart('a')),
        message('m2', { type: 'refusal', refusal: 'no' }, textPart('b')),
      ],
      output_text: 'ab',
    });
    const out = apply(answer, [{ index: 0, kind: 'revised', text: 'c' }]);
    expect(out.output).toEqual([
      message('m1', textPart('c')),
      message('m2', { type: 'refusal', refusal: 'no' }),
    ]);
    expect(out['output_text']).toBe('c');
  });

  it('revised adds a message before the function calls when the draft had no text', () => {
    const answer = recordedResponse({ output: [functionCall('fc', 'c', '{}')] });
    const out = apply(answer, [{ index: 0, kind: 'revised', text: 'I will look it up.' }]);
    expect(out.output).toEqual([
      {
        id: expect.stringMatching(/^msg_tenet_/),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [textPart('I will look it up.')],
      },
      functionCall('fc', 'c', '{}'),
    ]);
  });

  it('revised completes a response a stream left in progress, and keeps an incomplete one as it was', () => {
    const open = recordedResponse({ status: 'in_progress', output: [message('m', textPart('a'))] });
    expect(apply(open, [{ index: 0, kind: 'revised', text: 'b' }]).status).toBe('completed');
    const cut = recordedResponse({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
    expect(apply(cut, [{ index: 0, kind: 'revised', text: 'b' }])).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it('refused replaces every output item with one message that refuses', () => {
    const cut = recordedResponse({
      ...multiPartResponse(),
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
    const out = apply(cut, [{ index: 0, kind: 'refused', message: 'Sorry, I cannot help with that.' }]);
    expect(out).toMatchObject({
      status: 'completed',
      incomplete_details: null,
      error: null,
      id: 'resp_68a1',
    });
    expect(out.output).toEqual([
      {
        id: expect.stringMatching(/^msg_tenet_[0-9a-f]{32}$/),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'refusal', refusal: 'Sorry, I cannot help with that.' }],
      },
    ]);
    expect(p.draftOf(out).choices[0]).toMatchObject({ text: null, toolCalls: [], finishReason: 'stop' });
  });

  it('keeps annotations of the parts it does not touch', () => {
    const answer = recordedResponse({ output: [message('m', textPart('Paris', [citation]))] });
    expect(apply(answer, [{ index: 0, kind: 'refused', message: 'no' }]).output).toHaveLength(1);
    expect(answer.output[0]).toEqual(message('m', textPart('Paris', [citation])));
  });
});

describe('responses refusal', () => {
  it('is a whole valid response refusing, with a tenet id, the request model and zero usage', () => {
    const out = p.refusal(request, 'Not allowed.');
    expect(schemaErrors.response(out)).toEqual([]);
    expect(out).toMatchObject({
      id: expect.stringMatching(/^resp_tenet_/),
      object: 'response',
      status: 'completed',
      model: 'gpt-4.1',
      usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      tools: [{ type: 'function', name: 'get_weather', strict: true }],
    });
    expect(out.output[0]).toMatchObject({ content: [{ type: 'refusal', refusal: 'Not allowed.' }] });
    expect(p.readAnswer(JSON.stringify(out))).toEqual(out);
  });
});

describe('responses errors', () => {
  const err = new TenetError('invalid_request', 'Invalid request: input is bad.', { param: 'input' });

  it('an HTTP error is the OpenAI error body', () => {
    const body = p.errorBody(err);
    expect(body).toEqual({
      error: {
        message: 'Invalid request: input is bad.',
        type: 'invalid_request_error',
        param: 'input',
        code: 'invalid_request',
      },
    });
    expect(schemaErrors.error(body)).toEqual([]);
  });

  it('a stream error is an `error` event, valid, carrying the error object the SDKs raise', () => {
    const text = p.sseError(new TenetError('upstream_stream_broken', 'The upstream broke off.'));
    expect(text.startsWith('event: error\ndata: ')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(true);
    const data = JSON.parse(text.slice('event: error\ndata: '.length));
    expect(data).toMatchObject({
      type: 'error',
      code: 'upstream_stream_broken',
      message: 'The upstream broke off.',
      param: null,
      sequence_number: 0,
      error: {
        message: 'The upstream broke off.',
        type: 'server_error',
        code: 'upstream_stream_broken',
        param: null,
      },
    });
    expect(schemaErrors.responseEvent(data)).toEqual([]);
  });
});
