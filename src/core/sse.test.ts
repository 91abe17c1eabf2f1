// SseFramer and friends: whole events only, whatever the chunking, LF or CRLF; [DONE] only as a data line.
import { describe, expect, it } from 'vitest';
import { containsDone, SseFramer, sseData, sseError } from './sse.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : '');

describe('SseFramer', () => {
  it('hands out whole events only, however the bytes are split', () => {
    const stream = 'data: {"a":"é"}\n\n: ping\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const all = bytes(stream);
    for (let size = 1; size <= all.length; size++) {
      const framer = new SseFramer();
      const out: number[] = [];
      for (let i = 0; i < all.length; i += size) {
        const events = framer.push(all.slice(i, i + size));
        if (events) {
          expect(text(events).endsWith('\n\n')).toBe(true);
          out.push(...events);
        }
      }
      expect(text(new Uint8Array(out))).toBe(stream);
      expect(framer.pendingBytes).toBe(0);
    }
  });

  it('keeps a cut-off event pending', () => {
    const framer = new SseFramer();
    expect(text(framer.push(bytes('data: {"a":1}\n\ndata: {"b"')))).toBe('data: {"a":1}\n\n');
    expect(framer.pendingBytes).toBe(10);
  });

  it('understands CRLF framing', () => {
    const framer = new SseFramer();
    expect(text(framer.push(bytes('data: x\r\n\r\ndata: y\r\n')))).toBe('data: x\r\n\r\n');
    expect(sseData('data: x\r\n\r\n')).toEqual(['x']);
  });
});

describe('sseData and containsDone', () => {
  it('joins multi-line data and skips comments', () => {
    expect(sseData(': hi\n\nevent: e\ndata: a\ndata:b\n\n')).toEqual(['a\nb']);
  });

  it('finds [DONE] only as a data line of its own', () => {
    expect(containsDone(bytes('data: [DONE]\n\n'))).toBe(true);
    expect(containsDone(bytes('data: {"x":1}\n\ndata:[DONE]\r\n\r\n'))).toBe(true);
    expect(containsDone(bytes('data: {"content":"[DONE]"}\n\n'))).toBe(false);
    expect(containsDone(bytes('data: {"content":"data: [DONE]\\n"}\n\n'))).toBe(false);
  });

  it('writes an error event the SDKs raise', () => {
    const e = sseError({ error: { message: 'm', type: 't', param: null, code: 'c' } });
    expect(JSON.parse(sseData(e)[0] ?? '')).toEqual({
      error: { message: 'm', type: 't', param: null, code: 'c' },
    });
  });
});
