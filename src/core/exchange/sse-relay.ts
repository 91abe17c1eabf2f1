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

/** What the client is told when the upstream's stream fails with anything but a TenetError of its own. */
function brokenOff(cause: unknown): TenetError {
  return cause instanceof TenetError
    ? cause
    : new TenetError('upstream_stream_broken', 'The upstream model broke off the stream mid-answer.', {
        cause,
      });
}

/** An answer's events, chunk by chunk: an async generator, or anything read like one (see UpstreamEvents). */
export interface EventChunks extends AsyncIterable<Uint8Array> {
  next(): Promise<IteratorResult<Uint8Array, undefined>>;
  /** Stops reading (the consumer is done early): whatever feeds the chunks stops too. */
  return(value?: undefined): Promise<IteratorResult<Uint8Array, undefined>>;
}

/**
 * The upstream's complete SSE events as bytes, as they arrive. A read fails with a TenetError when the upstream
 * drops, stalls past `idleTimeoutMs`, or closes before its protocol's last event (`ended`: `data: [DONE]`,
 * `message_stop`, …): never a silent end. Stopped early (an error, or `return()`), it stops the upstream call.
 * Written as an iterator of its own rather than an async generator: each chunk then costs one promise, not a
 * generator's queue of them.
 */
export class UpstreamEvents implements EventChunks {
  readonly #reader: BodyReader;
  readonly #framer = new SseFramer();
  #sawDone = false;
  /** Ended, failed or stopped: nothing more to read. */
  #over = false;
  // One timer for the whole stream (not one per chunk): it checks how long the pending read has waited, and on a
  // stall cancels the reader, which ends that read; `stalled` tells the read why.
  #waitingSince = 0;
  #reading = false;
  #stalled = false;
  #idleTimer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly reply: StreamSource,
    private readonly idleTimeoutMs: number,
    private readonly ended: (events: Uint8Array) => boolean,
  ) {
    this.#reader = reply.reader?.() ?? reply.stream().getReader();
    this.#idleTimer = setTimeout(this.#checkIdle, idleTimeoutMs);
  }

  readonly #checkIdle = () => {
    const waited = this.#reading ? Date.now() - this.#waitingSince : 0;
    if (this.#reading && waited >= this.idleTimeoutMs) {
      this.#stalled = true;
      this.#reader.cancel().catch(() => {});
      return;
    }
    this.#idleTimer = setTimeout(this.#checkIdle, this.idleTimeoutMs - waited);
  };

  #stallError(): TenetError {
    return new TenetError(
      'upstream_timeout',
      `The upstream model stopped sending for ${this.idleTimeoutMs} ms in the middle of the stream.`,
    );
  }

  /** Done reading: the timer goes, and an upstream not read to its end is stopped. */
  #close(finished: boolean): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#idleTimer);
    if (!finished) {
      this.reply.abort();
      this.#reader.cancel().catch(() => {});
    }
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    try {
      for (;;) {
        if (this.#over) return { done: true, value: undefined };
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          this.#waitingSince = Date.now();
          this.#reading = true;
          result = await this.#reader.read();
        } catch (err) {
          if (this.#stalled) throw this.#stallError();
          throw brokenOff(err);
        } finally {
          this.#reading = false;
        }
        if (this.#stalled) throw this.#stallError();
        // Stopped while the read waited (the client left): what the read brought is nobody's.
        if (this.#over) return { done: true, value: undefined };
        if (result.done) {
          // A last event missing its blank line still ends the stream properly if it is the protocol's last
          // event; any other unfinished event is dropped (never forward half an event).
          if (this.#framer.pendingBytes > 0 && !this.#sawDone) {
            const rest = this.#framer.push(new Uint8Array([10, 10]));
            if (rest && this.ended(rest)) {
              this.#sawDone = true;
              // The stream's end comes with the next read, which finds the reader done again.
              return { done: false, value: rest };
            }
          }
          if (!this.#sawDone) {
            throw new TenetError(
              'upstream_stream_broken',
              'The upstream model ended the stream before finishing the answer.',
            );
          }
          this.#close(true);
          return { done: true, value: undefined };
        }
        const events = this.#framer.push(result.value);
        if (events) {
          if (!this.#sawDone && this.ended(events)) this.#sawDone = true;
          return { done: false, value: events };
        }
      }
    } catch (err) {
      this.#close(false);
      throw err;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.#close(false);
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
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
    private readonly events: EventChunks,
    private readonly options: {
      abort: () => void;
      errorEvent: (err: TenetError) => string;
      onEnd?: (outcome: RelayOutcome) => void;
      /** What each chunk goes through on its way out (see eventTap): called as it is read, not a stream of its own. */
      tap?: ((chunk: Uint8Array) => Uint8Array) | undefined;
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
      if (!next.done) {
        const tap = this.options.tap;
        return { done: false, value: tap ? tap(next.value) : next.value };
      }
      this.#end({ kind: 'done' });
      return { done: true, value: undefined };
    } catch (err) {
      const error = brokenOff(err);
      this.#end({ kind: 'broken', error });
      return { done: false, value: encoder.encode(this.options.errorEvent(error)) };
    }
  }

  /** The client went away: the upstream call stops. (After the answer's end: nothing to stop.) */
  async cancel(): Promise<void> {
    if (this.#finished) return;
    this.#end({ kind: 'client_gone' });
    // Abort first: a pending read of a stalled upstream would otherwise keep the events' reader waiting.
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
