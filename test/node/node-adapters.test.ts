// The Node-only adapters of the pass-through path: the upstream client (undici) and the request body read off
// the socket, through a real `tenet serve` and a hand-written upstream over real HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeFetch } from '../../src/adapters/node-fetch.ts';
import { CoalescingResponse } from '../../src/adapters/node-response.ts';
import { createNodeUpstream } from '../../src/adapters/node-upstream.ts';
import { TenetError } from '../../src/core/errors.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';

const key = 'node-adapters-client-key-0123456789';
const completion = (content: string) =>
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-test',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  });
const sse = (content: string) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content } }] })}\n\n`;

/** What the upstream saw of the last request, and how it answers the next one. */
const seen: { body: string; headers: IncomingMessage['headers'] } = { body: '', headers: {} };
let answer: (req: IncomingMessage, res: ServerResponse) => void = (_, res) => res.end(completion('hi'));
let upstream: Server;
let base: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      seen.body = body;
      seen.headers = req.headers;
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

describe('createNodeUpstream', () => {
  const client = () => createNodeUpstream({ baseUrl: base, apiKey: 'sk-upstream', timeoutMs: 300 });

  it('sends the body with its length and the key, and reads a gzip answer decoded, as fetch would', async () => {
    answer = (_, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(completion('packed')));
    };
    const reply = await client().send({
      method: 'POST',
      path: '/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: '{"a":"é"}',
    });
    expect(JSON.parse(await reply.text()).choices[0].message.content).toBe('packed');
    expect(seen.body).toBe('{"a":"é"}');
    expect(seen.headers['content-length']).toBe(String(Buffer.byteLength('{"a":"é"}')));
    expect(seen.headers.authorization).toBe('Bearer sk-upstream');
  });

  it('relays the SSE events of one socket read as one chunk', async () => {
    answer = (_, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 20; i++) res.write(sse(`w${i} `));
      res.end('data: [DONE]\n\n');
    };
    const reply = await client().send({ method: 'POST', path: '/chat/completions', headers: {}, body: '{}' });
    const reader = reply.stream().getReader();
    let text = '';
    let chunks = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      text += Buffer.from(r.value).toString();
      chunks++;
    }
    expect(text.match(/data: /g)).toHaveLength(21);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(chunks).toBeLessThan(21);
  });

  it('decodes a gzip stream as it comes, and hands a slow reader every byte of a long one', async () => {
    const events = Array.from({ length: 400 }, (_, i) => sse(`w${i} ${'x'.repeat(200)}`)).join('');
    for (const zipped of [true, false]) {
      answer = (_, res) => {
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          ...(zipped ? { 'content-encoding': 'gzip' } : {}),
        });
        const bytes = zipped ? gzipSync(events) : Buffer.from(events);
        // Written in pieces over several turns; the reader below takes its time with each read.
        let at = 0;
        const next = () => {
          if (at >= bytes.length) return void res.end();
          res.write(bytes.subarray(at, at + 4096));
          at += 4096;
          setImmediate(next);
        };
        next();
      };
      const reply = await client().send({
        method: 'POST',
        path: '/chat/completions',
        headers: {},
        body: '{}',
      });
      const reader = reply.reader?.() as NonNullable<ReturnType<NonNullable<typeof reply.reader>>>;
      let text = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        text += Buffer.from(r.value).toString();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(text).toBe(events);
    }
  });

  it('turns an upstream that never answers into upstream_timeout, and a dead one into upstream_unreachable', async () => {
    seen.body = '';
    answer = () => {};
    await expect(
      client().send({ method: 'POST', path: '/chat/completions', headers: {}, body: '{}' }),
    ).rejects.toMatchObject({ code: 'upstream_timeout' });
    const dead = createNodeUpstream({ baseUrl: 'http://127.0.0.1:1/v1', apiKey: undefined, timeoutMs: 1000 });
    const err = await dead.send({ method: 'GET', path: '/models', headers: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenetError);
    expect(err).toMatchObject({ code: 'upstream_unreachable' });
  });

  it('fails at once when the client goes away while the call waits for its connection, and never sends it', async () => {
    seen.body = '';
    answer = (_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(completion('late'));
    const gone = new AbortController();
    // A fresh pool: the call has to connect first, and the client leaves before it has.
    const pending = client()
      .send({
        method: 'POST',
        path: '/chat/completions',
        headers: {},
        body: '{"sent":1}',
        signal: gone.signal,
      })
      .catch((e: unknown) => e);
    gone.abort();
    expect(await pending).toMatchObject({ code: 'upstream_unreachable' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.body).toBe('');
  });

  it('stops the call when the client goes away before the answer, and on abort() mid-stream', async () => {
    let closed = 0;
    const closes = () => {
      closed++;
    };
    seen.body = '';
    answer = (req) => req.socket.once('close', closes);
    const gone = new AbortController();
    const pending = client()
      .send({ method: 'POST', path: '/chat/completions', headers: {}, body: '{}', signal: gone.signal })
      .catch((e: unknown) => e);
    for (let i = 0; i < 40 && !seen.body; i++) await new Promise((r) => setTimeout(r, 10));
    gone.abort();
    expect(await pending).toMatchObject({ code: 'upstream_unreachable' });

    answer = (req, res) => {
      req.socket.once('close', closes);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('first'));
    };
    const reply = await client().send({ method: 'POST', path: '/chat/completions', headers: {}, body: '{}' });
    const reader = reply.stream().getReader();
    await reader.read();
    reply.abort();
    await expect(reader.read()).rejects.toThrow();
    for (let i = 0; i < 40 && closed < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(closed).toBe(2);
  });
});

describe('createNodeFetch (the model calls on Node)', () => {
  const nodeFetch = createNodeFetch();

  it('sends method, headers and body, and answers as fetch does: status, headers, a gzip body decoded', async () => {
    answer = (_, res) => {
      res.writeHead(429, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'retry-after': '2',
      });
      res.end(gzipSync(completion('slow down')));
    };
    const res = await nodeFetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k-123', 'content-type': 'application/json' },
      body: '{"model":"m"}',
    });
    expect(seen.body).toBe('{"model":"m"}');
    expect(seen.headers['authorization']).toBe('Bearer k-123');
    expect(seen.headers['content-length']).toBe('13');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('slow down');
  });

  it('rejects with an AbortError when aborted before the answer, and with a TypeError when nothing listens', async () => {
    answer = () => {}; // never answers
    const controller = new AbortController();
    const pending = nodeFetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      body: '{}',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect(nodeFetch('http://127.0.0.1:9/v1/models')).rejects.toBeInstanceOf(TypeError);
  });

  it('gives a 204 no body', async () => {
    answer = (_, res) => {
      res.writeHead(204);
      res.end();
    };
    const res = await nodeFetch(`${base}/v1/anything`);
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });
});

describe('tenet serve: request bodies read off the socket', () => {
  let tenet: TenetProcess;
  beforeAll(async () => {
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: base,
      TENET_API_KEYS: `adapters:${key}`,
      TENET_CONSTITUTION: 'passthrough',
      TENET_MAX_BODY_BYTES: '2000',
    });
  });
  afterAll(async () => {
    await tenet?.stop();
  });
  const post = (body: BodyInit, extra: RequestInit = {}) =>
    fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      ...extra,
    });
  /** A body sent chunked (no Content-Length), as a stream. */
  const chunked = (text: string): RequestInit & { duplex: 'half' } => ({
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(text.slice(0, 10)));
        c.enqueue(new TextEncoder().encode(text.slice(10)));
        c.close();
      },
    }),
    duplex: 'half',
  });
  const ask = (content: string) =>
    JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] });

  it('forwards a body with a Content-Length byte for byte, and one sent chunked', async () => {
    answer = (_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(completion('ok'));
    const res = await post(ask('héllo'));
    expect(res.status).toBe(200);
    expect(seen.body).toBe(ask('héllo'));
    const streamed = await post('', chunked(ask('chunked')));
    expect(streamed.status).toBe(200);
    expect(seen.body).toBe(ask('chunked'));
  });

  it('answers a client that sends Expect: 100-continue, and keeps the expectation between it and Tenet', async () => {
    answer = (_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(completion('ok'));
    const { port } = new URL(tenet.url);
    const body = ask('continue');
    const socket = connect(Number(port), '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => {
      raw += d.toString('latin1');
      // The body goes once Tenet says to continue, as curl sends a large one.
      if (raw.startsWith('HTTP/1.1 100')) {
        raw = '';
        socket.write(body);
      }
    });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`,
    );
    await new Promise((resolve) => socket.on('close', resolve));
    expect(raw).toMatch(/^HTTP\/1\.1 200/);
    expect(raw).toContain('"ok"');
    expect(seen.body).toBe(body);
    expect(seen.headers.expect).toBeUndefined();
  });

  it('refuses a body over TENET_MAX_BODY_BYTES with 413, declared or chunked', async () => {
    const big = ask('x'.repeat(3000));
    const declared = await post(big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: { code: 'request_too_large' } });
    const streamed = await post('', chunked(big));
    expect(streamed.status).toBe(413);
  });
});

describe("CoalescingResponse (the Node server's responses)", () => {
  /** A server whose handler is `handle`, and a raw client that records each chunk it receives and when. */
  async function exchange(
    handle: (res: ServerResponse) => void,
  ): Promise<{ chunks: string[]; whole: string }> {
    const server = createServer({ ServerResponse: CoalescingResponse }, (_req, res) => handle(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const socket = connect(port, '127.0.0.1');
      const chunks: string[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d.toString('latin1')));
      socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      await new Promise((resolve) => socket.on('close', resolve));
      return { chunks, whole: chunks.join('') };
    } finally {
      server.close();
    }
  }

  // The relay's chunk and end come a few promise jobs apart: node:http's own cork for a chunked write ends with
  // the process.nextTick queue, before those jobs run.
  it("holds a turn's writes until the turn ends, so a body and its end go out together", async () => {
    const corked: number[] = [];
    const later = await exchange((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: a\n\n');
      void Promise.resolve().then(() => corked.push(res.socket?.writableCorked ?? -1));
      setImmediate(() => {
        // Uncorked by the end of the turn: the chunk went out, the response still open.
        corked.push(res.socket?.writableCorked ?? -1);
        res.end();
      });
    });
    expect(corked).toEqual([1, 0]);
    expect(later.whole).toContain('data: a');
    // Written and ended in one turn: the headers, the chunk and the chunked body's end in one write.
    const together = await exchange((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: a\n\n');
      void Promise.resolve().then(() => res.end('data: b\n\n'));
    });
    expect(together.chunks).toHaveLength(1);
    expect(together.whole).toMatch(/^HTTP\/1\.1 200[\s\S]*data: a[\s\S]*data: b[\s\S]*0\r\n\r\n$/);
  });

  it('sends a chunk at the end of its turn, long before the response ends', async () => {
    let sentAt = 0;
    const arrivals: number[] = [];
    const server = createServer({ ServerResponse: CoalescingResponse }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: early\n\n');
      sentAt = Date.now();
      setTimeout(() => res.end('data: late\n\n'), 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let body = '';
    socket.on('data', (d: Buffer) => {
      body += d.toString('latin1');
      if (body.includes('data: early') && arrivals.length === 0) arrivals.push(Date.now() - sentAt);
    });
    socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    await new Promise((resolve) => socket.on('close', resolve));
    server.close();
    expect(body).toContain('data: late');
    expect(arrivals[0]).toBeLessThan(150);
  });
});
