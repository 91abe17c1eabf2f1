import { describe, expect, it } from 'vitest';
import { messagesProtocol } from '../protocols/anthropic-messages/index.ts';
import { chatProtocol } from '../protocols/chat-completions/index.ts';
import { responsesProtocol } from '../protocols/responses/index.ts';
import { EventShape } from './event-shape.ts';
import type { DeltaCodec, SseEvent } from './exchange/protocol.ts';
import { StreamScrubber, scrubSseEvents, secretMask } from './secret-scrub.ts';

const chunk = (content: string, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: finish }],
  });

/** Reads `datas` in order as scrubSseEvents does: learning from each event parsed whole around one text. */
function readAll(datas: string[], codec: DeltaCodec, name?: string) {
  const shape = new EventShape();
  return datas.map((data) => {
    const { json, matched } = shape.read(data, name);
    const slots = codec.texts(json as Record<string, unknown>, name);
    const only = slots[0];
    if (!matched && slots.length === 1 && only)
      shape.learn(data, name, json as Record<string, unknown>, only);
    return { json, matched };
  });
}

/** A codec that finds a Responses text delta (`delta`) in the events a test makes. */
const responsesCodec = (): DeltaCodec => responsesProtocol.deltaCodec();

describe('EventShape', () => {
  it('reads events alike but for their text as JSON.parse would, without parsing them', () => {
    const texts = [
      'Hello',
      ' wor',
      'ld',
      '',
      ' line\nbreak',
      ' "quoted"',
      ' back\\slash',
      ' caf\u00e9 \u{1F600}',
      ' \u0001',
    ];
    const datas = texts.map((t) => chunk(t));
    const read = readAll(datas, chatProtocol.deltaCodec());
    expect(read.map((r) => r.json)).toEqual(datas.map((d) => JSON.parse(d)));
    // The first is parsed (the shape is learnt from it: its text is not empty); every other one is read.
    expect(read.map((r) => r.matched)).toEqual(texts.map((_, i) => i > 0));
  });

  it('learns from a text that is also another string of its event (the model name, a key) where the text is', () => {
    // "m" is the model too, "index" a key: the text's place is found all the same, and the events read right.
    for (const first of ['m', 'index', 'chat.completion.chunk']) {
      const datas = [first, ' next', 'm', ' "index"'].map((t) => chunk(t));
      const read = readAll(datas, chatProtocol.deltaCodec());
      expect(read.map((r) => r.json)).toEqual(datas.map((d) => JSON.parse(d)));
      expect(read.at(-1)?.matched).toBe(true);
    }
  });

  it('parses whatever does not keep the shape: another field, another event, a string that is not one string', () => {
    const codec = chatProtocol.deltaCodec();
    const shape = new EventShape();
    for (const t of ['a', 'a']) {
      const json = shape.read(chunk(t), undefined).json as Record<string, unknown>;
      shape.learn(chunk(t), undefined, json, codec.texts(json, undefined)[0]!);
    }
    // The same bytes around `a","refusal":"x` are another object (an extra key), not a text.
    const smuggled = chunk('a').replace('"content":"a"', '"content":"a","refusal":"x"');
    const others = [
      chunk('', 'stop'),
      smuggled,
      JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { total_tokens: 3 } }),
    ];
    for (const data of others)
      expect(shape.read(data, undefined)).toEqual({ json: JSON.parse(data), matched: false });
    expect(shape.read(chunk('b'), undefined)).toEqual({ json: JSON.parse(chunk('b')), matched: true });
    expect(() => shape.read('{"not json', undefined)).toThrow(SyntaxError);
  });

  it('never learns an upstream whose bytes are not its compact JSON (spaces, escapes it chose): parses each', () => {
    const spaced = (t: string) =>
      `{"id": "1", "choices": [{"index": 0, "delta": {"content": ${JSON.stringify(t)}}}]}`;
    const datas = ['a', 'b', 'c'].map(spaced);
    const read = readAll(datas, chatProtocol.deltaCodec());
    expect(read.map((r) => r.json)).toEqual(datas.map((d) => JSON.parse(d)));
    expect(read.every((r) => !r.matched)).toBe(true);
  });

  it("reads OpenAI's chunks with their per-chunk obfuscation string too; more varying strings or numbers: parsed", () => {
    const pad = (i: number) => 'xyz0123456789'.slice(0, 1 + (i % 12));
    const obfuscated = (t: string, i: number) =>
      JSON.stringify({ ...JSON.parse(chunk(t)), obfuscation: pad(i) });
    const texts = ['Hel', 'lo', ' the', ' the', ' "quoted"\n', ' end'];
    const datas = texts.map(obfuscated);
    const read = readAll(datas, chatProtocol.deltaCodec());
    expect(read.map((r) => r.json)).toEqual(datas.map((d) => JSON.parse(d)));
    expect(read.map((r) => r.matched)).toEqual(texts.map((_, i) => i > 1));
    // Four strings varying from event to event (id, model, system_fingerprint and the text): beyond what a shape
    // keeps. A number varying (a sequence number): another shape each time.
    const busy = (t: string, i: number) =>
      JSON.stringify({ ...JSON.parse(chunk(t)), id: `c${i}`, model: `m${i}`, system_fingerprint: `fp${i}` });
    const sequenced = (t: string, i: number) =>
      JSON.stringify({
        type: 'response.output_text.delta',
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        delta: t,
        sequence_number: i,
      });
    for (const make of [busy, sequenced]) {
      const many = texts.map(make);
      const codec = make === busy ? chatProtocol.deltaCodec() : responsesCodec();
      // Each event has its one text where the codec looks (else nothing would be learnt to begin with).
      expect(codec.texts(JSON.parse(many[0]!) as Record<string, unknown>, undefined)).toHaveLength(1);
      const got = readAll(many, codec);
      expect(got.map((r) => r.json)).toEqual(many.map((d) => JSON.parse(d)));
      expect(got.every((r) => !r.matched)).toBe(true);
    }
  });

  it('keeps the event name: a shape learnt under one name reads no event of another', () => {
    const codec = messagesProtocol.deltaCodec();
    const delta = (text: string) =>
      JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
    const shape = new EventShape();
    for (const t of ['a', 'a']) {
      const json = shape.read(delta(t), 'content_block_delta').json as Record<string, unknown>;
      const [slot] = codec.texts(json, 'content_block_delta');
      shape.learn(delta(t), 'content_block_delta', json, slot!);
    }
    expect(shape.read(delta('b'), 'content_block_delta')).toEqual({
      json: JSON.parse(delta('b')),
      matched: true,
    });
    expect(shape.read(delta('b'), 'other').matched).toBe(false);
  });

  it('gives each event its own objects on the way to the text: setting one text changes no other event', () => {
    const codec = chatProtocol.deltaCodec();
    const [, , second, third] = readAll([chunk('a'), chunk('a'), chunk('b'), chunk('c')], codec);
    expect([second!.matched, third!.matched]).toEqual([true, true]);
    codec.texts(second!.json as Record<string, unknown>, undefined)[0]!.set('changed');
    expect(third!.json).toEqual(JSON.parse(chunk('c')));
    expect(second!.json).toEqual(JSON.parse(chunk('changed')));
  });

  it('changes nothing a scrubbed stream sends or assembles: a secret split over shaped deltas is still masked', () => {
    const secrets = ['sk-upstream-secret-0123456789'];
    const pieces = ['The key: sk-ups', 'tream-secret-0123', '456789.', ' And more', ' text.'];
    const stream = `${pieces.map((p) => `data: ${chunk(p)}\n\n`).join('')}data: ${chunk('', 'stop')}\n\ndata: [DONE]\n\n`;
    const run = (shape?: EventShape) => {
      const assembler = chatProtocol.assembler();
      const scrubber = new StreamScrubber(secrets);
      const codec = chatProtocol.deltaCodec();
      const seen: SseEvent[] = [];
      // Piece by piece, as a stream arrives (events split over reads are whole here).
      const sent = stream.split(/(?<=\n\n)/).map((part) =>
        scrubSseEvents(
          part,
          scrubber,
          codec,
          (e) => {
            seen.push(e);
            assembler.add(e);
          },
          shape,
        ),
      );
      return { sent: sent.join(''), answer: assembler.result(), seen: seen.map((e) => e.json) };
    };
    const plain = run();
    const shaped = run(new EventShape());
    expect(shaped).toEqual(plain);
    expect(shaped.sent).not.toContain('sk-upstream-secret');
    const received = chatProtocol.assembler();
    for (const data of shaped.sent.split('\n\n').filter(Boolean)) received.add({ data: data.slice(6) });
    expect(received.result().choices[0]?.message.content).toBe(`The key: ${secretMask}. And more text.`);
  });

  it('never reads events by a shape that holds a secret outside the text: each such event is masked whole', () => {
    const secret = 'sk-upstream-secret-0123456789';
    // An upstream that echoes the key in every chunk's id: the id is not a text delta, but no byte of it may go out.
    const leaky = (content: string) =>
      JSON.stringify({ ...JSON.parse(chunk(content)), id: `chatcmpl-${secret}` });
    const pieces = ['One', ' two', ' three', ' four', ' five.'];
    const stream = pieces.map((p) => `data: ${leaky(p)}\n\n`).join('');
    const shape = new EventShape();
    const scrubber = new StreamScrubber([secret]);
    const codec = chatProtocol.deltaCodec();
    const sent = stream
      .split(/(?<=\n\n)/)
      .map((part) => scrubSseEvents(part, scrubber, codec, undefined, shape))
      .join('');
    expect(sent).not.toContain(secret);
    expect(sent.match(/chatcmpl-\[redacted\]/g)).toHaveLength(pieces.length);
    // Nothing was learnt from those events: every one was parsed and masked on its own.
    expect(shape.textOnly).toBe(false);
  });
});
