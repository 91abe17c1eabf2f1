// The relay read as node-server reads a body (its reader), and as a web stream: the same chunks, ends and cancels.
import { describe, expect, it } from 'vitest';
import type { TenetError } from '../../src/core/errors.ts';
import { type RelayOutcome, SseRelay } from '../../src/core/exchange/sse-relay.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

function relayOf(chunks: string[], opts: { breakAfter?: boolean; hang?: boolean } = {}) {
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
});
