// Streams an upstream SSE answer to the client event by event, ending a broken stream with an error event.

import type { UpstreamReply } from '../adapters/upstream.ts';
import { TenetError } from '../core/errors.ts';
import { containsDone, SseFramer, sseError } from '../core/sse.ts';

export interface RelayOptions {
  idleTimeoutMs: number;
  /** Called once when the relay ends: how it ended, for logs (and later, the audit). */
  onEnd?: (outcome: RelayOutcome) => void;
}

export type RelayOutcome = { kind: 'done' } | { kind: 'client_gone' } | { kind: 'broken'; error: TenetError };

const encoder = new TextEncoder();

/**
 * Relays whole SSE events as they arrive (never buffering the answer). If the upstream drops,
 * stalls past `idleTimeoutMs`, or closes without `data: [DONE]`, the client gets an error event
 * the official SDKs raise as an APIError, instead of a silently truncated answer.
 */
export function relaySse(reply: UpstreamReply, options: RelayOptions): ReadableStream<Uint8Array> {
  const reader = reply.stream().getReader();
  const decoder = new TextDecoder();
  const framer = new SseFramer();
  let sawDone = false;
  let ended = false;
  const end = (outcome: RelayOutcome) => {
    if (ended) return;
    ended = true;
    options.onEnd?.(outcome);
  };

  const readWithin = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TenetError(
              'upstream_timeout',
              `The upstream model stopped sending for ${options.idleTimeoutMs} ms in the middle of the stream.`,
            ),
          ),
        options.idleTimeoutMs,
      );
    });
    try {
      return await Promise.race([reader.read(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  };

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: TenetError) => {
    reply.abort(error);
    reader.cancel(error).catch(() => {});
    controller.enqueue(encoder.encode(sseError(error.toBody())));
    controller.close();
    end({ kind: 'broken', error });
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await readWithin();
        } catch (err) {
          const error =
            err instanceof TenetError
              ? err
              : new TenetError(
                  'upstream_stream_broken',
                  'The upstream model broke off the stream mid-answer.',
                  {
                    cause: err,
                  },
                );
          fail(controller, error);
          return;
        }
        if (result.done) {
          const rest = framer.push(decoder.decode());
          if (rest !== '') controller.enqueue(encoder.encode(rest));
          if (sawDone || containsDone(rest)) {
            controller.close();
            end({ kind: 'done' });
          } else {
            fail(
              controller,
              new TenetError(
                'upstream_stream_broken',
                'The upstream model ended the stream before finishing the answer.',
              ),
            );
          }
          return;
        }
        const events = framer.push(decoder.decode(result.value, { stream: true }));
        if (events !== '') {
          if (!sawDone && containsDone(events)) sawDone = true;
          controller.enqueue(encoder.encode(events));
          return;
        }
      }
    },
    cancel(reason) {
      reply.abort(reason);
      reader.cancel(reason).catch(() => {});
      end({ kind: 'client_gone' });
    },
  });
}
