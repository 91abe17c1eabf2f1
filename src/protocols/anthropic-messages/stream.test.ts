// Messages streams through the protocol: assembling recorded-shape streams, writing answers as streams, stream ends.
import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../core/errors.ts';
import type { SseEvent } from '../../core/exchange/protocol.ts';
import { messagesProtocol } from './index.ts';

/** Complete SSE text as the events an assembler is handed (the `event:` name and the data). */
function sseEvents(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split(/\r?\n/);
      const name = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(l[5] === ' ' ? 6 : 5))
        .join('\n');
      return { event: name, data };
    });
}

const wire = (events: ReadonlyArray<Anthropic.RawMessageStreamEvent | { type: 'ping' }>): string =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

const assemble = (text: string) => {
  const assembler = messagesProtocol.assembler();
  for (const event of sseEvents(text)) assembler.add(event);
  return assembler.result();
};

const startUsage: Anthropic.Usage = {
  cache_creation: null,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  inference_geo: null,
  input_tokens: 472,
  output_tokens: 2,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
};

const started: Anthropic.Message = {
  id: 'msg_014p7gG3wDgGV9EUtLvnow3U',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  container: null,
  diagnostics: null,
  content: [],
  stop_reason: null,
  stop_sequence: null,
  stop_details: null,
  usage: startUsage,
};

const direct = { type: 'direct' } as const;

/** The shape Anthropic streams a text answer with a tool call in: pings, an empty first partial_json, pieces. */
const recorded = wire([
  { type: 'message_start', message: started },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Okay, let me check' } },
  {
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: ' the weather for San Francisco.' },
  },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'content_block_start',
    index: 1,
    content_block: {
      type: 'tool_use',
      id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      name: 'get_weather',
      input: {},
      caller: direct,
    },
  },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
  {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: '{"location":' },
  },
  {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: ' "San Francisco, CA"' },
  },
  {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: ', "unit": "fahrenheit"}' },
  },
  { type: 'content_block_stop', index: 1 },
  {
    type: 'content_block_start',
    index: 2,
    content_block: { type: 'tool_use', id: 'toolu_02', name: 'now', input: {}, caller: direct },
  },
  { type: 'content_block_stop', index: 2 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
    usage: {
      input_tokens: 472,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 89,
      output_tokens_details: null,
      server_tool_use: null,
    },
  },
  { type: 'message_stop' },
]);

const recordedAnswer: Anthropic.Message = {
  ...started,
  content: [
    { type: 'text', text: 'Okay, let me check the weather for San Francisco.', citations: null },
    {
      type: 'tool_use',
      id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
      name: 'get_weather',
      input: { location: 'San Francisco, CA', unit: 'fahrenheit' },
      caller: direct,
    },
    { type: 'tool_use', id: 'toolu_02', name: 'now', input: {}, caller: direct },
  ],
  stop_reason: 'tool_use',
  usage: { ...startUsage, output_tokens: 89 },
};

const citation: Anthropic.CitationCharLocation = {
  type: 'char_location',
  cited_text: 'The grass is green.',
  document_index: 0,
  document_title: 'Facts',
  end_char_index: 19,
  file_id: null,
  start_char_index: 0,
};

/** Thinking, text split around a citation, and a long text: every kind of delta toSse writes. */
const richAnswer: Anthropic.Message = {
  ...started,
  content: [
    {
      type: 'thinking',
      thinking: 'The document says the grass is green. '.repeat(4),
      signature: 'EqQBCgIYAhIM1gbcDa',
    },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
    { type: 'text', text: 'According to the document, ', citations: null },
    { type: 'text', text: 'the grass is green', citations: [citation] },
    {
      type: 'text',
      text: `. ${'It has been green for a long time, and it will stay green. '.repeat(5)}`,
      citations: null,
    },
  ],
  stop_reason: 'end_turn',
  usage: { ...startUsage, output_tokens: 312, cache_read_input_tokens: 100 },
};

const request = messagesProtocol.parse(
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
  }),
);

describe('messagesProtocol.assembler', () => {
  it('rebuilds a recorded stream with text and tool calls as the non-streamed API returns it', () => {
    expect(assemble(recorded)).toEqual(recordedAnswer);
  });

  it('rebuilds the message from pre-parsed events too', () => {
    const assembler = messagesProtocol.assembler();
    for (const event of sseEvents(recorded)) assembler.add({ ...event, json: JSON.parse(event.data) });
    expect(assembler.result()).toEqual(recordedAnswer);
  });

  it('throws upstream_invalid_response on data that is not JSON, or a delta of a block never started', () => {
    const assembler = messagesProtocol.assembler();
    expect(() => assembler.add({ event: 'content_block_delta', data: '{"type":' })).toThrow(TenetError);
    expect(() =>
      assembler.add({
        event: 'content_block_delta',
        data: '{"type":"content_block_delta","index":3,"delta":{}}',
      }),
    ).toThrow(/not a message/);
    expect(() => messagesProtocol.assembler().result()).toThrow(/no message_start/);
  });

  it('throws the upstream error of an error event', () => {
    const assembler = messagesProtocol.assembler();
    const data = JSON.stringify({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    let caught: unknown;
    try {
      assembler.add({ event: 'error', data });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'upstream_stream_broken', type: 'overloaded_error' });
    expect((caught as Error).message).toContain('Overloaded');
  });
});

describe('messagesProtocol.toSse', () => {
  it.each([
    ['text and tool calls', recordedAnswer],
    ['thinking, redacted thinking, cited and long text', richAnswer],
    ['a refusal', messagesProtocol.refusal(request, 'Sorry, I cannot help with that.')],
  ])('streams %s as events that assemble back into the answer', (_, message) => {
    const answer = messagesProtocol.readAnswer(JSON.stringify(message));
    const sse = messagesProtocol.toSse(answer, request);
    expect(assemble(sse)).toEqual(answer);
    expect(messagesProtocol.streamEnded(new TextEncoder().encode(sse))).toBe(true);
  });

  it('writes the event sequence the API streams, text in word-end pieces of about 48 characters', () => {
    const sse = messagesProtocol.toSse(messagesProtocol.readAnswer(JSON.stringify(richAnswer)), request);
    const events = sseEvents(sse);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('message_start');
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const start = JSON.parse(events[0]?.data ?? '') as Anthropic.RawMessageStartEvent;
    expect(start.message).toMatchObject({ content: [], stop_reason: null, usage: { output_tokens: 0 } });
    const delta = JSON.parse(events.at(-2)?.data ?? '') as Anthropic.RawMessageDeltaEvent;
    expect(delta).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null },
      usage: { output_tokens: 312 },
    });
    const texts = events
      .map((e) => JSON.parse(e.data) as Anthropic.RawMessageStreamEvent)
      .flatMap((e) =>
        e.type === 'content_block_delta' && e.index === 4 && e.delta.type === 'text_delta'
          ? [e.delta.text]
          : [],
      );
    expect(texts.length).toBeGreaterThan(5);
    // A piece ends after the space at or before character 48.
    for (const piece of texts) expect(piece.length).toBeLessThanOrEqual(49);
    expect(texts.every((piece) => piece.endsWith(' '))).toBe(true);
    expect(texts.join('')).toBe((richAnswer.content[4] as Anthropic.TextBlock).text);
  });
});

describe('messagesProtocol.streamEnded', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('sees message_stop and error events, in either line ending', () => {
    expect(messagesProtocol.streamEnded(bytes(recorded))).toBe(true);
    expect(
      messagesProtocol.streamEnded(bytes('event:message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n')),
    ).toBe(true);
    const error = messagesProtocol.sseError(new TenetError('upstream_error', 'x'));
    expect(messagesProtocol.streamEnded(bytes(error))).toBe(true);
  });

  it('is not fooled by the words inside the data, nor by other events', () => {
    const withoutStop = recorded.slice(0, recorded.indexOf('event: message_stop'));
    expect(messagesProtocol.streamEnded(bytes(withoutStop))).toBe(false);
    const quoted = wire([
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: '\nevent: message_stop\n' },
      },
    ]);
    expect(messagesProtocol.streamEnded(bytes(quoted))).toBe(false);
    expect(messagesProtocol.streamEnded(bytes('event: message_stopped\ndata: {}\n\n'))).toBe(false);
  });
});
