// The Node server's response class: a streamed answer's headers go out with its first chunk, in one packet.
import { type IncomingMessage, ServerResponse } from 'node:http';

/** node:http's own flag: the header block has been handed to the socket (with a body chunk, or alone). */
interface HeaderState {
  _headerSent: boolean;
}

/**
 * What a streamed response writes within one turn of the event loop goes out in one system call: the first
 * write of a turn corks the socket, and the end of the turn uncorks it (an `end()` in the same turn sends
 * everything at once). node:http's own cork of a chunked write lasts only until the process.nextTick queue is
 * done, and the relay's end comes a few promise jobs after its last chunk: a short answer read from the upstream
 * in one go went out as two writes (the chunk, then the chunked body's end) and reached the client as two
 * packets; now as one. (On this machine's VM each write, and each wake-up of its reader, costs ~10 µs or more.)
 * Chunks of a long answer, coming turn by turn, go out at the end of their turn as before.
 *
 * @hono/node-server flushes the headers of every streamed body before reading its first chunk: one write
 * (and one TCP packet the client must wake up for) just for the headers, though the first chunk is usually
 * ready in the same turn. Here the flush waits for the end of the turn: if a chunk was written by then, the
 * headers already went out with it; if not (the upstream is still thinking), they go out alone, as before.
 */
export class CoalescingResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  #flushQueued = false;
  #corked = false;

  // biome-ignore lint/suspicious/noExplicitAny: node:http's own overloads of write, passed on as they came.
  override write(...args: any[]): boolean {
    if (!this.#corked && !this.destroyed) {
      this.#corked = true;
      this.cork();
      setImmediate(this.#uncork);
    }
    return (super.write as (...a: unknown[]) => boolean)(...args);
  }

  /** (After the response ended its socket is detached: uncork then touches nothing, the socket's next response included.) */
  readonly #uncork = () => {
    this.#corked = false;
    this.uncork();
  };

  override flushHeaders(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      if (this.destroyed || (this as unknown as HeaderState)._headerSent) return;
      super.flushHeaders();
    });
  }
}
