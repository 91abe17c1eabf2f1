// Responses API streams: assembling recorded streams, replaying answers as events, the end, and the delta codec.
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../../../test/openai-schema.ts';
import type { SseEvent } from '../../core/exchange/protocol.ts';
import { sseData } from '../../core/sse.ts';
import { responsesProtocol } from './index.ts';
import type { ResponseObject } from './shape.ts';
import {
  citation,
  functionCall,
  message,
  multiPartResponse,
  recordedResponse,
  recordedStream,
  sseText,
  textPart,
} from './test-fixtures.ts';

const p = responsesProtocol;
const request = p.parse('{"model":"gpt-4.1","input":"hi","stream":true}');
const bytes = (s: string) => new TextEncoder().encode(s);

function assemble(events: SseEvent[]): ResponseObject {
  const assembler = p.assembler();
  for (const e of events) assembler.add(e);
  return assembler.result();
}

/** The events of an SSE text, with their names. */
function parseSse(text: string): { event: string; json: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      expect(rest).toEqual([]);
      expect(eventLine).toMatch(/^event: /);
      expect(dataLine).toMatch(/^data: /);
      return { event: eventLine!.slice(7), json: JSON.parse(dataLine!.slice(6)) };
    });
}

describe('responses assembler', () => {
  it('takes the final response of a recorded stream with text and a function call', () => {
    const events = recordedStream();
    const result = assemble(events);
    expect(result).toEqual(JSON.parse(events.at(-1)!.data).response);
    expect(p.draftOf(result).choices[0]).toMatchObject({
      text: 'Hello there!',
      toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
    });
  });

  it('rebuilds the output from the deltas when the final event has none, or never comes', () => {
    const events = recordedStream();
    const final = JSON.parse(events.at(-1)!.data).response;
    const withoutItemsDone = events.filter((e) => e.event !== 'response.output_item.done');
    const emptied = {
      ...events.at(-1)!,
      data: JSON.stringify({ type: 'response.completed', response: { ...final, output: [] } }),
    };
    expect(assemble([...withoutItemsDone.slice(0, -1), emptied]).output).toEqual(
      [message('msg_1', textPart('Hello there!')), functionCall('fc_1', 'call_9', '{"city":"Oslo"}')].map(
        // No output_item.done came: the items keep the status they were announced with.
        (item) => ({ ...item, status: 'in_progress' }),
      ),
    );
    const cut = assemble(events.slice(0, -1));
    expect(cut).toMatchObject({ id: 'resp_68a1', status: 'completed', output: final.output });
  });

  it('builds text from bare deltas (no item events), ignores pings and [DONE], and reads the type from the data', () => {
    const result = assemble([
      { event: 'keepalive', data: '{"type":"keepalive","sequence_number":1}' },
      ...['A', 'B'].map((delta) => ({
        data: JSON.stringify({
          type: 'response.output_text.delta',
          item_id: 'm',
          output_index: 0,
          content_index: 0,
          delta,
        }),
      })),
      {
        data: JSON.stringify({
          type: 'response.function_call_arguments.delta',
          item_id: 'f',
          output_index: 1,
          delta: '{}',
        }),
      },
      { data: '[DONE]' },
    ]);
    expect(p.draftOf(result).choices[0]?.text).toBe('AB');
    expect(result.output[1]).toMatchObject({ type: 'function_call', arguments: '{}' });
  });

  it('throws on data that is not JSON, and turns an upstream error event into an error', () => {
    expect(() => assemble([{ event: 'response.created', data: '{oops' }])).toThrow(
      expect.objectContaining({ code: 'upstream_invalid_response' }),
    );
    expect(() =>
      assemble([
        {
          event: 'error',
          data: '{"type":"error","code":"rate_limit_exceeded","message":"Slow down","param":null,"sequence_number":3}',
        },
      ]),
    ).toThrow(expect.objectContaining({ code: 'upstream_error', wireCode: 'rate_limit_exceeded' }));
  });
});

describe('responses toSse', () => {
  const answers: [string, ResponseObject][] = [
    ['text, a cited part and a function call', multiPartResponse()],
    ['a refusal', p.refusal(request, 'No, sorry.')],
    [
      'a revision',
      p.applyFinal(
        multiPartResponse(),
        [{ index: 0, kind: 'revised', text: 'x '.repeat(80) }],
        { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        request,
      ),
    ],
    [
      'an incomplete answer',
      recordedResponse({
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        output: [message('m', textPart('cut'))],
      }),
    ],
    [
      'a reasoning item',
      recordedResponse({
        output: [{ id: 'rs_1', type: 'reasoning', summary: [] }, message('m', textPart('ok'))],
      }),
    ],
  ];

  it.each(answers)(
    'streams %s as valid events, numbered from 0, that assemble back to the answer',
    (_, answer) => {
      const text = p.toSse(answer, request);
      const events = parseSse(text);
      events.forEach(({ event, json }, i) => {
        expect(json['type']).toBe(event);
        expect(json['sequence_number']).toBe(i);
        expect(schemaErrors.responseEvent(json)).toEqual([]);
      });
      expect(events[0]?.event).toBe('response.created');
      expect(events.at(-1)?.event).toBe(
        answer.status === 'incomplete' ? 'response.incomplete' : 'response.completed',
      );
      expect(assemble(events.map(({ event, json }) => ({ event, data: JSON.stringify(json) })))).toEqual(
        answer,
      );
      // Without the final event, the items rebuilt from the stream are the answer's own.
      const rebuilt = assemble(
        events.slice(0, -1).map(({ event, json }) => ({ event, data: JSON.stringify(json) })),
      );
      expect(rebuilt.output).toEqual(answer.output);
      expect(p.streamEnded(bytes(text))).toBe(true);
      expect(
        p.streamEnded(
          bytes(
            sseText(events.slice(0, -1).map(({ event, json }) => ({ event, data: JSON.stringify(json) }))),
          ),
        ),
      ).toBe(false);
    },
  );

  it('splits text into word-end pieces of about 48 characters, and annotations into their own events', () => {
    const long = 'word '.repeat(30);
    const text = p.toSse(recordedResponse({ output: [message('m', textPart(long, [citation]))] }), request);
    const deltas = parseSse(text)
      .filter((e) => e.event === 'response.output_text.delta')
      .map((e) => e.json['delta']);
    expect(deltas.join('')).toBe(long);
    expect(deltas.length).toBe(4);
    expect(parseSse(text).filter((e) => e.event === 'response.output_text.annotation.added')).toHaveLength(1);
  });
});

describe('responses streamEnded', () => {
  it.each([
    ['event: response.completed\ndata: {"type":"response.completed","response":{}}\n\n', true],
    ['data: {"type": "response.failed","response":{}}\n\n', true],
    ['event: response.incomplete\ndata: {"sequence_number":9,"type":"response.incomplete"}\n\n', true],
    ['data: [DONE]\n\n', true],
    ['data: {"type":"response.output_text.delta","delta":"the \\"response.completed\\" event"}\n\n', false],
    ['data: {"type":"response.output_text.delta","delta":"response.completed"}\n\n', false],
    ['event: response.in_progress\ndata: {"type":"response.in_progress"}\n\n', false],
  ])('%j → %s', (text, ended) => {
    expect(p.streamEnded(bytes(text))).toBe(ended);
  });
});

describe('responses deltaCodec', () => {
  const events = recordedStream().map((e) => ({
    name: e.event,
    json: JSON.parse(e.data) as Record<string, unknown>,
  }));

  it('finds text and argument deltas under their keys, and rewrites them in place', () => {
    const codec = p.deltaCodec();
    const slots = events.flatMap(({ json, name }) => codec.texts(json, name).map((s) => [s.key, s.text]));
    expect(slots).toEqual([
      ['0:0', 'Hello'],
      ['0:0', ' there'],
      ['0:0', '!'],
      ['1:args', '{"city":'],
      ['1:args', '"Oslo"}'],
    ]);
    const delta = { ...events[4]!.json };
    codec.texts(delta, undefined)[0]?.set('Hel');
    expect(delta['delta']).toBe('Hel');
  });

  it('names what each done event closes, and all at the last event', () => {
    const codec = p.deltaCodec();
    const closes = events.map(({ json, name }) => {
      const out = codec.closes(json, name);
      codec.texts(json, name);
      return [name, out];
    });
    expect(closes.filter(([, keys]) => keys === 'all' || (keys as string[]).length > 0)).toEqual([
      ['response.output_text.done', ['0:0']],
      ['response.content_part.done', ['0:0']],
      ['response.output_item.done', ['0:0']],
      ['response.function_call_arguments.done', ['1:args']],
      ['response.output_item.done', ['1:args']],
      ['response.completed', 'all'],
    ]);
    expect(codec.closes('[DONE]', undefined)).toBe('all');
    expect(codec.closes({ type: 'error', message: 'x' }, 'error')).toBe('all');
  });

  it('carries held text as a valid delta event with the last sequence number seen', () => {
    const codec = p.deltaCodec();
    for (const { json, name } of events.slice(0, 7)) codec.texts(json, name); // through the last text delta (6)
    const text = codec.carrier('0:0', 'held');
    expect(text).toMatch(/^event: response\.output_text\.delta\ndata: .*\n\n$/);
    const [only] = sseData(text);
    const json = JSON.parse(only!);
    expect(json).toEqual({
      type: 'response.output_text.delta',
      sequence_number: 6,
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: 'held',
      logprobs: [],
    });
    expect(schemaErrors.responseEvent(json)).toEqual([]);
    for (const { json: j, name } of events.slice(7, 12)) codec.texts(j, name);
    const args = JSON.parse(sseData(codec.carrier('1:args', '}'))[0]!);
    expect(args).toMatchObject({
      type: 'response.function_call_arguments.delta',
      item_id: 'fc_1',
      output_index: 1,
      delta: '}',
    });
    expect(schemaErrors.responseEvent(args)).toEqual([]);
  });
});
