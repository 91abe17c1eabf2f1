// Reads an upstream SSE answer event by event: relayed to the client as it comes, or collected whole.
import { TenetError } from '../errors.ts';
import { SseFramer } from '../sse.ts';

const encoder = new TextEncoder();

/** The body of an upstream answer handed over for streaming (the upstream adapters' replies are ones). */
export interface StreamSource {
  stream(): ReadableStream<Uint8Array>;
  /** Stops the call (client gone, stream stalled). */
  abort(reason?: unknown): void;
}

/**
 * Yields the upstream's complete SSE events as bytes, as they arrive. Throws a TenetError when the upstream
 * drops, stalls past `idleTimeoutMs`, or closes before its protocol's last event (`ended`: `data: [DONE]`,
 * `message_stop`, …): never a silent end.
 */
export async function* upstreamEvents(
  reply: StreamSource,
  idleTimeoutMs: number,
  ended: (events: Uint8Array) => boolean,
): AsyncGenerator<Uint8Array> {
  const reader = reply.stream().getReader();
  const framer = new SseFramer();
  let sawDone = false;
  let finished = false;
  // One timer for the whole stream (not one per chunk): it checks how long the pending read has waited, and on a
  // stall cancels the reader, which ends that read; `stalled` tells the loop why.
  let waitingSince = 0;
  let reading = false;
  let stalled = false;
  const checkIdle = () => {
    const waited = reading ? Date.now() - waitingSince : 0;
    if (reading && waited >= idleTimeoutMs) {
      stalled = true;
      reader.cancel().catch(() => {});
      return;
    }
    idleTimer = setTimeout(checkIdle, idleTimeoutMs - waited);
  };
  let idleTimer = setTimeout(checkIdle, idleTimeoutMs);
  const stallError = () =>
    new TenetError(
      'upstream_timeout',
      `The upstream model stopped sending for ${idleTimeoutMs} ms in the middle of the stream.`,
    );
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        waitingSince = Date.now();
        reading = true;
        result = await reader.read();
      } catch (err) {
        if (stalled) throw stallError();
        if (err instanceof TenetError) throw err;
        throw new TenetError(
          'upstream_stream_broken',
          'The upstream model broke off the stream mid-answer.',
          {
            cause: err,
          },
        );
      } finally {
        reading = false;
      }
      if (stalled) throw stallError();
      if (result.done) {
        // A last event missing its blank line still ends the stream properly if it is the protocol's last
        // event; any other unfinished event is dropped (never forward half an event).
        if (framer.pendingBytes > 0 && !sawDone) {
          const rest = framer.push(new Uint8Array([10, 10]));
          if (rest && ended(rest)) {
            sawDone = true;
            yield rest;
          }
        }
        if (!sawDone) {
          throw new TenetError(
            'upstream_stream_broken',
            'The upstream model ended the stream before finishing the answer.',
          );
        }
        finished = true;
        return;
      }
      const events = framer.push(result.value);
      if (events) {
        if (!sawDone && ended(events)) sawDone = true;
        yield events;
      }
    }
  } finally {
    clearTimeout(idleTimer);
    if (!finished) {
      // Ended early (error, or the consumer stopped): stop the upstream too.
      reply.abort();
      reader.cancel().catch(() => {});
    }
  }
}

export type RelayOutcome = { kind: 'done' } | { kind: 'client_gone' } | { kind: 'broken'; error: TenetError };

/**
 * Relays events to the client as they arrive (never buffering the answer); a broken upstream stream ends with
 * the protocol's error event (`errorEvent`), which the official SDKs raise as their API error.
 */
export function relaySse(
  events: AsyncGenerator<Uint8Array>,
  options: {
    abort: () => void;
    errorEvent: (err: TenetError) => string;
    onEnd?: (outcome: RelayOutcome) => void;
  },
): ReadableStream<Uint8Array> {
  let ended = false;
  const end = (outcome: RelayOutcome) => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          controller.close();
          end({ kind: 'done' });
        } else {
          controller.enqueue(next.value);
        }
      } catch (err) {
        const error =
          err instanceof TenetError
            ? err
            : new TenetError(
                'upstream_stream_broken',
                'The upstream model broke off the stream mid-answer.',
                { cause: err },
              );
        controller.enqueue(encoder.encode(options.errorEvent(error)));
        controller.close();
        end({ kind: 'broken', error });
      }
    },
    async cancel() {
      end({ kind: 'client_gone' });
      // Abort first: a pending read of a stalled upstream would otherwise hold the generator open.
      options.abort();
      await events.return(undefined);
    },
  });
}
