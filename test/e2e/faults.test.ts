// Faults on a real Node server: each upstream, critic, log-store and client fault has a defined answer, and the log
// keeps what happened. (A constitution file broken while serving: test/e2e/constitutions-node.test.ts.)
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopConstitutions } from '../fixtures/constitutions.ts';
import { allClean, criticCall, criticSays } from '../fixtures/critic.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type ReplySpec, type Scenario } from '../upstream/client.ts';
import { apiError, chunk, chunks, completion } from '../upstream/script.ts';

const key = 'faults-client-key-0123456789';
const adminToken = 'faults-admin-token-0123456789abcdef';

interface Detail {
  request: { verdict: string; criticError: string | null; reason: string; stream: boolean };
  record: {
    draft: string | null;
    final: string | null;
    error?: { code: string; status: number; message: string } | null;
    stages: Array<{ rounds: Array<{ critic: Array<{ fault?: { code: string } }> }> }>;
  };
}

function constitutionsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-faults-'));
  for (const [name, text] of Object.entries(loopConstitutions))
    writeFileSync(join(dir, `${name}.yaml`), text);
  return dir;
}

const baseSettings = (upstream: string, db: string): Record<string, string> => ({
  TENET_UPSTREAM_URL: upstream,
  TENET_API_KEYS: `faults:${key}`,
  TENET_ADMIN_TOKEN: adminToken,
  TENET_CONSTITUTIONS_DIR: constitutionsDir(),
  TENET_CONSTITUTION: 'open',
  TENET_CRITIC_MODEL: 'critic-model',
  TENET_VERDICT_CACHE_TTL_S: '0',
  TENET_UPSTREAM_TIMEOUT_MS: '500',
  TENET_STREAM_IDLE_TIMEOUT_MS: '300',
  TENET_CRITIC_TIMEOUT_MS: '300',
  TENET_DB: db,
});

const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-test',
  messages: [{ role: 'user', content }],
  ...extra,
});

function client(tenet: TenetProcess) {
  const chat = (body: unknown, constitution = 'open', signal?: AbortSignal) =>
    fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-tenet-constitution': constitution,
      },
      body: JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  /** The logged request, once the writer has written it (after the response). */
  const recordOf = async (id: string | null): Promise<Detail | undefined> => {
    for (let i = 0; i < 60; i++) {
      const res = await fetch(`${tenet.url}/admin/api/requests/${id}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (res.ok) return (await res.json()) as Detail;
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  };
  return { chat, recordOf };
}

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string | null; type: string; message: string } }).error;

describe('faults on the Node server', () => {
  let tenet: TenetProcess;
  let scenario: Scenario;
  let db: string;
  let chat: ReturnType<typeof client>['chat'];
  let recordOf: ReturnType<typeof client>['recordOf'];

  beforeAll(async () => {
    scenario = await createScenario(inject('upstreamUrl'));
    db = join(mkdtempSync(join(tmpdir(), 'tenet-faults-db-')), 'tenet.db');
    tenet = await startTenet('node', baseSettings(scenario.baseURL, db));
    ({ chat, recordOf } = client(tenet));
  });
  afterAll(async () => {
    await tenet?.stop();
  });

  describe('the upstream failing before its answer: an OpenAI-shaped error', () => {
    it('429 with Retry-After reaches the client, and the openai SDK (maxRetries: 1) retries after it and succeeds', async () => {
      await scenario.reset();
      const limited = apiError(429, 'Rate limit reached.', {
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': '1' },
      });
      await scenario.script([limited, limited, { json: completion('Fine now.') }]);
      const raw = await chat(ask('hi'));
      expect(raw.status).toBe(429);
      expect(raw.headers.get('retry-after')).toBe('1');
      expect(await errorOf(raw)).toMatchObject({
        code: 'rate_limit_exceeded',
        message: 'Rate limit reached.',
      });
      // Recorded as a failed request, with what the client got.
      const failed = await recordOf(raw.headers.get('x-tenet-request-id'));
      expect(failed?.request).toMatchObject({ verdict: 'error', stream: false });
      expect(failed?.record.error).toEqual({
        code: 'rate_limit_exceeded',
        status: 429,
        message: 'Rate limit reached.',
      });
      expect(failed?.record.draft).toBeNull();

      const sdk = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: key, maxRetries: 1 });
      const started = Date.now();
      const answer = await sdk.chat.completions.create(ask('hi') as never, {
        headers: { 'x-tenet-constitution': 'open' },
      });
      expect(answer.choices[0]?.message.content).toBe('Fine now.');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(await scenario.requests()).toHaveLength(3);
    });

    it.each<[string, ReplySpec, number, string]>([
      ['a 5xx', apiError(500, 'boom'), 502, 'upstream_error'],
      ['a timeout', { stall: true }, 504, 'upstream_timeout'],
      ['a connection reset', { drop: true }, 502, 'upstream_unreachable'],
      [
        'malformed JSON',
        { raw: '{"choices": [{"message"', contentType: 'application/json' },
        502,
        'upstream_invalid_response',
      ],
    ])(
      '%s: an OpenAI-shaped 5xx error at once, no critic call, and a record of the failure',
      async (_, reply, status, code) => {
        await scenario.reset();
        await scenario.script([reply]);
        const started = Date.now();
        const res = await chat(ask('hi'), 'judged');
        expect(res.status).toBe(status);
        const error = await errorOf(res);
        expect(error).toMatchObject({ code, type: 'server_error' });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(await scenario.requests()).toHaveLength(1);
        const detail = await recordOf(res.headers.get('x-tenet-request-id'));
        expect(detail?.request).toMatchObject({
          verdict: 'error',
          reason: `failed (${code}, HTTP ${status}): ${error.message}`,
        });
        expect(detail?.record.error).toEqual({ code, status, message: error.message });
        expect(detail?.record.stages).toEqual([]);
      },
    );
  });

  describe('an upstream stream breaking after it started', () => {
    const stream = chunks('one two three four five six');
    it.each<[string, Partial<ReplySpec>, string]>([
      ['a stall mid-stream', { stallAfter: 3 }, 'upstream_timeout'],
      ['a connection reset mid-stream', { dropAfter: 3 }, 'upstream_stream_broken'],
      ['a stream that never sends [DONE]', { done: false }, 'upstream_stream_broken'],
    ])(
      'pass-through, %s: the chunks so far, then an error event; recorded as far as it went',
      async (_, fault, code) => {
        await scenario.reset();
        await scenario.script([{ stream, ...fault } as ReplySpec]);
        const res = await chat(ask('count', { stream: true }));
        expect(res.status).toBe(200);
        const body = await res.text();
        expect(body).toContain('"content":"one "');
        expect(body).toMatch(new RegExp(`data: \\{"error":\\{.*"code":"${code}"`));
        expect(body).not.toContain('[DONE]');
        const detail = await recordOf(res.headers.get('x-tenet-request-id'));
        expect(detail?.request).toMatchObject({ verdict: 'error', stream: true });
        expect(detail?.request.reason).toMatch(
          new RegExp(
            `^not judged: upstream stream broken \\(${code}\\) mid-stream; failed \\(${code}, HTTP 50[24]\\): `,
          ),
        );
        expect(detail?.record.error?.code).toBe(code);
        expect(detail?.record.final).toMatch(/^one two /);
      },
    );

    it('buffer mode: a broken draft stream is an HTTP 502 before any byte, and the critic is never called', async () => {
      await scenario.reset();
      await scenario.script([{ stream, dropAfter: 3 }]);
      const res = await chat(ask('count', { stream: true }), 'judged');
      expect(res.status).toBe(502);
      expect(await errorOf(res)).toMatchObject({ code: 'upstream_stream_broken' });
      expect(await scenario.requests()).toHaveLength(1);
      const detail = await recordOf(res.headers.get('x-tenet-request-id'));
      expect(detail?.request).toMatchObject({ verdict: 'error', stream: true });
      expect(detail?.record.error).toMatchObject({ code: 'upstream_stream_broken', status: 502 });
    });
  });

  describe('the critic failing: on_error decides, the record says why', () => {
    const faults: Array<[string, ReplySpec]> = [
      ['429', { match: criticCall, ...apiError(429, 'slow down', { headers: { 'retry-after': '1' } }) }],
      ['5xx', { match: criticCall, ...apiError(503, 'overloaded') }],
      ['a timeout', { match: criticCall, stall: true }],
      ['a connection reset', { match: criticCall, drop: true }],
      ['malformed JSON', { match: criticCall, raw: '{"choices": [', contentType: 'application/json' }],
    ];
    it.each(faults)('%s, twice: fail_closed blocks, fail_open flags the draft', async (_, fault) => {
      await scenario.reset();
      const draft = { json: completion('It is a myth.'), times: 2 };
      await scenario.script([{ ...fault, times: 4 }, draft]);
      const closed = await chat(ask('Visible from the Moon?'), 'judged');
      const open = await chat(ask('Visible from the Moon?'), 'judged-open');
      expect(closed.status).toBe(200);
      expect(closed.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(open.headers.get('x-tenet-verdict')).toBe('flagged');
      const code = closed.headers.get('x-tenet-critic-error');
      expect(code).toMatch(/^critic_/);
      expect(open.headers.get('x-tenet-critic-error')).toBe(code);
      expect(
        ((await open.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
          .content,
      ).toBe('It is a myth.');
      for (const [res, verdict] of [
        [closed, 'blocked'],
        [open, 'flagged'],
      ] as const) {
        const detail = await recordOf(res.headers.get('x-tenet-request-id'));
        expect(detail?.request).toMatchObject({ verdict, criticError: code });
        expect(detail?.record.stages[0]?.rounds[0]?.critic.map((c) => c.fault?.code)).toEqual([code, code]);
      }
      // One retry per call, no more: 2 critic calls per request.
      expect((await scenario.requests()).filter((r) => r.body.includes('tenet_critique'))).toHaveLength(4);
    });
  });

  describe('a rate-limited critic: Retry-After is honoured when it is short', () => {
    it('Retry-After: 1 → one wait of about a second, then the retry answers and the request passes', async () => {
      await scenario.reset();
      await scenario.script([
        { match: criticCall, ...apiError(429, 'slow down', { headers: { 'retry-after': '1' } }) },
        criticSays(allClean()),
        { json: completion('It is a myth.') },
      ]);
      const started = Date.now();
      const res = await chat(ask('Visible from the Moon?'), 'judged');
      expect(res.headers.get('x-tenet-verdict')).toBe('pass');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      const detail = await recordOf(res.headers.get('x-tenet-request-id'));
      expect(detail?.record.stages[0]?.rounds[0]?.critic.map((c) => c.fault?.code)).toEqual([
        'critic_rate_limited',
        undefined,
      ]);
    });

    it('Retry-After: 30 → no retry that would hold the answer for 30 s: on_error decides at once', async () => {
      await scenario.reset();
      await scenario.script([
        { match: criticCall, ...apiError(429, 'quota', { headers: { 'retry-after': '30' } }), times: 2 },
        { json: completion('It is a myth.') },
      ]);
      const started = Date.now();
      const res = await chat(ask('Visible from the Moon?'), 'judged');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(res.headers.get('x-tenet-critic-error')).toBe('critic_rate_limited');
      expect((await scenario.requests()).filter((r) => r.body.includes('tenet_critique'))).toHaveLength(1);
    });
  });

  it('the log store locked by another connection for 1.5 s: answers are not held up, every record lands once', async () => {
    await scenario.reset();
    await scenario.script([{ json: completion('fine'), times: 'always' }]);
    const lock = new Database(db);
    lock.exec('BEGIN EXCLUSIVE');
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        lock.exec('COMMIT');
        lock.close();
        resolve();
      }, 1500),
    );
    const ids: string[] = [];
    const slowest: number[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 4 }, () => chat(ask(`wave ${wave}`))));
      slowest.push(Date.now() - started);
      for (const res of answers) {
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        ids.push(res.headers.get('x-tenet-request-id') ?? '');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await released;
    // Logging never delays an answer, not even while the store is locked.
    expect(Math.max(...slowest)).toBeLessThan(400);
    const rows = await Promise.all(ids.map((id) => recordOf(id)));
    expect(rows.every((r) => r?.request.verdict === 'pass')).toBe(true);
    const check = new Database(db, { readonly: true });
    const count = check
      .prepare(`SELECT COUNT(*) AS n FROM requests WHERE id IN (${ids.map(() => '?').join(',')})`)
      .get(...ids) as { n: number };
    check.close();
    expect(count.n).toBe(ids.length);
    const health = (await (await fetch(`${tenet.url}/health`)).json()) as {
      log: { failed: number; retries: number };
    };
    expect(health.log.failed).toBe(0);
    expect(health.log.retries).toBeGreaterThan(0);
  });
});

describe('a client disconnecting mid-stream', () => {
  /** A slow streaming upstream that notes how far it got and when its connection closed. */
  let upstream: Server;
  let tenet: TenetProcess;
  const seen = { calls: 0, criticCalls: 0, sent: 0, closed: false };

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        seen.calls++;
        if (body.includes('tenet_critique')) {
          seen.criticCalls++;
          res.writeHead(500).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.on('close', () => {
          seen.closed = true;
        });
        let i = 0;
        const tick = setInterval(() => {
          if (res.destroyed || i >= 40) {
            clearInterval(tick);
            if (!res.destroyed) res.end('data: [DONE]\n\n');
            return;
          }
          res.write(`data: ${JSON.stringify(chunk({ content: `w${i} ` }, { id: 'chatcmpl-slow' }))}\n\n`);
          seen.sent = ++i;
        }, 50);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    const db = join(mkdtempSync(join(tmpdir(), 'tenet-faults-db-')), 'tenet.db');
    tenet = await startTenet('node', baseSettings(`http://127.0.0.1:${port}/v1`, db));
  });
  afterAll(async () => {
    await tenet?.stop();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it.each([
    ['pass-through', 'open', 'not judged'],
    ['audit', 'judged-audit', 'not audited'],
  ])(
    '%s: the upstream call is aborted, no critic call for a client that is gone, the record is written',
    async (_, constitution, prefix) => {
      Object.assign(seen, { calls: 0, criticCalls: 0, sent: 0, closed: false });
      const { chat, recordOf } = client(tenet);
      const abort = new AbortController();
      const res = await chat(ask('count slowly', { stream: true }), constitution, abort.signal);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('w0');
      abort.abort();
      await reader.cancel().catch(() => {});
      for (let i = 0; i < 40 && !seen.closed; i++) await new Promise((r) => setTimeout(r, 25));
      expect(seen.closed).toBe(true);
      const sentWhenClosed = seen.sent;
      expect(sentWhenClosed).toBeLessThan(10);
      const detail = await recordOf(res.headers.get('x-tenet-request-id'));
      expect(detail?.request).toMatchObject({
        verdict: 'pass',
        reason: `${prefix}: client disconnected mid-stream`,
      });
      expect(detail?.record.draft).toMatch(/^w0 /);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.sent).toBe(sentWhenClosed);
      expect(seen.criticCalls).toBe(0);
      expect(seen.calls).toBe(1);
    },
  );
});
