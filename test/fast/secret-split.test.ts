// Secrets split anywhere never reach a client: forwarded bytes cut at any point, and every protocol's streams (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteScrubber } from '../../src/core/byte-scrub.ts';
import {
  StreamScrubber,
  scrubbable,
  scrubSseEvents,
  secretMask,
  splitEvents,
} from '../../src/core/secret-scrub.ts';
import { protocols } from '../../src/protocols/index.ts';
import { samples } from './protocol-samples.ts';

const secret = 'UPSTREAMsecret7f3a9c1e5b2d4680aa';
const admin = 'ADMINsecret2c4e6a8b0d1f3579dd';
const secrets = scrubbable([secret, admin]);
const words = fc.constantFrom(
  'a',
  'UPSTREAM',
  'the ',
  secret,
  admin,
  secret.slice(0, 12),
  'ADMIN',
  ' ',
  '€',
  '\n',
);

/** `items` cut into consecutive groups at the given positions. */
function cut<T>(items: T[], at: number[]): T[][] {
  const points = [...new Set(at.map((n) => n % (items.length + 1)))].sort((a, b) => a - b);
  const parts: T[][] = [];
  let from = 0;
  for (const p of points) {
    parts.push(items.slice(from, p));
    from = p;
  }
  parts.push(items.slice(from));
  return parts;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('splitEvents', () => {
  it('cuts SSE text into events and separators exactly as the regular expression does', () => {
    const pieces = fc.constantFrom('a', 'data: {"x":1}', '\n', '\r', '\n\n', '\r\n', ': ping', ' ');
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 16 }), (ps) => {
        const text = ps.join('');
        expect(splitEvents(text)).toEqual(text.split(/(\r?\n\r?\n)/));
      }),
    );
  });
});

describe('forwarded bodies (ByteScrubber)', () => {
  it('masks every secret however the bytes are cut, and changes nothing else', () => {
    fc.assert(
      fc.property(fc.array(words, { maxLength: 14 }), fc.array(fc.nat(), { maxLength: 10 }), (ws, at) => {
        const text = ws.join('');
        const scrubber = new ByteScrubber(secrets);
        const out: Uint8Array[] = cut([...encoder.encode(text)], at).map((part) =>
          scrubber.push(new Uint8Array(part)),
        );
        out.push(scrubber.flush());
        const sent = decoder.decode(new Uint8Array(out.flatMap((o) => [...o])));
        expect(sent).not.toContain(secret);
        expect(sent).not.toContain(admin);
        expect(sent).toBe(text.split(secret).join(secretMask).split(admin).join(secretMask));
      }),
      { numRuns: 300 },
    );
  });

  it('passes a chunk with no secret byte through as it came', () => {
    const chunk = encoder.encode('{"data":[{"id":"gpt-4o"}]}');
    expect(new ByteScrubber(secrets).push(chunk)).toBe(chunk);
  });
});

describe.each(protocols.map((p) => [p.id, p] as const))('%s streams (audit and buffered)', (id, protocol) => {
  it('mask every secret in every event, whatever groups of events arrive together', () => {
    const sample = samples[id];
    fc.assert(
      fc.property(
        fc.array(words, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (ws, at) => {
          const text = ws.join('');
          const request = protocol.parse(JSON.stringify(sample.request('hi', { stream: true })));
          const sse = protocol.toSse(protocol.readAnswer(JSON.stringify(sample.answer(text))), request);
          const events = sse.split(/(?<=\n\n)/);
          const scrubber = new StreamScrubber(secrets);
          const codec = protocol.deltaCodec();
          const sent = cut(events, at)
            .map((group) => scrubSseEvents(group.join(''), scrubber, codec))
            .join('');
          expect(sent).not.toContain(secret);
          expect(sent).not.toContain(admin);
          // Nothing is lost: without secrets in it, the stream is unchanged.
          if (
            !text.includes(secret) &&
            !text.includes(admin) &&
            !text.includes('UPSTREAM') &&
            !text.includes('ADMIN')
          )
            expect(sent).toBe(sse);
        },
      ),
      { numRuns: 60 },
    );
  });
});
