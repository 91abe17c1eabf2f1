// The relay read as node-server reads a body (its reader), and as a web stream: the same chunks, ends and cancels.
import { describe, expect, it } from 'vitest';
import { TenetError } from '../../src/core/errors.ts';
import {
  type BodyReader,
  type RelayOutcome,
  SseRelay,
  UpstreamEvents,
} from '../../src/core/exchange/sse-relay.ts';
import { EventsDecoder } from '../../src/core/sse.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function relayOf(
  chunks: string[],
  opts: { breakAfter?: boolean; hang?: boolean; tap?: (chunk: Uint8Array) => Uint8Array } = {},
) {
  const ends: RelayOutcome['kind'][] = [];
  let aborted = 0;
  let release: () => void = () => {};
  async function* events(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield bytes(c);
    if (opts.hang) await new Promise<void>((resolve) => (release = resolve));
    if (opts.breakAfter) throw new Error('socket hang up');
  }
  const relay = new SseRelay(events(), {
    abort: () => {
      aborted++;
      release();
    },
    errorEvent: (err: TenetError) => `event: error\ndata: ${JSON.stringify({ code: err.code })}\n\n`,
    onEnd: (o) => ends.push(o.kind),
    tap: opts.tap,
  });
  return { relay, ends, aborted: () => aborted };
}

describe('SseRelay', () => {
  it('gives its chunks through a reader, then done; closed settles and the end is told once', async () => {
    const { relay, ends } = relayOf(['data: a\n\n', 'data: b\n\n']);
    const reader = relay.getReader();
    expect(text((await reader.read()).value)).toBe('data: a\n\n');
    expect(text((await reader.read()).value)).toBe('data: b\n\n');
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    await reader.closed;
    // node-server cancels on the response's close, which also comes after a finished answer: nothing to stop then.
    await reader.cancel();
    expect(ends).toEqual(['done']);
  });

  it("ends a broken upstream with the protocol's error event, then done", async () => {
    const { relay, ends } = relayOf(['data: a\n\n'], { breakAfter: true });
    const reader = relay.getReader();
    await reader.read();
    const last = await reader.read();
    expect(last.done).toBe(false);
    expect(text(last.value)).toBe('event: error\ndata: {"code":"upstream_stream_broken"}\n\n');
    expect((await reader.read()).done).toBe(true);
    expect(ends).toEqual(['broken']);
  });

  it('stops the upstream when the client goes (cancel while a read waits), and reads nothing more', async () => {
    const { relay, ends, aborted } = relayOf(['data: a\n\n'], { hang: true });
    const reader = relay.getReader();
    await reader.read();
    const pending = reader.read();
    await reader.cancel();
    await pending;
    await reader.closed;
    expect(aborted()).toBe(1);
    expect(ends).toEqual(['client_gone']);
    expect((await reader.read()).done).toBe(true);
  });

  it('reads the same as a web stream', async () => {
    const { relay, ends } = relayOf(['data: a\n\n', 'data: [DONE]\n\n']);
    expect(await new Response(relay.stream()).text()).toBe('data: a\n\ndata: [DONE]\n\n');
    expect(ends).toEqual(['done']);
  });

  it('sends each chunk as its tap returns it, and ends with the error event when the tap fails', async () => {
    const upper = relayOf(['data: a\n\n', 'data: b\n\n'], { tap: (c) => bytes(text(c).toUpperCase()) });
    expect(await new Response(upper.relay.stream()).text()).toBe('DATA: A\n\nDATA: B\n\n');
    const failing = relayOf(['data: a\n\n'], {
      tap: () => {
        throw new Error('unreadable');
      },
    });
    expect(await new Response(failing.relay.stream()).text()).toBe(
      'event: error\ndata: {"code":"upstream_stream_broken"}\n\n',
    );
    expect(failing.ends).toEqual(['broken']);
  });
});

/** An upstream body as the Node adapter hands it over: chunks as scripted, then its end, a failure, or a wait. */
function upstream(chunks: string[], end: 'end' | 'hang' | 'break' = 'end') {
  let aborted = 0;
  let cancelled = 0;
  let wake: (() => void) | undefined;
  const queue = [...chunks];
  const reader: BodyReader = {
    async read() {
      const next = queue.shift();
      if (next !== undefined) return { done: false, value: bytes(next) };
      if (end === 'break') throw new Error('socket hang up');
      if (end === 'hang' && cancelled === 0) await new Promise<void>((resolve) => (wake = resolve));
      return { done: true, value: undefined };
    },
    async cancel() {
      cancelled++;
      wake?.();
    },
  };
  const source = {
    stream: () => {
      throw new Error('the reader is used');
    },
    reader: () => reader,
    abort: () => {
      aborted++;
    },
  };
  return { source, aborted: () => aborted, cancelled: () => cancelled };
}

const endsWithDone = (events: Uint8Array) => text(events).includes('data: [DONE]');

async function collect(events: UpstreamEvents): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of events) out.push(text(chunk));
  return out;
}

describe('UpstreamEvents', () => {
  it('gives whole events as they come (a chunk cut mid-event waits for its rest), then ends', async () => {
    const up = upstream(['data: a\n\ndata: b', '\n\n', 'data: [DONE]\n\n']);
    const events = new UpstreamEvents(up.source, 1_000, endsWithDone);
    expect(await collect(events)).toEqual(['data: a\n\n', 'data: b\n\n', 'data: [DONE]\n\n']);
    expect(up.aborted()).toBe(0);
  });

  it("takes a last event without its blank line when it is the protocol's end", async () => {
    const up = upstream(['data: a\n\ndata: [DONE]']);
    expect(await collect(new UpstreamEvents(up.source, 1_000, endsWithDone))).toEqual([
      'data: a\n\n',
      'data: [DONE]\n\n',
    ]);
  });

  it('fails when the upstream closes before its last event or breaks off, and stops the call', async () => {
    for (const end of ['end', 'break'] as const) {
      const up = upstream(['data: a\n\ndata: half'], end);
      const events = new UpstreamEvents(up.source, 1_000, endsWithDone);
      expect(text((await events.next()).value)).toBe('data: a\n\n');
      const failure = await events.next().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(TenetError);
      expect((failure as TenetError).code).toBe('upstream_stream_broken');
      expect(up.aborted()).toBe(1);
      expect(await events.next()).toEqual({ done: true, value: undefined });
    }
  });

  it('fails a stream that stalls past the idle timeout', async () => {
    const up = upstream(['data: a\n\n'], 'hang');
    const events = new UpstreamEvents(up.source, 30, endsWithDone);
    await events.next();
    const failure = await events.next().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((failure as TenetError).code).toBe('upstream_timeout');
    expect(up.cancelled()).toBeGreaterThan(0);
    expect(up.aborted()).toBe(1);
  });

  it('stops the call when its reader stops early, a waiting read then ending quietly', async () => {
    const up = upstream(['data: a\n\n'], 'hang');
    const events = new UpstreamEvents(up.source, 1_000, endsWithDone);
    await events.next();
    const waiting = events.next();
    await events.return();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(up.aborted()).toBe(1);
    expect(up.cancelled()).toBe(1);
  });
});

describe('EventsDecoder', () => {
  it("decodes framed chunks whole, dropping a byte-order mark only at the stream's start", () => {
    const decoder = new EventsDecoder();
    const encode = (s: string) => new TextEncoder().encode(s);
    expect(decoder.decode(encode('\uFEFFdata: «olá» 😀\n\n'))).toBe('data: «olá» 😀\n\n');
    expect(decoder.decode(encode('\uFEFFdata: b\n\n'))).toBe('\uFEFFdata: b\n\n');
  });
});
