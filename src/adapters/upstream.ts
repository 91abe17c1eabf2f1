// The upstream model over HTTP: forwards requests with Tenet's (or the client's) key, with deadlines.
import { TenetError } from '../core/errors.ts';
import type { BodyReader } from '../core/exchange/sse-relay.ts';

export interface UpstreamOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** How the key is sent: OpenAI-compatible servers take a bearer, the Anthropic API an `x-api-key` header. */
  auth?: 'bearer' | 'x-api-key';
  /** The test seam and the runtime's own fetch (Workers, Node's undici). */
  fetch?: typeof fetch;
}

export interface UpstreamRequest {
  method: string;
  /** Path below the base URL, e.g. `/chat/completions`, with its query string. */
  path: string;
  /** Built for this call by the caller (see toUpstreamHeaders): the adapter may change it. Lower-case names. */
  headers: Record<string, string>;
  body?: ArrayBuffer | string | null;
  /** Overrides the configured key (bring-your-own-key mode). */
  apiKey?: string | undefined;
  /** Aborted when the client goes away. */
  signal?: AbortSignal | undefined;
}

/** What the proxy reads of a set of response headers: fetch's `Headers`, or the Node adapter's view. */
export interface HeaderReader {
  get(name: string): string | null;
  forEach(fn: (value: string, name: string) => void): void;
}

/** The status line and headers of an upstream answer (a fetch `Response` is one). */
export interface UpstreamHead {
  status: number;
  ok: boolean;
  headers: HeaderReader;
}

/** An upstream answer whose headers have arrived; the deadline keeps running until the body is read. */
export interface UpstreamReply {
  response: UpstreamHead;
  /** Reads the whole body as text within the deadline. */
  text(): Promise<string>;
  /** Reads the whole body as bytes within the deadline. */
  bytes(): Promise<Uint8Array<ArrayBuffer>>;
  /** Hands the body over for streaming: the header deadline stops, the caller owns idle timing. */
  stream(): ReadableStream<Uint8Array>;
  /** As stream(), handed over as a reader alone, without a web stream (adapters that can: Node's). */
  reader?(): BodyReader;
  /** Stops the call (client gone, stream stalled). */
  abort(reason?: unknown): void;
}

export interface Upstream {
  send(request: UpstreamRequest): Promise<UpstreamReply>;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Puts the upstream's key where it expects it (and nothing of the client's where the key goes). */
export function setUpstreamKey(
  headers: Record<string, string>,
  key: string | undefined,
  auth: UpstreamOptions['auth'] = 'bearer',
): void {
  delete headers['authorization'];
  delete headers['x-api-key'];
  if (!key) return;
  if (auth === 'x-api-key') headers['x-api-key'] = key;
  else headers['authorization'] = `Bearer ${key}`;
}

/** Turns a failed call into the error the client should see: a timeout (504) or an unreachable upstream (502). */
export function upstreamCallFailure(err: unknown, timedOut: boolean, baseUrl?: string): TenetError {
  if (err instanceof TenetError) return err;
  // The host tells an operator which setting to check (TENET_UPSTREAM_URL or TENET_ANTHROPIC_UPSTREAM_URL).
  const at = baseUrl ? ` at ${hostOf(baseUrl)}` : '';
  if (timedOut) return new TenetError('upstream_timeout', `The upstream model${at} did not answer in time.`);
  return new TenetError('upstream_unreachable', `The upstream model${at} could not be reached.`, {
    cause: err,
  });
}

export function createUpstream(options: UpstreamOptions): Upstream {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl;
  return {
    async send(request) {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
      const onClientAbort = () => controller.abort();
      request.signal?.addEventListener('abort', onClientAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onClientAbort);
      };

      const headers = request.headers; // built for this call by the caller: ours to change
      setUpstreamKey(headers, request.apiKey ?? options.apiKey, options.auth);

      let response: Response;
      try {
        response = await fetchImpl(base + request.path, {
          method: request.method,
          headers,
          body: request.body ?? null,
          signal: controller.signal,
          redirect: 'manual',
        });
      } catch (err) {
        settle();
        throw upstreamCallFailure(err, timedOut, base);
      }
      const readAll = async (): Promise<Uint8Array<ArrayBuffer>> => {
        try {
          return new Uint8Array(await response.arrayBuffer());
        } catch (err) {
          throw upstreamCallFailure(err, timedOut, base);
        } finally {
          settle();
        }
      };
      return {
        response,
        async text() {
          return new TextDecoder().decode(await readAll());
        },
        bytes: () => readAll(),
        stream() {
          settle();
          return response.body ?? new ReadableStream({ start: (c) => c.close() });
        },
        abort(reason) {
          settle();
          controller.abort(reason);
        },
      };
    },
  };
}
