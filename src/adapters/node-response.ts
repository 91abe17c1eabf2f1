// The Node server's response class: a streamed answer's headers go out with its first chunk, in one packet.
import { type IncomingMessage, ServerResponse } from 'node:http';

/** node:http's own flag: the header block has been handed to the socket (with a body chunk, or alone). */
interface HeaderState {
  _headerSent: boolean;
}

/**
 * @hono/node-server flushes the headers of every streamed body before reading its first chunk: one write
 * (and one TCP packet the client must wake up for) just for the headers, though the first chunk is usually
 * ready in the same turn. Here the flush waits for the end of the turn: if a chunk was written by then, the
 * headers already went out with it; if not (the upstream is still thinking), they go out alone, as before.
 */
export class CoalescingResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  #flushQueued = false;

  override flushHeaders(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      if (this.destroyed || (this as unknown as HeaderState)._headerSent) return;
      super.flushHeaders();
    });
  }
}
