// Secrets kept out of chat completion answers: whole answers, and streams split at any point (the generic scrubber with the chat codec).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  StreamScrubber,
  scrubbable,
  scrubJson,
  scrubSseEvents,
  secretMask,
} from '../../core/secret-scrub.ts';
import type { Completion } from './completion.ts';
import { ChunkAssembler } from './completion.ts';
import { chatProtocol } from './index.ts';

const secret = 'sk-upstream-secret-0123456789';
const admin = 'admin-token-abcdefghijklmnop';
const secrets = scrubbable([secret, admin, 'short']);

/** Feeds `parts` as deltas of one stream and returns what would reach the client. */
function streamed(parts: string[], scrubber = new StreamScrubber(secrets)): string {
  return parts.map((p) => scrubber.push('0', p)).join('') + scrubber.flush('0');
}

/** Cuts `text` at the given positions. */
function cut(text: string, at: number[]): string[] {
  const points = [...new Set(at.map((n) => n % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(text.slice(from, p));
    from = p;
  }
  parts.push(text.slice(from));
  return parts;
}

describe('StreamScrubber', () => {
  it('masks a secret split over many deltas, and holds nothing back for ordinary text', () => {
    const parts = ['Your key is s', 'k-', 'upstream-se', 'cret-01234', '56789 — keep it safe.'];
    expect(streamed(parts)).toBe(`Your key is ${secretMask} — keep it safe.`);
    const plain = new StreamScrubber(secrets);
    expect(plain.push('0', 'Nothing to hide here.')).toBe('Nothing to hide here.');
    expect(plain.pending()).toEqual([]);
  });

  it('releases held text that turns out not to be a secret', () => {
    const scrubber = new StreamScrubber(secrets);
    expect(scrubber.push('0', 'ask sk-up')).toBe('ask ');
    expect(scrubber.push('0', 'per case')).toBe('sk-upper case');
    expect(scrubber.push('0', ' then sk-upstream-sec')).toBe(' then ');
    expect(scrubber.flush('0')).toBe('sk-upstream-sec');
  });

  it('never lets a secret through, however the text is cut, and changes nothing else (fast-check)', () => {
    const words = fc.constantFrom('a', 'sk-', 'the ', secret, admin, secret.slice(0, 10), 'admin-', ' ', '€');
    fc.assert(
      fc.property(fc.array(words, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (ws, at) => {
        const text = ws.join('');
        const out = streamed(cut(text, at));
        expect(out).not.toContain(secret);
        expect(out).not.toContain(admin);
        expect(out).toBe(text.split(secret).join(secretMask).split(admin).join(secretMask));
      }),
      { numRuns: 500 },
    );
  });
});

describe('scrubJson', () => {
  const completion = (content: string): Completion => ({
    id: 'c1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
  });

  it('masks secrets in a whole answer and leaves a clean one alone', () => {
    const out = scrubJson(completion(`key: ${secret}`), secrets);
    expect(out?.choices[0]?.message.content).toBe(`key: ${secretMask}`);
    expect(scrubJson(completion('clean'), secrets)).toBeUndefined();
  });
});

describe('scrubSseEvents', () => {
  const event = (content: string, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id: 'c1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      choices: [{ index: 0, delta: { content }, finish_reason: finish }],
    })}\n\n`;

  it('rewrites only the events that carry (part of) a secret, and the answer assembles without it', () => {
    const scrubber = new StreamScrubber(secrets);
    const codec = chatProtocol.deltaCodec();
    const pieces = [
      event('The key: sk-ups'),
      event('tream-secret-0123'),
      event('456789.'),
      event('', 'stop'),
    ];
    const sent = pieces.map((p) => scrubSseEvents(p, scrubber, codec));
    const done = scrubSseEvents('data: [DONE]\n\n', scrubber, codec);
    expect(done).toBe('data: [DONE]\n\n');
    expect(sent[3]).toBe(pieces[3]);
    const assembler = new ChunkAssembler();
    for (const s of sent)
      for (const line of s.split('\n\n')) if (line) assembler.add(JSON.parse(line.slice(6)));
    expect(assembler.result().choices[0]?.message.content).toBe(`The key: ${secretMask}.`);
  });

  it('sends what is still held before [DONE] when the upstream never finished the choice', () => {
    const scrubber = new StreamScrubber(secrets);
    const codec = chatProtocol.deltaCodec();
    expect(scrubSseEvents(event('almost sk-upstream'), scrubber, codec)).toBe(event('almost '));
    const done = scrubSseEvents('data: [DONE]\n\n', scrubber, codec);
    expect(done).toMatch(/^data: \{.*"content":"sk-upstream".*\}\n\ndata: \[DONE\]\n\n$/);
  });

  it('hands every parsed chunk to the caller, scrubbed or not', () => {
    const seen: unknown[] = [];
    scrubSseEvents(event('a') + event('b'), new StreamScrubber(secrets), chatProtocol.deltaCodec(), (c) =>
      seen.push(c),
    );
    expect(seen).toHaveLength(2);
  });
});
