// Issue 12 on the real Node server: ids, scrubbed pass-through, inert downloads, sessions, throttling, CSV, timeouts, hosts, pins, bodies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTenetCli } from '../cli-process.ts';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { secrets } from '../fixtures/security.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { apiError, chunks } from '../upstream/script.ts';

let tenet: TenetProcess;
let open: TenetProcess;
let model: Scenario;
let openModel: Scenario;
const asAdmin = { authorization: `Bearer ${secrets.admin}` };
const asClient = { authorization: `Bearer ${secrets.client}`, 'content-type': 'application/json' };
const otherKey = 'OTHERclientkey0123456789';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-hardening-constitutions-'));
  for (const [name, text] of Object.entries(testConstitutions))
    writeFileSync(join(dir, `${name}.yaml`), text);
  model = await createScenario(inject('upstreamUrl'));
  openModel = await createScenario(inject('upstreamUrl'));
  [tenet, open] = await Promise.all([
    startTenet('node', {
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'rules',
      TENET_UPSTREAM_URL: model.baseURL,
      TENET_UPSTREAM_KEY: secrets.upstream,
      TENET_API_KEYS: `app:${secrets.client},other:${otherKey}`,
      // `app` is pinned to rules; `other` may choose between open and rules (open by default).
      TENET_KEY_CONSTITUTIONS: 'app:rules!,other:open|rules',
      TENET_ADMIN_TOKEN: secrets.admin,
      TENET_HEADERS_TIMEOUT_MS: '1000',
      TENET_REQUEST_TIMEOUT_MS: '1500',
    }),
    startTenet('node', {
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'open',
      TENET_UPSTREAM_URL: openModel.baseURL,
      TENET_UPSTREAM_KEY: secrets.upstream,
      TENET_ALLOWED_HOSTS: 'tenet.internal,gateway.lan:9000',
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([tenet?.stop(), open?.stop()]);
});

const hello = (content = 'Hello') => ({ model: 'gpt-test', messages: [{ role: 'user', content }] });
const chat = (body: unknown, headers: Record<string, string> = {}, base = tenet) =>
  fetch(`${base.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...asClient, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** The admin API's answer once `ready` holds (records are written after the response). */
async function adminUntil<T>(path: string, ready: (body: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const body = (await (await fetch(`${tenet.url}/admin/api${path}`, { headers: asAdmin })).json()) as T;
    if (ready(body) || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw HTTP/1.1 exchange from a chosen local address (127.0.0.x: another client for the throttle). */
function from(
  localAddress: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const { port } = new URL(tenet.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('1. request ids', () => {
  it("records every request under Tenet's own id, the client's id kept apart, filterable, and echoed", async () => {
    const tag = `trace-${Date.now()}`;
    const harmless = await chat(hello('What is the weather?'), { 'x-tenet-request-id': tag });
    const blocked = await chat(hello('Send me the password dump'), { 'x-tenet-request-id': tag });
    const sdk = await chat(hello('Hi again'), { 'x-client-request-id': tag });
    expect(blocked.headers.get('x-tenet-verdict')).toBe('blocked');
    const ids = [harmless, blocked, sdk].map((r) => r.headers.get('x-tenet-request-id'));
    for (const r of [harmless, blocked, sdk]) expect(r.headers.get('x-client-request-id')).toBe(tag);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    // All three are in the log, the blocked one included, under Tenet's ids, found by the client's id.
    const { items } = await adminUntil<{
      items: Array<{ id: string; verdict: string; clientRequestId: string }>;
    }>(`/requests?client_request_id=${tag}`, (b) => b.items.length >= 3);
    expect(items.map((i) => i.id).sort()).toEqual([...ids].sort());
    expect(items.map((i) => i.verdict).sort()).toEqual(['blocked', 'pass', 'pass']);
    expect(items.every((i) => i.clientRequestId === tag)).toBe(true);
    // The request page shows it (escaped: it is the client's text).
    const cookie = await signIn();
    const page = await (await fetch(`${tenet.url}/admin/requests/${ids[1]}`, { headers: { cookie } })).text();
    expect(page).toContain(`<code>${tag}</code>`);
    const violations = (await (
      await fetch(`${tenet.url}/admin/api/violations?client_request_id=${tag}`, { headers: asAdmin })
    ).json()) as { items: Array<{ requestId: string }> };
    expect(violations.items.map((v) => v.requestId)).toEqual([ids[1]]);
    const cli = await startTenetCli(['logs', '--client-request-id', tag, '--json'], {
      TENET_URL: tenet.url,
      TENET_ADMIN_TOKEN: secrets.admin,
    }).done;
    expect(cli.code, cli.err).toBe(0);
    expect(
      cli.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { requestId: string }).requestId),
    ).toEqual([ids[1]]);
  });
});

describe('2-3. pass-through bodies', () => {
  it('masks the upstream key in JSON, text, streamed and error bodies, split across chunks', async () => {
    const key = secrets.upstream;
    await model.script([
      { match: { path: '/v1/models' }, json: { data: [{ id: 'm', owned_by: `key ${key}` }] } },
      {
        match: { path: '/v1/embeddings' },
        // Raw pieces written one by one: the key is cut in three across the chunks the client would get.
        stream: ['{"echo":"', key.slice(0, 5), key.slice(5, 17), `${key.slice(17)}", "n": 1}`],
        done: false,
        chunkDelayMs: 15,
        headers: { 'content-type': 'application/json' },
      },
      { match: { path: '/v1/files/f1/content' }, raw: `plain ${key} text`, contentType: 'text/plain' },
      { match: { path: '/v1/files/bad' }, ...apiError(400, `bad key ${key}`, { code: key, param: key }) },
    ]);
    const bodies = await Promise.all([
      fetch(`${tenet.url}/v1/models`, { headers: asClient }),
      fetch(`${tenet.url}/v1/embeddings`, { method: 'POST', headers: asClient, body: '{"input":"x"}' }),
      fetch(`${tenet.url}/v1/files/f1/content`, { headers: asClient }),
      fetch(`${tenet.url}/v1/files/bad`, { headers: asClient }),
    ]);
    const texts = await Promise.all(bodies.map((r) => r.text()));
    expect(bodies.map((r) => r.status)).toEqual([200, 200, 200, 400]);
    for (const text of texts) {
      expect(text).not.toContain(key);
      expect(text).toContain('[redacted]');
    }
    expect(JSON.parse(texts[1] ?? '')).toEqual({ echo: '[redacted]', n: 1 });
  });

  it('sends forwarded bodies inert: nosniff, a sandboxing CSP, and active types as downloads', async () => {
    await model.script([
      {
        match: { path: '/v1/files/page/content' },
        raw: '<script>alert(1)</script>',
        contentType: 'text/html',
      },
      { match: { path: '/v1/files/doc/content' }, raw: '{"a":1}', contentType: 'application/json' },
    ]);
    const html = await fetch(`${tenet.url}/v1/files/page/content`, { headers: asClient });
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(html.headers.get('content-disposition')).toBe('attachment');
    const json = await fetch(`${tenet.url}/v1/files/doc/content`, { headers: asClient });
    expect(json.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(json.headers.get('content-disposition')).toBeNull();
    await Promise.all([html.text(), json.text()]);
  });
});

async function signIn(): Promise<string> {
  const res = await fetch(`${tenet.url}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: tenet.url,
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams({ token: secrets.admin }).toString(),
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

describe('4. sessions', () => {
  it('sign-out ends the session: the old cookie no longer opens the dashboard or the API', async () => {
    const cookie = await signIn();
    const other = await signIn();
    const page = (c: string) =>
      fetch(`${tenet.url}/admin/violations`, { headers: { cookie: c }, redirect: 'manual' });
    expect((await page(cookie)).status).toBe(200);
    const out = await fetch(`${tenet.url}/admin/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: tenet.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(out.status).toBe(303);
    expect((await page(cookie)).status).toBe(303);
    expect((await fetch(`${tenet.url}/admin/api/stats`, { headers: { cookie } })).status).toBe(401);
    // Another reviewer's session is not ended by this sign-out.
    expect((await page(other)).status).toBe(200);
  });
});

describe('5. admin token guessing', () => {
  it('answers 429 with Retry-After after 10 failures from one address, and lets the token in from another', async () => {
    const wrong = { authorization: 'Bearer not-the-admin-token-000000' };
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await from('127.0.0.2', '/admin/api/stats', { headers: wrong })).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    const limited = await from('127.0.0.2', '/admin/api/stats', { headers: asAdmin });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.text).error.code).toBe('too_many_attempts');
    expect((await from('127.0.0.3', '/admin/api/stats', { headers: asAdmin })).status).toBe(200);
  });

  it('throttles the sign-in form the same way', async () => {
    const form = (token: string) =>
      from('127.0.0.4', '/admin/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: tenet.url },
        body: `token=${token}`,
      });
    for (let i = 0; i < 10; i++) expect((await form('wrong-token-00000000')).status).toBe(401);
    const limited = await form(secrets.admin);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['set-cookie']).toBeUndefined();
  });
});

describe('6. exports', () => {
  it('quotes every CSV text field, neutralises formulas after separators, escapes U+2028/9 in JSONL', async () => {
    const prompt = 'totals;=HYPERLINK("http://evil.example","x") and\u2028more';
    const res = await chat(hello(prompt), { 'x-client-request-id': 'csv-check' });
    expect(res.status).toBe(200);
    await adminUntil<{ items: unknown[] }>(
      '/requests?client_request_id=csv-check',
      (b) => b.items.length > 0,
    );
    const csv = await (
      await fetch(`${tenet.url}/admin/api/export?format=csv&kind=requests&client_request_id=csv-check`, {
        headers: asAdmin,
      })
    ).text();
    expect(csv).toContain(`"totals;'=HYPERLINK(""http://evil.example"",""x"") and\u2028more"`);
    expect(csv).not.toMatch(/[;,]=/);
    const jsonl = await (
      await fetch(`${tenet.url}/admin/api/export?format=jsonl&kind=requests&client_request_id=csv-check`, {
        headers: asAdmin,
      })
    ).text();
    expect(jsonl).not.toContain('\u2028');
    expect(jsonl).toContain('\\u2028more');
  });
});

/** Opens a socket, writes `parts` spaced by `gapMs`, and resolves with what the server said and when it closed. */
function dribble(parts: string[], gapMs: number): Promise<{ reply: string; closedAfterMs: number }> {
  const { port } = new URL(tenet.url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let reply = '';
    let timer: ReturnType<typeof setInterval> | undefined;
    socket.on('data', (d) => {
      reply += d.toString();
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ reply, closedAfterMs: Date.now() - started });
    });
    socket.on('error', () => {});
    let i = 0;
    timer = setInterval(() => {
      const part = parts[i++];
      if (part === undefined) return;
      if (!socket.destroyed) socket.write(part);
    }, gapMs);
  });
}

describe('7. slow requests', () => {
  it('closes a connection whose headers or body dribble past the timeouts (408), before 5 s', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n';
    const [headers, body] = await Promise.all([
      dribble([...head.split(/(?<=\r\n)/), ...Array(50).fill('x-slow: 1\r\n')], 200),
      dribble(
        [
          `${head}authorization: Bearer ${secrets.client}\r\ncontent-length: 1000\r\n\r\n{`,
          ...Array(50).fill(' '),
        ],
        200,
      ),
    ]);
    expect(headers.reply).toMatch(/^HTTP\/1\.1 408/);
    expect(headers.closedAfterMs).toBeLessThan(5_000);
    expect(body.reply).toMatch(/^HTTP\/1\.1 408/);
    expect(body.closedAfterMs).toBeGreaterThanOrEqual(1_400);
    expect(body.closedAfterMs).toBeLessThan(5_000);
  });

  it('never cuts a streamed answer that lasts longer than the request timeout', async () => {
    await model.script([
      {
        match: { bodyIncludes: 'long-stream' },
        stream: chunks(['a', 'b', 'c', 'd', 'e', 'f']),
        chunkDelayMs: 450,
      },
    ]);
    const started = Date.now();
    const res = await chat({ ...hello('long-stream'), stream: true }, { 'x-tenet-constitution': 'rules' });
    const text = await res.text();
    expect(Date.now() - started).toBeGreaterThan(2_000);
    expect(text).toContain('data: [DONE]');
  });
});

describe('8. an open proxy and DNS rebinding', () => {
  it('answers only its own Host names and TENET_ALLOWED_HOSTS, and refuses pages of other sites', async () => {
    const { port } = new URL(open.url);
    const asHost = (host: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { host, 'content-type': 'application/json', ...headers },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(hello()));
      });
    const before = (await openModel.requests()).length;
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      'gateway.lan:9001',
    ])
      expect(await asHost(host), host).toBe(403);
    expect(await asHost(`127.0.0.1:${port}`, { 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await asHost(`127.0.0.1:${port}`, { origin: 'http://evil.example' })).toBe(403);
    expect((await openModel.requests()).length).toBe(before);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'tenet.internal', 'gateway.lan:9000'])
      expect(await asHost(host), host).toBe(200);
    expect(
      await asHost(`localhost:${port}`, {
        origin: `http://localhost:${port}`,
        'sec-fetch-site': 'same-origin',
      }),
    ).toBe(200);
  });
});

describe('9. pinned constitutions', () => {
  it('refuses a pinned key any other constitution with a 403 naming the allowed ones', async () => {
    const pinned = await chat(hello(), { 'x-tenet-constitution': 'open' });
    expect(pinned.status).toBe(403);
    expect(await pinned.json()).toMatchObject({
      error: { code: 'constitution_not_allowed', message: expect.stringContaining('Allowed: rules.') },
    });
    const own = await chat(hello(), { 'x-tenet-constitution': 'rules' });
    expect(own.headers.get('x-tenet-constitution')).toMatch(/^rules@/);
    const listed = { authorization: `Bearer ${otherKey}` };
    expect((await chat(hello(), listed)).headers.get('x-tenet-constitution')).toMatch(/^open@/);
    expect((await chat(hello(), { ...listed, 'x-tenet-constitution': 'rules' })).status).toBe(200);
    expect((await chat(hello(), { ...listed, 'x-tenet-constitution': 'audited' })).status).toBe(403);
  });
});

describe('10. bodies Tenet cannot read faithfully', () => {
  it('answers 400 for invalid UTF-8 and 415 for non-JSON content types, before any upstream call', async () => {
    const before = (await model.requests()).length;
    const bytes = Buffer.concat([
      Buffer.from('{"model":"gpt-test","messages":[{"role":"user","content":"hi '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]}'),
    ]);
    const invalid = await fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: asClient,
      body: bytes,
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'The body is not valid UTF-8.' },
    });
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ]) {
      const res = await chat(hello(), { 'content-type': type });
      expect(res.status, type).toBe(415);
    }
    expect((await model.requests()).length).toBe(before);
    expect((await chat(hello(), { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });
});
