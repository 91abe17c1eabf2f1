// A judged SSE answer: sent whole with its verdict headers when ready in time, else kept alive with comments.
import { TenetError } from '../errors.ts';
import type { SseRelay } from './sse-relay.ts';

export interface JudgedStream {
  headers: Record<string, string>;
  /** The whole SSE body: chunks and `data: [DONE]`. */
  sse: string;
}

/** What the exchange answers: the HTTP layer sends it as it is. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** A relayed stream is an SseRelay: the HTTP layer sends it as a web stream, or reads it directly. */
  body: string | Uint8Array | ReadableStream<Uint8Array> | SseRelay | null;
}

export const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

const late = Symbol('late');

/**
 * Waits up to `keepAliveMs` for `work`. In time: one response with the verdict in its headers.
 * Late: the response starts now (`x-tenet-verdict: pending`), sends `: keep-alive` comments every
 * `keepAliveMs` so no proxy on the way times out, then a `: tenet {...}` comment with the verdict
 * headers, then the answer. Failures before the start are HTTP errors; after it, error events.
 */
export async function deferredSse(
  work: Promise<JudgedStream>,
  options: { keepAliveMs: number; onCancel: () => void; errorEvent: (err: TenetError) => string },
): Promise<Reply> {
  const { keepAliveMs, onCancel } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof late>((resolve) => {
    timer = setTimeout(() => resolve(late), keepAliveMs);
  });
  const first = await Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  if (first !== late) return { status: 200, headers: { ...sseHeaders, ...first.headers }, body: first.sse };

  const encoder = new TextEncoder();
  let interval: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(': keep-alive\n\n'));
      interval = setInterval(() => controller.enqueue(encoder.encode(': keep-alive\n\n')), keepAliveMs);
      work.then(
        (done) => {
          clearInterval(interval);
          controller.enqueue(encoder.encode(`: tenet ${JSON.stringify(done.headers)}\n\n${done.sse}`));
          controller.close();
        },
        (err: unknown) => {
          clearInterval(interval);
          const error =
            err instanceof TenetError
              ? err
              : new TenetError('internal_error', 'The server had an error while processing your request.');
          controller.enqueue(encoder.encode(options.errorEvent(error)));
          controller.close();
        },
      );
    },
    cancel() {
      clearInterval(interval);
      onCancel();
    },
  });
  return { status: 200, headers: { ...sseHeaders, 'x-tenet-verdict': 'pending' }, body };
}
