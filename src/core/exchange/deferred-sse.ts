// A judged SSE answer: sent whole with its verdict headers when ready in time, else kept alive with comments.
import type { Context } from 'hono';
import { TenetError } from '../core/errors.ts';
import { sseError } from '../core/sse.ts';

export interface JudgedStream {
  headers: Record<string, string>;
  /** The whole SSE body: chunks and `data: [DONE]`. */
  sse: string;
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
  c: Context,
  work: Promise<JudgedStream>,
  keepAliveMs: number,
  onCancel: () => void,
): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof late>((resolve) => {
    timer = setTimeout(() => resolve(late), keepAliveMs);
  });
  const first = await Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  if (first !== late) return c.body(first.sse, 200, { ...sseHeaders, ...first.headers });

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
          controller.enqueue(encoder.encode(sseError(error.toBody())));
          controller.close();
        },
      );
    },
    cancel() {
      clearInterval(interval);
      onCancel();
    },
  });
  return c.body(body, 200, { ...sseHeaders, 'x-tenet-verdict': 'pending' });
}
