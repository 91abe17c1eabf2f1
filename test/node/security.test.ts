// Security on the real Node server: no configured secret anywhere it writes, admin auth on every route, no calls to other hosts.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { adminAuth } from '../../middleware/admin-auth.ts';
import { clientAuth } from '../../middleware/client-auth.ts';
import { isAdminToken } from '../../src/http/dashboard/session.ts';
import { loopConstitutions, testConstitutions } from '../fixtures/constitutions.ts';
import {
  countByteReads,
  rawRequest,
  redirectAttempts,
  type Sent,
  scriptTraffic,
  secrets,
  startEvil,
  Transcript,
  wrongAdminAuth,
} from '../fixtures/security.ts';
import { schemaErrors } from '../openai-schema.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type RecordedRequest, type Scenario } from '../upstream/client.ts';

let tenet: TenetProcess;
let model: Scenario;
let critic: Scenario;
let dbDir: string;
let evil: Server;
let evilUrl: string;
const evilHits: string[] = [];
const transcript = new Transcript();
const asAdmin = { authorization: `Bearer ${secrets.admin}` };

beforeAll(async () => {
  ({ server: evil, url: evilUrl } = await startEvil(evilHits));
  const dir = mkdtempSync(join(tmpdir(), 'tenet-security-constitutions-'));
  for (const [name, text] of Object.entries({ ...testConstitutions, ...loopConstitutions }))
    writeFileSync(join(dir, `${name}.yaml`), text);
  dbDir = mkdtempSync(join(tmpdir(), 'tenet-security-log-'));
  model = await createScenario(inject('upstreamUrl'));
  critic = await createScenario(inject('upstreamUrl'));
  tenet = await startTenet('node', {
    TENET_DB: join(dbDir, 'tenet.db'),
    TENET_CONSTITUTIONS_DIR: dir,
    TENET_CONSTITUTION: 'judged',
    TENET_UPSTREAM_URL: model.baseURL,
    TENET_UPSTREAM_KEY: secrets.upstream,
    TENET_CRITIC_URL: critic.baseURL,
    TENET_CRITIC_KEY: secrets.critic,
    TENET_CRITIC_MODEL: 'critic-model',
    TENET_API_KEYS: `app:${secrets.client}`,
    TENET_ADMIN_TOKEN: secrets.admin,
    TENET_VERDICT_CACHE_TTL_S: '0',
    // Dozens of wrong credentials on purpose: the throttle (tested in hardening.test.ts) would answer 429.
    TENET_ADMIN_AUTH_FAILURES: '0',
  });
});

afterAll(async () => {
  await tenet?.stop();
  await new Promise((resolve) => evil?.close(resolve));
});

const send = (s: Sent) =>
  fetch(`${tenet.url}${s.path ?? '/v1/chat/completions'}`, {
    method: s.method ?? 'POST',
    headers: { authorization: `Bearer ${secrets.client}`, 'content-type': 'application/json', ...s.headers },
    ...(s.body === undefined ? {} : { body: typeof s.body === 'string' ? s.body : JSON.stringify(s.body) }),
  });

/** Waits until the log holds `count` requests (records are written after the response). */
async function logged(count: number): Promise<Array<{ id: string }>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${tenet.url}/admin/api/requests?limit=500`, { headers: asAdmin });
    const { items } = (await res.json()) as { items: Array<{ id: string }> };
    if (items.length >= count || Date.now() > deadline) return items;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('no configured secret leaks', () => {
  it('appears in no response, admin API answer, export, dashboard page, log line or database byte', async () => {
    const traffic = await scriptTraffic(model, critic);
    const verdicts = new Set<string>();
    for (const s of traffic) {
      const res = await send(s);
      verdicts.add(res.headers.get('x-tenet-verdict') ?? String(res.status));
      await transcript.response(`response to ${s.label}`, res);
    }
    // The mix really happened: every verdict and errors.
    expect([...verdicts]).toEqual(expect.arrayContaining(['pass', 'revised', 'blocked', '403', '400']));
    // One record per chat completion that reached the loop (pass, revised, blocked ×2, streamed ×2, echo, leaky).
    const items = await logged(8);
    expect(items.length).toBeGreaterThanOrEqual(8);

    const api = [
      '/requests?limit=500',
      '/violations?limit=500',
      '/stats',
      '/stats?bucket=hour',
      '/constitutions',
    ];
    for (const format of ['jsonl', 'csv', 'pairs'])
      for (const kind of ['requests', 'violations']) api.push(`/export?format=${format}&kind=${kind}`);
    for (const { id } of items) api.push(`/requests/${encodeURIComponent(id)}`);
    for (const path of api) {
      const res = await fetch(`${tenet.url}/admin/api${path}`, { headers: asAdmin });
      expect(res.status, path).toBe(200);
      await transcript.response(`admin API ${path}`, res);
    }

    // The dashboard, signed in over HTTP with the form, then browsed with the session cookie.
    const login = await fetch(`${tenet.url}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: tenet.url,
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ token: secrets.admin }).toString(),
    });
    expect(login.status).toBe(303);
    await transcript.response('dashboard sign-in', login);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/^tenet_admin=/);
    const pages = ['/admin', '/admin?range=24h', '/admin/violations', '/admin/login'];
    for (const { id } of items) pages.push(`/admin/requests/${encodeURIComponent(id)}`);
    for (const page of pages) {
      const res = await fetch(`${tenet.url}${page}`, { headers: { cookie }, redirect: 'manual' });
      expect(res.status, page).toBe(page === '/admin/login' ? 303 : 200);
      await transcript.response(`dashboard ${page}`, res);
    }

    transcript.add('server output', tenet.output());
    for (const file of readdirSync(dbDir))
      transcript.add(`database file ${file}`, readFileSync(join(dbDir, file), 'latin1'));
    expect(transcript.texts.length).toBeGreaterThan(40);
    expect(transcript.leaks()).toEqual([]);
  });
});

describe('admin authentication', () => {
  const routes = [
    '/requests',
    '/violations',
    '/requests/x',
    '/stats',
    '/export?format=csv',
    '/constitutions',
  ];
  const wrong = wrongAdminAuth;

  it('refuses every admin API route, read and write, without the admin token', async () => {
    for (const [name, headers, status] of wrong) {
      for (const route of routes) {
        const res = await fetch(`${tenet.url}/admin/api${route}`, { headers });
        const body = (await res.json()) as unknown;
        expect(res.status, `${name} ${route}`).toBe(status);
        expect(schemaErrors.error(body), `${name} ${route}`).toEqual([]);
      }
      const review = await fetch(`${tenet.url}/admin/api/violations/x/review`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'confirmed' }),
      });
      expect(review.status, `${name} review`).toBe(status);
    }
  });

  it('sends every dashboard page to the sign-in form without a session, and refuses a wrong token', async () => {
    for (const [name, headers] of wrong) {
      for (const page of ['/admin', '/admin/violations', '/admin/requests/x']) {
        const res = await fetch(`${tenet.url}${page}`, { headers, redirect: 'manual' });
        expect(res.status, `${name} ${page}`).toBe(303);
        expect(res.headers.get('location'), `${name} ${page}`).toMatch(/\/admin\/login$/);
      }
    }
    for (const token of ['', 'wrong', secrets.client, `${secrets.admin} `, secrets.admin.toUpperCase()]) {
      const res = await fetch(`${tenet.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: tenet.url },
        body: new URLSearchParams({ token }).toString(),
      });
      expect(res.status, token).toBe(401);
      expect(res.headers.get('set-cookie'), token).toBeNull();
    }
  });

  it('refuses the proxy routes without a client key, and with the admin token as one', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${secrets.admin}`,
      `Bearer ${secrets.upstream}`,
      `Bearer ${secrets.client.slice(1)}`,
    ]) {
      const res = await fetch(`${tenet.url}/v1/models`, authorization ? { headers: { authorization } } : {});
      expect(res.status, authorization).toBe(401);
      expect(schemaErrors.error(await res.json()), authorization).toEqual([]);
    }
  });
});

describe('request bodies cannot redirect Tenet to another host', () => {
  it('sends every upstream call to the configured upstream and critic only', async () => {
    await model.reset();
    await critic.reset();
    const { ask, bodies, extraHeaders, paths } = redirectAttempts(evilUrl);
    const headers = { authorization: `Bearer ${secrets.client}`, 'content-type': 'application/json' };
    for (const body of bodies) {
      const res = await fetch(`${tenet.url}/v1/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(500);
    }
    for (const extra of extraHeaders) {
      const res = await rawRequest(tenet.url, '/v1/chat/completions', {
        method: 'POST',
        headers: { ...headers, ...extra },
        body: JSON.stringify(ask),
      });
      expect(res.status).toBeLessThan(500);
    }
    for (const path of paths) {
      const res = await rawRequest(tenet.url, path, { headers });
      expect(res.status, path).toBeLessThan(500);
    }
    expect(evilHits).toEqual([]);
    const modelCalls = await model.requests();
    const criticCalls = await critic.requests();
    expect(modelCalls.length).toBeGreaterThanOrEqual(bodies.length);
    expect(criticCalls.length).toBeGreaterThan(0);
    const isCritic = (r: RecordedRequest) => r.body.includes('tenet_critique');
    for (const r of modelCalls) {
      expect(r.path, r.path).toMatch(/^\/v1\//);
      expect(r.headers['authorization']).toBe(`Bearer ${secrets.upstream}`);
      expect(isCritic(r)).toBe(false);
    }
    for (const r of criticCalls) {
      expect(r.path).toBe('/v1/chat/completions');
      expect(r.headers['authorization']).toBe(`Bearer ${secrets.critic}`);
      expect(isCritic(r)).toBe(true);
    }
  });
});

describe('secret comparison is constant-time', () => {
  it('client keys: every key is compared over its full length, whatever the presented key', async () => {
    const keys = [
      { id: 'a', key: secrets.client },
      { id: 'b', key: `${secrets.client}-second-key` },
    ];
    const { counters, spy } = countByteReads();
    try {
      const app = new Hono().use(clientAuth({ keys, byok: false })).get('/', (c) => c.text('ok'));
      const keyBytes = keys.map(({ key }) => counters.find((c) => c.text === key));
      for (const presented of [
        'X',
        `X${secrets.client.slice(1)}`,
        `${secrets.client.slice(0, -1)}X`,
        'Y'.repeat(200),
        secrets.client,
      ]) {
        for (const c of counters) c.reads = 0;
        const before = counters.length;
        const res = await app.request('/', { headers: { authorization: `Bearer ${presented}` } });
        expect(res.status === 200, presented).toBe(presented === secrets.client);
        for (const [i, { key }] of keys.entries()) expect(keyBytes[i]?.reads, key).toBe(key.length);
        // The presented key is read once per byte of every key: no early exit at the first difference or match.
        const reads = counters
          .slice(before)
          .filter((c) => c.text === presented)
          .reduce((n, c) => n + c.reads, 0);
        expect(reads, presented).toBe(keys.reduce((n, k) => n + k.key.length, 0));
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('the admin token and the sign-in form compare SHA-256 digests of both sides, never the raw strings', async () => {
    const digested: string[] = [];
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    const spy = vi.spyOn(crypto.subtle, 'digest').mockImplementation(async (algorithm, data) => {
      digested.push(new TextDecoder().decode(data as Uint8Array));
      return await digest(algorithm, data);
    });
    try {
      const app = new Hono()
        .use(adminAuth({ token: secrets.admin, clientKeys: [{ id: 'app', key: secrets.client }] }))
        .get('/', (c) => c.text('ok'));
      for (const presented of ['x', `${secrets.admin}x`, secrets.admin.slice(0, -1), secrets.client]) {
        digested.length = 0;
        const res = await app.request('/', { headers: { authorization: `Bearer ${presented}` } });
        expect(res.status).not.toBe(200);
        // Both sides hashed: the comparison runs over two 32-byte digests, whatever the lengths.
        expect(digested).toEqual(expect.arrayContaining([presented, secrets.admin, secrets.client]));
        digested.length = 0;
        expect(await isAdminToken(presented, secrets.admin)).toBe(false);
        expect(digested.sort()).toEqual([presented, secrets.admin].sort());
      }
      expect(await isAdminToken(secrets.admin, secrets.admin)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
