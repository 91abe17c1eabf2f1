// SseFramer and friends: whole events only, whatever the chunking, LF or CRLF.
import { describe, expect, it } from 'vitest';
import { containsDone, SseFramer, sseData, sseError } from './sse.ts';

describe('SseFramer', () => {
  it('hands out whole events only, however the bytes are split', () => {
    const stream = 'data: {"a":1}\n\n: ping\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    for (let size = 1; size <= stream.length; size++) {
      const framer = new SseFramer();
      let out = '';
      for (let i = 0; i < stream.length; i += size) {
        const events = framer.push(stream.slice(i, i + size));
        expect(events === '' || /\n\n$/.test(events)).toBe(true);
        out += events;
      }
      expect(out).toBe(stream);
      expect(framer.pending).toBe('');
    }
  });

  it('keeps a cut-off event pending', () => {
    const framer = new SseFramer();
    expect(framer.push('data: {"a":1}\n\ndata: {"b"')).toBe('data: {"a":1}\n\n');
    expect(framer.pending).toBe('data: {"b"');
  });

  it('understands CRLF framing', () => {
    const framer = new SseFramer();
    expect(framer.push('data: x\r\n\r\ndata: y\r\n')).toBe('data: x\r\n\r\n');
    expect(sseData('data: x\r\n\r\n')).toEqual(['x']);
  });
});

describe('sseData and containsDone', () => {
  it('joins multi-line data and skips comments', () => {
    expect(sseData(': hi\n\nevent: e\ndata: a\ndata:b\n\n')).toEqual(['a\nb']);
  });

  it('finds [DONE] only as a data payload', () => {
    expect(containsDone('data: [DONE]\n\n')).toBe(true);
    expect(containsDone('data: {"content":"[DONE]"}\n\n')).toBe(false);
  });

  it('writes an error event the SDKs raise', () => {
    const e = sseError({ error: { message: 'm', type: 't', param: null, code: 'c' } });
    expect(JSON.parse(sseData(e)[0] ?? '')).toEqual({
      error: { message: 'm', type: 't', param: null, code: 'c' },
    });
  });
});
