// The upstream model on Node: the draft's calls over undici's dispatcher (Workers use fetch), and the node:http(s)
// keep-alive pools and body readers the model calls use (node-fetch.ts).
import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { joinBytes } from '../core/byte-scrub.ts';
import { type BodyReader, readerStream } from '../core/exchange/sse-relay.ts';
import {
  type HeaderReader,
  setUpstreamKey,
  type Upstream,
  type UpstreamOptions,
  type UpstreamReply,
  upstreamCallFailure,
} from './upstream.ts';

/** Response headers as node:http and undici give them (lower-case names, arrays for repeats) read like fetch's Headers. */
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

/** A decoder for the body a Content-Encoding names, as fetch decodes it; undefined for an identity body. */
function decoderFor(coding: string | string[] | undefined): Transform | undefined {
  const name = String(coding ?? '')
    .trim()
    .toLowerCase();
  return Object.hasOwn(decoders, name) ? decoders[name as keyof typeof decoders]() : undefined;
}

/** fetch decodes compressed answers itself; so does this adapter, so callers see the same bytes either way. */
export function decoded(res: IncomingMessage): Readable {
  const decoder = decoderFor(res.headers['content-encoding']);
  // pipeline: a connection that breaks mid-body errors the decoder too (never a body that just stops).
  return decoder ? pipeline(res, decoder, () => {}) : res;
}

/** The body as one byte array (one copy), read straight off the socket. */
export function readBody(body: Readable): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let ended = false;
    body.on('data', (part: Buffer) => {
      parts.push(part);
    });
    body.once('end', () => {
      ended = true;
      resolve(joinBytes(parts));
    });
    body.once('error', reject);
    // Destroyed without an error (our own abort): never a silent short body. (Every body closes; only one closed
    // before its end makes an error: building one captures a stack trace.)
    body.once('close', () => {
      if (!ended) reject(new Error('the upstream answer was cut off'));
    });
  });
}

/** Where an answer's body comes from, for the queue that holds it: paused while a chunk waits unread. */
interface BodySource {
  pause(): void;
  resume(): void;
  /** Stops the call: the reader is done with it. */
  stop(): void;
}

/**
 * An upstream answer's body as it arrives, read by the relay (read) or whole (all). An upstream that writes each
 * SSE event as its own HTTP chunk sends dozens in one socket read; they are joined (per read, at the end of the
 * turn: no added wait), so the relay handles and writes one chunk per read, not one per event. The source is
 * paused while a chunk waits unread, and resumed by the next read. Not a Readable and not a web stream: on Node
 * either costs more, chunk by chunk, than relaying the answer through them.
 */
class BodyQueue implements BodyReader {
  #pending: Uint8Array[] = [];
  #queued = false;
  #ended = false;
  #failure: Error | undefined;
  #waiting:
    | { resolve: (r: ReadableStreamReadResult<Uint8Array>) => void; reject: (e: unknown) => void }
    | undefined;

  constructor(private readonly source: BodySource) {}

  push(chunk: Uint8Array): void {
    this.#pending.push(chunk);
    this.#later();
  }

  end(): void {
    this.#ended = true;
    this.#later();
  }

  /** The body broke off (a failure after its end, or after the reader cancelled, changes nothing). */
  fail(err: Error): void {
    if (this.#ended) return;
    this.#failure ??= err;
    this.#later();
  }

  #take(): Uint8Array {
    const pending = this.#pending;
    this.#pending = [];
    return pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
  }

  #later(): void {
    if (this.#queued) return;
    this.#queued = true;
    // A promise job, not queueMicrotask (which wraps every call in an AsyncResource).
    void Promise.resolve().then(this.#settle);
  }

  readonly #settle = () => {
    this.#queued = false;
    const w = this.#waiting;
    if (!w) {
      if (this.#pending.length > 0 && !this.#ended) this.source.pause();
      return;
    }
    if (this.#pending.length > 0) {
      this.#waiting = undefined;
      w.resolve({ done: false, value: this.#take() });
    } else if (this.#failure) {
      this.#waiting = undefined;
      w.reject(this.#failure);
    } else if (this.#ended) {
      this.#waiting = undefined;
      w.resolve({ done: true, value: undefined });
    }
  };

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#pending.length > 0) return Promise.resolve({ done: false, value: this.#take() });
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.source.resume();
    });
  }

  async cancel(): Promise<void> {
    this.#ended = true;
    this.#pending = [];
    this.source.stop();
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.resolve({ done: true, value: undefined });
  }

  /** The whole body as one byte array. */
  async all(): Promise<Uint8Array<ArrayBuffer>> {
    const parts: Uint8Array[] = [];
    for (let r = await this.read(); !r.done; r = await this.read()) parts.push(r.value);
    return joinBytes(parts);
  }
}

/** The undici dispatch controller's part this adapter uses. */
interface CallControl {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
}

/** Where an answer's chunks go as they arrive: to its queue, through a decoder when its body is compressed. */
interface Intake {
  queue: BodyQueue;
  take(chunk: Uint8Array): void;
  finish(): void;
  fail(err: Error): void;
}

function intakeOf(control: CallControl, coding: string | string[] | undefined): Intake {
  const stop = () => control.abort(new Error('the reader stopped'));
  const decoder = decoderFor(coding);
  if (!decoder) {
    const queue = new BodyQueue({ pause: () => control.pause(), resume: () => control.resume(), stop });
    return {
      queue,
      take: (chunk) => queue.push(chunk),
      finish: () => queue.end(),
      fail: (err) => queue.fail(err),
    };
  }
  // The queue holds (and pauses) the decoder's output; the decoder's own backpressure pauses the call.
  const queue = new BodyQueue({ pause: () => decoder.pause(), resume: () => decoder.resume(), stop });
  decoder.on('data', (chunk: Buffer) => queue.push(chunk));
  decoder.once('end', () => queue.end());
  decoder.once('error', (err) => {
    queue.fail(err);
    control.abort(err);
  });
  decoder.on('drain', () => control.resume());
  return {
    queue,
    take: (chunk) => {
      if (!decoder.write(chunk)) control.pause();
    },
    finish: () => decoder.end(),
    fail: (err) => {
      decoder.destroy();
      queue.fail(err);
    },
  };
}

/**
 * One pool of keep-alive connections per upstream origin (undici's Agent): idle sockets closed after 4 s, or
 * earlier when the server's Keep-Alive says so. undici parses HTTP in JavaScript and hands each body chunk over as
 * a view of the socket's bytes; node:http's client copies each one in C++ and pushes it through a Readable, which
 * cost more than the rest of relaying a streamed answer whose events come as HTTP chunks of their own (`npm run
 * bench`: about 60 µs of CPU per answer of 38 events). Its own deadlines are off: the adapter keeps its own
 * (until the body is read or handed over), and a stream's idle time is the relay's to judge.
 */
function upstreamAgent(): Agent {
  return new Agent({ keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0 });
}

/**
 * The Upstream of `createUpstream` without fetch: undici's dispatcher on a keep-alive pool, without fetch's web
 * Request, Response and streams. Same contract: the deadline runs until the body is read (or handed over as a
 * stream), the client's abort stops the call, compressed answers are decoded as fetch decodes them.
 */
export function createNodeUpstream(options: Omit<UpstreamOptions, 'fetch'>): Upstream {
  const base = new URL(options.baseUrl);
  // The base URL's own credentials and query would be lost on the way: refuse them at start, as fetch would.
  if (base.username || base.password || base.search) {
    throw new TypeError('The upstream URL must not contain credentials or a query string.');
  }
  const origin = base.origin;
  const prefix = base.pathname.replace(/\/+$/, '');
  const agent = upstreamAgent();

  return {
    send(request) {
      return new Promise<UpstreamReply>((resolve, reject) => {
        const headers = request.headers; // built for this call by the caller: ours to change
        setUpstreamKey(headers, request.apiKey ?? options.apiKey, options.auth);
        // fetch asks for compressed answers and decodes them; so does this adapter (the same request upstream).
        headers['accept-encoding'] = 'gzip, deflate, br';
        const body =
          request.body == null
            ? null
            : typeof request.body === 'string'
              ? request.body
              : Buffer.from(request.body);

        let control: CallControl | undefined;
        let timedOut = false;
        let settled = false;
        /** Set once the headers are in: how the body's chunks reach its queue. */
        let intake: Intake | undefined;
        /** Why the call was stopped (its deadline, the client gone, abort()), once it was. */
        let stopped: Error | undefined;
        const stop = (reason: Error) => {
          stopped ??= reason;
          if (control) return control.abort(reason);
          // Still waiting for a connection: fails now, and the call is stopped as soon as it gets one.
          settle();
          reject(upstreamCallFailure(reason, timedOut, options.baseUrl));
        };
        const timer = setTimeout(() => {
          timedOut = true;
          stop(new Error('the upstream did not answer in time'));
        }, options.timeoutMs);
        const onAbort = () => stop(new Error('the client went away'));
        const settle = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
        };
        if (request.signal?.aborted) {
          settle();
          reject(upstreamCallFailure(request.signal.reason, false, options.baseUrl));
          return;
        }
        request.signal?.addEventListener('abort', onAbort, { once: true });

        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(controller) {
            control = controller;
            if (stopped) controller.abort(stopped);
          },
          onResponseStart(controller, status, raw) {
            if (status < 200) return; // 1xx: the answer's own head comes next
            intake = intakeOf(controller, raw['content-encoding']);
            const reader = intake.queue;
            const readAll = async (): Promise<Uint8Array<ArrayBuffer>> => {
              try {
                return await reader.all();
              } catch (err) {
                throw upstreamCallFailure(err, timedOut, options.baseUrl);
              } finally {
                settle();
              }
            };
            resolve({
              response: { status, ok: status >= 200 && status < 300, headers: new NodeHeaders(raw) },
              async text() {
                return Buffer.from((await readAll()).buffer).toString('utf8');
              },
              bytes: () => readAll(),
              stream() {
                settle();
                return readerStream(reader);
              },
              reader() {
                settle();
                return reader;
              },
              abort() {
                settle();
                stop(new Error('the call was stopped'));
              },
            });
          },
          onResponseData(_controller, chunk) {
            intake?.take(chunk);
          },
          onResponseEnd() {
            intake?.finish();
          },
          onResponseError(_controller, err) {
            if (intake) return intake.fail(err);
            settle();
            reject(upstreamCallFailure(err, timedOut, options.baseUrl));
          },
        };
        try {
          agent.dispatch(
            { origin, path: prefix + request.path, method: request.method, headers, body },
            handler,
          );
        } catch (err) {
          settle();
          reject(upstreamCallFailure(err, false, options.baseUrl));
        }
      });
    },
  };
}
