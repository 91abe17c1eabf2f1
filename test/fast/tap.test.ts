// The relay's tap: what it sends and the copy it assembles are the plain scrub's, event by event, whether an event
// is read whole or taken through its shape's lane (its text alone added to the copy, scrubbed, written back).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeltaCodec, SseEvent, StreamAssembler } from '../../src/core/exchange/protocol.ts';
import { assemble, eventTap } from '../../src/core/exchange/tap.ts';
import { StreamScrubber, scrubbable, scrubSseEvents, secretMask } from '../../src/core/secret-scrub.ts';
import { chatProtocol } from '../../src/protocols/chat-completions/index.ts';
import { completionsProtocol } from '../../src/protocols/completions/index.ts';

/** A protocol's stream parts the tap uses. */
interface Tapped<A> {
  assembler(): StreamAssembler<A>;
  deltaCodec(): DeltaCodec;
}

const secret = 'sk-upstream-secret-0123456789';
const secrets = scrubbable([secret]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
const data = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const textStream = (pieces: string[]) =>
  [
    data({ role: 'assistant', content: '' }),
    ...pieces.map((p) => data({ content: p })),
    data({}, 'stop'),
    'data: [DONE]\n\n',
  ].join('');

/** The plain scrub: every event parsed and added whole, no shape. */
function plain<A>(chunks: string[], protocol: Tapped<A>) {
  const assembler = protocol.assembler();
  const scrubber = new StreamScrubber(secrets);
  const codec = protocol.deltaCodec();
  const sent = chunks.map((c) => scrubSseEvents(c, scrubber, codec, (e) => assemble(assembler, e))).join('');
  return { sent, answer: assembler.result() };
}

/** The relay's tap, with an assembler that counts the events it was given whole. */
function tapped<A>(chunks: string[], protocol: Tapped<A>) {
  const inner = protocol.assembler();
  let whole = 0;
  const counted: StreamAssembler<A> = {
    add(event: SseEvent) {
      whole++;
      inner.add(event);
    },
    appender: (event, key) => inner.appender?.(event, key),
    result: () => inner.result(),
  };
  const tap = eventTap(counted, { scrubber: new StreamScrubber(secrets), codec: protocol.deltaCodec() });
  const sent = chunks.map((c) => decoder.decode(tap(encoder.encode(c)))).join('');
  return { sent, answer: inner.result(), whole };
}

/** What a client assembles from the events it was sent. */
function received<A>(sent: string, protocol: Tapped<A>) {
  const assembler = protocol.assembler();
  for (const event of sent.split('\n\n').filter(Boolean)) assemble(assembler, { data: event.slice(6) });
  return assembler.result();
}

/**
 * The tap sends no secret, the client assembles from what it sends the answer the plain scrub's events give, and
 * its copy is the plain scrub's. (Its events may differ from the plain scrub's in where text that could have begun
 * a secret went out: the plain scrub holds it back a delta, the tap sends deltas that turn out to hold no secret
 * as they came.)
 */
function expectPlain<A>(chunks: string[], protocol: Tapped<A>) {
  const want = plain(chunks, protocol);
  const got = tapped(chunks, protocol);
  expect(got.sent).not.toContain(secret);
  expect(received(got.sent, protocol)).toEqual(received(want.sent, protocol));
  expect(got.answer).toEqual(want.answer);
  return got;
}

/** `text` cut at the ends of events: one chunk, one chunk per event, and pairs. */
function cuts(text: string): string[][] {
  const events = text.split(/(?<=\n\n)/);
  const pairs: string[] = [];
  for (let i = 0; i < events.length; i += 2) pairs.push(events.slice(i, i + 2).join(''));
  return [[text], events, pairs];
}

describe('eventTap', () => {
  it('sends and assembles what the plain scrub does, while most events take the lane', () => {
    // Deltas that end like the secret's start ("s", "sk-") are held back a turn; one spells the secret over three.
    const stream = textStream([
      'The ',
      'answers ',
      'is',
      ' sk-ups',
      'tream-secret-0123',
      '456789',
      ' and',
      ' more words',
      ' sk',
      '-ish.',
    ]);
    for (const chunks of cuts(stream)) {
      const got = expectPlain(chunks, chatProtocol);
      // The role chunk, the first text (the shape is learnt from it) and the finish are given whole; the rest
      // take the lane.
      expect(got.whole).toBe(3);
    }
    // What the client reads: the secret masked where it was spelt out, and the held-back starts sent on.
    expect(received(tapped([stream], chatProtocol).sent, chatProtocol).choices[0]?.message.content).toBe(
      `The answers is ${secretMask} and more words sk-ish.`,
    );
  });

  it("sends the lane's events in a row as they came when their texts together hold no secret", () => {
    // Deltas ending like a secret's start ("s", "sk-") that the next ones show are not one; escapes; a quote.
    const stream = textStream(['The ', 'answer is', ' sk', '-ish', ',\n "quoted"', ' and \\ done', '.']);
    // Read in one chunk: the very bytes it was given, and the copy has every text.
    const got = tapped([stream], chatProtocol);
    expect(got.sent).toBe(stream);
    expect(got.answer.choices[0]?.message.content).toBe('The answer is sk-ish,\n "quoted" and \\ done.');
    expect(got.whole).toBe(3);
    // Cut between its events, the starts of a secret are held back a delta (the next chunk may complete one).
    for (const chunks of cuts(stream)) expectPlain(chunks, chatProtocol);
    // One that spells a secret over its deltas is read event by event, and the secret is masked.
    const leaky = textStream(['The ', 'key: sk-ups', 'tream-secret-0123', '456789', ' ok']);
    const out = tapped([leaky], chatProtocol);
    expect(out.sent).not.toBe(leaky);
    expect(received(out.sent, chatProtocol).choices[0]?.message.content).toBe(`The key: ${secretMask} ok`);
    expect(out.answer.choices[0]?.message.content).toBe(`The key: ${secret} ok`);
  });

  it('assembles tool-call arguments through the lane, and reads whole every chunk that repeats a name', () => {
    const call = (args: string, name?: string) =>
      data({
        tool_calls: [{ index: 0, function: { ...(name === undefined ? {} : { name }), arguments: args } }],
      });
    const start = data({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }],
    });
    const end = `${data({}, 'tool_calls')}data: [DONE]\n\n`;
    const args = ['{"q":', '"sk-ups', 'tream-secret-0123456789', '", "n":', '2}'];
    // An upstream that sends the name once, and one that repeats it in every chunk (add() appends it each time).
    const once = start + args.map((a) => call(a)).join('') + end;
    const repeated = start + args.map((a) => call(a, 'lookup')).join('') + end;
    for (const stream of [once, repeated]) {
      for (const chunks of cuts(stream)) expectPlain(chunks, chatProtocol);
    }
    // The start, the first argument chunk (the shape is learnt from it) and the finish; the others take the lane.
    expect(tapped([once], chatProtocol).whole).toBe(3);
    expect(tapped([repeated], chatProtocol).whole).toBe(args.length + 2);
    expect(plain([repeated], chatProtocol).answer.choices[0]?.message.tool_calls?.[0]?.function.name).toBe(
      'lookup'.repeat(args.length + 1),
    );
  });

  it('takes the lane for legacy completions too, except for chunks with log probabilities', () => {
    const chunk = (text: string, extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm', choices: [{ text, index: 0, logprobs: null, finish_reason: null, ...extra }] })}\n\n`;
    const pieces = ['The ', 'key is', ' sk-ups', 'tream-secret-0123456789', ' here', '.'];
    const end = `${chunk('', { finish_reason: 'stop' })}data: [DONE]\n\n`;
    const lane = pieces.map((p) => chunk(p)).join('') + end;
    const logprobs =
      pieces.map((p) => chunk(p, { logprobs: { tokens: ['x'], token_logprobs: [-0.1] } })).join('') + end;
    for (const stream of [lane, logprobs])
      for (const chunks of cuts(stream)) expectPlain(chunks, completionsProtocol);
    // The first text (learnt from) and the finish, then the rest by their text alone; with log probabilities
    // (which add() merges, here the same in every chunk: only the text varies) every chunk goes whole.
    expect(tapped([lane], completionsProtocol).whole).toBe(2);
    expect(tapped([logprobs], completionsProtocol).whole).toBe(pieces.length + 1);
  });

  it('matches the plain scrub on any deltas, cut anywhere between events (fast-check)', () => {
    const piece = fc.constantFrom(
      'a',
      'is',
      ' s',
      'sk-',
      'sk-ups',
      secret,
      'tream-secret-0123456789',
      '€',
      '\n',
      '"q"',
      '\\',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), fc.array(fc.nat(), { maxLength: 4 }), (pieces, at) => {
        const events = textStream(pieces).split(/(?<=\n\n)/);
        const points = [...new Set(at.map((n) => n % (events.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let from = 0;
        for (const p of [...points, events.length]) {
          if (p > from) chunks.push(events.slice(from, p).join(''));
          from = Math.max(from, p);
        }
        expectPlain(chunks, chatProtocol);
      }),
      { numRuns: 300 },
    );
  });
});
