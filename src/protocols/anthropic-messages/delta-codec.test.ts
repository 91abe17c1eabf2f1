// The Messages delta codec under the generic stream scrubber: secrets split over text and tool-input deltas never go out.
import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../core/exchange/protocol.ts';
import { StreamScrubber, scrubSseEvents, secretMask } from '../../core/secret-scrub.ts';
import { messagesProtocol } from './index.ts';

const secret = 'sk-tenet-0123456789abcdef';

const wire = (events: Anthropic.RawMessageStreamEvent[]): string[] =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);

const start: Anthropic.RawMessageStartEvent = {
  type: 'message_start',
  message: {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    container: null,
    diagnostics: null,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    stop_details: null,
    usage: {
      cache_creation: null,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      inference_geo: null,
      input_tokens: 10,
      output_tokens: 1,
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: 'standard',
      speed: null,
    },
  },
};

const textDelta = (index: number, text: string): Anthropic.RawContentBlockDeltaEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'text_delta', text },
});
const jsonDelta = (index: number, partial_json: string): Anthropic.RawContentBlockDeltaEvent => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'input_json_delta', partial_json },
});

/** Sends each chunk through the scrubber as a relay would, and assembles what the client receives. */
function relay(chunks: string[]) {
  const scrubber = new StreamScrubber([secret]);
  const codec = messagesProtocol.deltaCodec();
  const seen: SseEvent[] = [];
  const sent = chunks.map((chunk) => scrubSseEvents(chunk, scrubber, codec, (e) => seen.push(e))).join('');
  const assembler = messagesProtocol.assembler();
  for (const block of sent.split('\n\n').filter(Boolean)) {
    const name = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
    assembler.add({ event: name, data });
  }
  return { sent, seen, message: assembler.result() };
}

describe('messagesProtocol.deltaCodec', () => {
  it('masks a secret split over text deltas and over a tool input, each held text going out at its block end', () => {
    const { sent, seen, message } = relay(
      wire([
        start,
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
        textDelta(0, 'The key is sk-ten'),
        textDelta(0, `${secret.slice(6)} and the end is sk-te`),
        { type: 'content_block_stop', index: 0 },
        {
          type: 'content_block_start',
          index: 1,
          content_block: {
            type: 'tool_use',
            id: 'toolu_1',
            name: 'save',
            input: {},
            caller: { type: 'direct' },
          },
        },
        jsonDelta(1, '{"key": "sk-tenet-0123'),
        jsonDelta(1, '456789abcdef", "note": "sk-'),
        jsonDelta(1, 'x"}'),
        { type: 'content_block_stop', index: 1 },
        {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
          usage: {
            input_tokens: null,
            output_tokens: 20,
            cache_creation_input_tokens: null,
            cache_read_input_tokens: null,
            output_tokens_details: null,
            server_tool_use: null,
          },
        },
        { type: 'message_stop' },
      ]),
    );
    expect(sent).not.toContain('sk-tenet');
    expect(message.content).toEqual([
      { type: 'text', text: `The key is ${secretMask} and the end is sk-te`, citations: null },
      {
        type: 'tool_use',
        id: 'toolu_1',
        name: 'save',
        input: { key: secretMask, note: 'sk-x' },
        caller: { type: 'direct' },
      },
    ]);
    expect(seen.map((e) => e.event)).toContain('content_block_stop');
  });

  it('writes carriers as the delta each block takes, text or input JSON', () => {
    const codec = messagesProtocol.deltaCodec();
    codec.texts(
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use' } },
      'content_block_start',
    );
    expect(codec.carrier('0', 'sk-')).toBe(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"sk-"}}\n\n',
    );
    expect(codec.carrier('2', '"sk')).toBe(
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"\\"sk"}}\n\n',
    );
  });

  it('closes a block at its stop and everything at message_delta, message_stop and error', () => {
    const codec = messagesProtocol.deltaCodec();
    expect(codec.closes({ type: 'content_block_stop', index: 3 }, 'content_block_stop')).toEqual(['3']);
    expect(codec.closes({ type: 'message_delta' }, 'message_delta')).toBe('all');
    expect(codec.closes({ type: 'message_stop' }, undefined)).toBe('all');
    expect(codec.closes({ type: 'error' }, 'error')).toBe('all');
    expect(codec.closes({ type: 'ping' }, 'ping')).toEqual([]);
    expect(
      codec.texts(
        { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'x' } },
        undefined,
      ),
    ).toEqual([]);
  });
});
