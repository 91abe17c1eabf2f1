// Issue 12 inside workerd, where the runtime differs from Node: D1 sessions and throttle, fetch pass-through, hosts, bodies.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { adminToken } from './admin-test.ts';
import { clientKey, harness, hello, sessionCookie, upstreamKey } from './harness.ts';

const asClient = { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' };
const store = () => createD1Store((env as unknown as { DB: D1Database }).DB);

describe('request ids (D1)', () => {
  it("stores the client's id apart from Tenet's, so reusing it hides nothing", async () => {
    const t = await harness();
    const tag = `worker-trace-${crypto.randomUUID()}`;
    const replies = [
      await t.chat(hello, { 'x-tenet-request-id': tag }),
      await t.chat(hello, { 'x-client-request-id': tag }),
    ];
    const ids = replies.map((r) => r.headers.get('x-tenet-request-id'));
    expect(new Set(ids).size).toBe(2);
    const { items } = await store().listRequests({ clientRequestId: tag });
    expect(items.map((i) => i.id).sort()).toEqual([...ids].sort());
  });
});

describe('pass-through (fetch upstream)', () => {
  it('masks the upstream key split across chunks and sends active types as inert downloads', async () => {
    const t = await harness();
    await t.scenario.script([
      {
        match: { path: '/v1/embeddings' },
        stream: ['{"echo":"', upstreamKey.slice(0, 9), upstreamKey.slice(9), '"}'],
        done: false,
        chunkDelayMs: 10,
        headers: { 'content-type': 'application/json' },
      },
      { match: { path: '/v1/files/p/content' }, raw: `<b>${upstreamKey}</b>`, contentType: 'text/html' },
    ]);
    const echoed = await t.fetch('/v1/embeddings', {
      method: 'POST',
      headers: asClient,
      body: '{"input":"x"}',
    });
    expect(await echoed.json()).toEqual({ echo: '[redacted]' });
    const page = await t.fetch('/v1/files/p/content', { headers: asClient });
    expect(await page.text()).toBe('<b>[redacted]</b>');
    expect(page.headers.get('content-disposition')).toBe('attachment');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });
});

describe('admin sessions and throttling (D1, shared by every isolate)', () => {
  it('sign-out ends the session for good', async () => {
    const t = await harness({ TENET_ADMIN_TOKEN: adminToken });
    const cookie = await sessionCookie(t, adminToken);
    const stats = () => t.fetch('/admin/api/stats', { headers: { cookie } });
    expect((await stats()).status).toBe(200);
    const out = await t.fetch('/admin/logout', {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: 'http://tenet.test', 'sec-fetch-site': 'same-origin' },
    });
    expect(out.status).toBe(303);
    expect((await stats()).status).toBe(401);
  });

  it('counts failures from one address across app instances, never locking out another address', async () => {
    const settings = { TENET_ADMIN_TOKEN: adminToken, TENET_ADMIN_AUTH_FAILURES: '3' };
    // Two envs: two separately built apps with nothing in memory in common, like two isolates.
    const [a, b] = [await harness(settings), await harness(settings)];
    const address = `198.51.100.${Math.floor(Math.random() * 250)}`;
    const attempt = (t: typeof a, token: string, ip = address) =>
      t.fetch('/admin/api/stats', { headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': ip } });
    expect((await attempt(a, 'wrong-token-000000000')).status).toBe(401);
    expect((await attempt(b, 'wrong-token-000000000')).status).toBe(401);
    expect((await attempt(a, 'wrong-token-000000000')).status).toBe(401);
    const limited = await attempt(b, adminToken);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt(a, adminToken, '203.0.113.7')).status).toBe(200);
  });
});

describe('an open proxy on workerd', () => {
  it('answers only TENET_ALLOWED_HOSTS and loopback names, and no page of another site', async () => {
    const refused = await harness({ TENET_API_KEYS: '' });
    expect((await refused.chat(hello)).status).toBe(403);
    const t = await harness({ TENET_API_KEYS: '', TENET_ALLOWED_HOSTS: 'tenet.test' });
    expect((await t.chat(hello)).status).toBe(200);
    expect((await t.chat(hello, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await t.chat(hello, { origin: 'https://evil.example' })).status).toBe(403);
    expect(await t.scenario.requests()).toHaveLength(1);
  });
});

describe('bodies workerd cannot read faithfully', () => {
  it('answers 400 for invalid UTF-8 and 415 for a form body, before any upstream call', async () => {
    const t = await harness();
    const head = new TextEncoder().encode('{"model":"gpt-test","messages":[{"role":"user","content":"hi ');
    const body = new Uint8Array([...head, 0xff, 0xfe, ...new TextEncoder().encode('"}]}')]);
    const invalid = await t.fetch('/v1/chat/completions', { method: 'POST', headers: asClient, body });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toBe(
      'The body is not valid UTF-8.',
    );
    const form = await t.chat(JSON.stringify(hello), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(await t.scenario.requests()).toEqual([]);
  });
});
