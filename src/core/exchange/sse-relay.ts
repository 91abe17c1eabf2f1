// Reads an upstream SSE answer event by event: relayed to the client as it comes, or collected whole.
import { TenetError } from '../errors.ts';
import { SseFramer } from '../sse.ts';

const encoder = new TextEncoder();

/** What reading a body needs of a stream's reader (a web stream's reader is one). */
export interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** A web stream read through `reader` (one chunk per pull; cancelling it cancels the reader). */
export function readerStream(reader: BodyReader): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The body of an upstream answer handed over for streaming (the upstream adapters' replies are ones). */
export interface StreamSource {
  stream(): ReadableStream<Uint8Array>;
  /**
   * The body as a reader alone, where the adapter can give one without building a web stream (Node: a web stream
   * costs more to build than its answer takes to relay); the relay reads through it when there is one.
   */
  reader?(): BodyReader;
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
  const reader = reply.reader?.() ?? reply.stream().getReader();
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
 * the protocol's error event (`errorEvent`), which the official SDKs raise as their API error. Sent as a web
 * stream (`stream()`), or read directly: it is also the reader side of one (`getReader()`, `locked`), which is
 * all @hono/node-server's response writer asks of a body, so on Node no web stream is built per answer.
 */
export class SseRelay {
  readonly locked = false;
  /** Whether no chunk is left to read (ended, broken, or cancelled). */
  #finished = false;
  #outcome: RelayOutcome | undefined;
  readonly #closed: Promise<void>;
  #close: () => void = () => {};

  constructor(
    private readonly events: AsyncGenerator<Uint8Array>,
    private readonly options: {
      abort: () => void;
      errorEvent: (err: TenetError) => string;
      onEnd?: (outcome: RelayOutcome) => void;
    },
  ) {
    this.#closed = new Promise((resolve) => {
      this.#close = resolve;
    });
  }

  #end(outcome: RelayOutcome): void {
    this.#finished = true;
    this.#close();
    if (this.#outcome) return;
    this.#outcome = outcome;
    this.options.onEnd?.(outcome);
  }

  /** The next chunk for the client; done once the answer (or its error event) went out. */
  async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#finished) return { done: true, value: undefined };
    try {
      const next = await this.events.next();
      if (!next.done) return { done: false, value: next.value };
      this.#end({ kind: 'done' });
      return { done: true, value: undefined };
    } catch (err) {
      const error =
        err instanceof TenetError
          ? err
          : new TenetError('upstream_stream_broken', 'The upstream model broke off the stream mid-answer.', {
              cause: err,
            });
      this.#end({ kind: 'broken', error });
      return { done: false, value: encoder.encode(this.options.errorEvent(error)) };
    }
  }

  /** The client went away: the upstream call stops. (After the answer's end: nothing to stop.) */
  async cancel(): Promise<void> {
    if (this.#finished) return;
    this.#end({ kind: 'client_gone' });
    // Abort first: a pending read of a stalled upstream would otherwise hold the generator open.
    this.options.abort();
    await this.events.return(undefined);
  }

  getReader(): BodyReader & { closed: Promise<void>; releaseLock(): void } {
    return { read: () => this.read(), cancel: () => this.cancel(), closed: this.#closed, releaseLock() {} };
  }

  /** As a web stream (Workers, and any server that needs one). */
  stream(): ReadableStream<Uint8Array> {
    return readerStream(this);
  }
}
