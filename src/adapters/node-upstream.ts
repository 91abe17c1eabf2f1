// The upstream model over node:http(s) with a keep-alive pool: the Node entry's Upstream (Workers use fetch).
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { type BodyReader, readerStream } from '../core/exchange/sse-relay.ts';
import {
  type HeaderReader,
  setUpstreamKey,
  type Upstream,
  type UpstreamOptions,
  type UpstreamReply,
  upstreamCallFailure,
} from './upstream.ts';

/** node:http's response headers (lower-case names, one value each but set-cookie) read like fetch's Headers. */
class NodeHeaders implements HeaderReader {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const name of Object.keys(this.raw)) {
      const value = this.raw[name];
      if (value !== undefined) fn(Array.isArray(value) ? value.join(', ') : value, name);
    }
  }
}

const decoders = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * A keep-alive pool for one origin: idle sockets closed after 4 s (undici's default), or earlier when the server's
 * Keep-Alive says so; the most recently used socket first.
 */
export function keepAliveAgent(secure: boolean): HttpAgent | HttpsAgent {
  const options = { keepAlive: true, timeout: 4_000, scheduling: 'lifo' as const };
  return secure ? new HttpsAgent(options) : new HttpAgent(options);
}

/** fetch decodes compressed answers itself; so does this adapter, so callers see the same bytes either way. */
export function decoded(res: IncomingMessage): Readable {
  const coding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = Object.hasOwn(decoders, coding) ? decoders[coding as keyof typeof decoders] : undefined;
  // pipeline: a connection that breaks mid-body errors the decoder too (never a body that just stops).
  return decoder ? pipeline(res, decoder(), () => {}) : res;
}

/** The body as one byte array (one copy), read straight off the socket. */
export function readBody(body: Readable): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let ended = false;
    body.on('data', (part: Buffer) => {
      parts.push(part);
      size += part.length;
    });
    body.once('end', () => {
      ended = true;
      const out = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      resolve(out);
    });
    body.once('error', reject);
    // Destroyed without an error (our own abort): never a silent short body. (Every body closes; only one closed
    // before its end makes an error: building one captures a stack trace.)
    body.once('close', () => {
      if (!ended) reject(new Error('the upstream answer was cut off'));
    });
  });
}

/**
 * The body as a reader, for the relay (and, wrapped, as the web stream `stream()` hands out). node:http emits one
 * `data` per HTTP chunk, and an upstream that writes each SSE event as its own chunk sends dozens in one socket
 * read; they are joined (per read, at the end of the turn: no added wait), so the relay handles and writes one
 * chunk per read, not one per event. The socket is paused while a chunk waits unread, and resumed by the next
 * read. No web stream is built for the relay: on Node, building one costs more than relaying an answer through it.
 */
function bodyReader(body: Readable): BodyReader {
  let pending: Buffer[] = [];
  let queued = false;
  let ended = false;
  let failure: Error | undefined;
  let waiting:
    | { resolve: (r: ReadableStreamReadResult<Uint8Array>) => void; reject: (e: unknown) => void }
    | undefined;
  const take = (): Uint8Array => {
    const chunk = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    return chunk;
  };
  const settle = () => {
    queued = false;
    const w = waiting;
    if (!w) {
      if (pending.length > 0 && !ended) body.pause();
      return;
    }
    if (pending.length > 0) {
      waiting = undefined;
      w.resolve({ done: false, value: take() });
    } else if (failure) {
      waiting = undefined;
      w.reject(failure);
    } else if (ended) {
      waiting = undefined;
      w.resolve({ done: true, value: undefined });
    }
  };
  const later = () => {
    if (queued) return;
    queued = true;
    // A promise job, not queueMicrotask (which wraps every call in an AsyncResource).
    void Promise.resolve().then(settle);
  };
  body.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    later();
  });
  body.once('end', () => {
    ended = true;
    later();
  });
  body.once('error', (err) => {
    failure ??= err;
    later();
  });
  body.once('close', () => {
    if (!ended) failure ??= new Error('the upstream answer was cut off');
    later();
  });
  return {
    read() {
      if (pending.length > 0) return Promise.resolve({ done: false, value: take() });
      if (failure) return Promise.reject(failure);
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        body.resume();
      });
    },
    async cancel() {
      ended = true;
      pending = [];
      body.destroy();
      const w = waiting;
      waiting = undefined;
      w?.resolve({ done: true, value: undefined });
    },
  };
}

/**
 * The Upstream of `createUpstream` without fetch: node:http(s) on a keep-alive pool. Same contract: the
 * deadline runs until the body is read (or handed over as a stream), the client's abort stops the call.
 */
export function createNodeUpstream(options: Omit<UpstreamOptions, 'fetch'>): Upstream {
  const base = new URL(options.baseUrl);
  const secure = base.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const agent = keepAliveAgent(secure);
  const prefix = base.pathname.replace(/\/+$/, '');
  const target = {
    protocol: base.protocol,
    hostname: base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname,
    port: base.port || (secure ? 443 : 80),
    agent,
  };
  // The base URL's own credentials and query would be lost on the way: refuse them at start, as fetch would.
  if (base.username || base.password || base.search) {
    throw new TypeError('The upstream URL must not contain credentials or a query string.');
  }

  return {
    send(request) {
      return new Promise<UpstreamReply>((resolve, reject) => {
        const headers = request.headers; // built for this call by the caller: ours to change
        setUpstreamKey(headers, request.apiKey ?? options.apiKey, options.auth);
        // fetch asks for compressed answers and decodes them; so does this adapter (the same request upstream).
        headers['accept-encoding'] = 'gzip, deflate, br';
        const payload =
          request.body == null
            ? undefined
            : typeof request.body === 'string'
              ? request.body
              : Buffer.from(request.body);
        if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));

        let req: ReturnType<typeof send>;
        try {
          req = send({ ...target, method: request.method, path: prefix + request.path, headers });
        } catch (err) {
          reject(upstreamCallFailure(err, false, options.baseUrl));
          return;
        }
        let body: Readable | undefined;
        let timedOut = false;
        let settled = false;
        // Destroyed without an error: the request reports a hang-up, the body a cut-off (see readBody).
        const stop = () => {
          req.destroy();
          body?.destroy();
        };
        const timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, options.timeoutMs);
        const settle = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', stop);
        };
        if (request.signal?.aborted) {
          settle();
          req.destroy();
          reject(upstreamCallFailure(request.signal.reason, false, options.baseUrl));
          return;
        }
        request.signal?.addEventListener('abort', stop, { once: true });

        req.on('error', (err) => {
          if (body) return; // after the headers: the body's reader sees it
          settle();
          reject(upstreamCallFailure(err, timedOut, options.baseUrl));
        });
        req.once('response', (res) => {
          const stream = decoded(res);
          body = stream;
          // Errors are seen by whoever reads the body; one nobody reads must not crash the process.
          stream.on('error', () => {});
          const readAll = async (): Promise<Uint8Array<ArrayBuffer>> => {
            try {
              return await readBody(stream);
            } catch (err) {
              throw upstreamCallFailure(err, timedOut, options.baseUrl);
            } finally {
              settle();
            }
          };
          const status = res.statusCode ?? 502;
          resolve({
            response: { status, ok: status >= 200 && status < 300, headers: new NodeHeaders(res.headers) },
            async text() {
              return Buffer.from((await readAll()).buffer).toString('utf8');
            },
            bytes: () => readAll(),
            stream() {
              settle();
              return readerStream(bodyReader(stream));
            },
            reader() {
              settle();
              return bodyReader(stream);
            },
            abort() {
              settle();
              stop();
            },
          });
        });
        req.end(payload);
      });
    },
  };
}
