// The test-runs API inside workerd over a real D1 log: post a `tenet test` result, list runs, read one whole; bad bodies and auth.
import { describe, expect, it } from 'vitest';
import type { TestRun, TestRunSummary } from '../../src/core/quality/test-run.ts';
import { testRunBody } from '../fixtures/test-runs.ts';
import { adminToken } from './admin-test.ts';
import { clientKey, harness, sessionCookie } from './harness.ts';

const settings = { TENET_ADMIN_TOKEN: adminToken, TENET_CRITIC_MODEL: 'critic-model' };

async function api() {
  const t = await harness(settings);
  const asAdmin = { authorization: `Bearer ${adminToken}` };
  /** `auth`: the credentials to send (the admin token unless told otherwise). */
  const call = async (path: string, init: RequestInit = {}, auth: Record<string, string> = asAdmin) => {
    const headers = { 'content-type': 'application/json', ...auth };
    const res = await t.fetch(`/admin/api${path}`, { ...init, headers });
    const text = await res.text();
    return { status: res.status, text, json: <T = unknown>() => JSON.parse(text) as T };
  };
  const post = (body: unknown, auth: Record<string, string> = asAdmin) =>
    call(
      '/test-runs',
      { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) },
      auth,
    );
  return { t, call, post };
}

const errorOf = (res: { json: <T>() => T }) =>
  res.json<{ error: { code: string; type: string; param: string | null; message: string } }>().error;

describe('POST /admin/api/test-runs', () => {
  it('keeps a posted run: 201 with its id, listed newest first with per-principle summaries, read back whole', async () => {
    const { call, post } = await api();
    const name = `runs-${crypto.randomUUID().slice(0, 8)}`;
    const first = await post(testRunBody(name, 'aaaaaaaaaaaa'));
    expect(first.status, first.text).toBe(201);
    const created = first.json<{ id: string; version: string; ok: boolean }>();
    expect(created).toEqual({ id: expect.any(String), version: `${name}@aaaaaaaaaaaa`, ok: false });
    await new Promise((r) => setTimeout(r, 5)); // a later millisecond: newest first is unambiguous
    const second = await post(testRunBody(name, 'bbbbbbbbbbbb', { allPass: true }));
    expect(second.status, second.text).toBe(201);
    const secondId = second.json<{ id: string }>().id;

    const list = await call(`/test-runs?constitution=${name}`);
    expect(list.status, list.text).toBe(200);
    const { items } = list.json<{ items: TestRunSummary[] }>();
    expect(items.map((r) => [r.id, r.version, r.ok])).toEqual([
      [secondId, `${name}@bbbbbbbbbbbb`, true],
      [created.id, `${name}@aaaaaaaaaaaa`, false],
    ]);
    expect(items[1]).toMatchObject({
      constitution: name,
      time: expect.any(Number),
      totals: { examples: 4, passed: 3, failed: 1 },
      principles: [
        {
          id: 'no-sycophancy',
          status: 'tested',
          examples: 2,
          passed: 1,
          failed: 1,
          precision: 0.5,
          recall: 1,
          falsePositiveRate: 1,
        },
        { id: 'tone', passed: 2, failed: 0 },
        { id: 'be-brief', status: 'untested' },
      ],
    });
    expect(items[1]).not.toHaveProperty('principles.0.results');
    const limited = await call(`/test-runs?constitution=${name}&limit=1`);
    expect(limited.json<{ items: TestRunSummary[] }>().items.map((r) => r.id)).toEqual([secondId]);
    const byVersion = await call(`/test-runs?version=${name}@aaaaaaaaaaaa`);
    expect(byVersion.json<{ items: TestRunSummary[] }>().items.map((r) => r.id)).toEqual([created.id]);

    const one = await call(`/test-runs/${created.id}`);
    expect(one.status).toBe(200);
    expect(one.json<TestRun>()).toEqual({
      ...testRunBody(name, 'aaaaaaaaaaaa'),
      id: created.id,
      time: items[1]?.time,
      ok: false,
    });
    const missing = await call('/test-runs/no-such-run');
    expect([missing.status, errorOf(missing).code, errorOf(missing).param]).toEqual([404, 'not_found', 'id']);
  });

  it('answers a bad body with an OpenAI-shaped 400 naming the field, and a huge one with 413', async () => {
    const { post, call } = await api();
    const good = testRunBody('bad-bodies', 'aaaaaaaaaaaa');
    const nested = structuredClone(good) as unknown as {
      principles: Array<{ results: Array<Record<string, unknown>> }>;
    };
    (nested.principles[0]?.results[1] as Record<string, unknown>)['expected'] = 'yes';
    const cases: Array<[unknown, string, string | null]> = [
      ['{"name": ', 'invalid_json', null],
      [{ ...good, totals: undefined }, 'invalid_request', 'totals'],
      [nested, 'invalid_request', 'principles[0].results[1].expected'],
      [{ ...good, version: 'other@aaaaaaaaaaaa' }, 'invalid_request', 'version'],
      [{ ...good, version: 'bad-bodies' }, 'invalid_request', 'version'],
      [{ ...good, runs: 0 }, 'invalid_request', 'runs'],
      [{ ...good, startedAt: 'yesterday' }, 'invalid_request', 'startedAt'],
      [[good], 'invalid_request', null],
    ];
    for (const [body, code, param] of cases) {
      const res = await post(body);
      expect(res.status, res.text).toBe(400);
      const error = errorOf(res);
      expect([error.code, error.type, error.param]).toEqual([code, 'invalid_request_error', param]);
      expect(error.message.length).toBeGreaterThan(10);
    }
    expect(errorOf(await post({ ...good, runs: 0 })).message).toBe(
      'Invalid field "runs": Too small: expected number to be >=1.',
    );

    const huge = { ...good, file: 'x'.repeat(9 * 1024 * 1024) };
    const tooLarge = await post(huge);
    expect([tooLarge.status, errorOf(tooLarge).code]).toEqual([413, 'request_too_large']);

    const badQuery = await call('/test-runs?limit=0');
    expect([badQuery.status, errorOf(badQuery).param]).toEqual([400, 'limit']);
    const unknown = await call('/test-runs?constitutions=x');
    expect([unknown.status, errorOf(unknown).param]).toEqual([400, 'constitutions']);
  });

  it('is closed to requests without the admin token (401) and to client keys (403), open to a session', async () => {
    const { t, post, call } = await api();
    const body = testRunBody('auth-check', 'aaaaaaaaaaaa');
    const none = await post(body, {});
    expect([none.status, errorOf(none).code]).toEqual([401, 'invalid_admin_token']);
    const wrong = await post(body, { authorization: 'Bearer wrong-token-0123456789' });
    expect([wrong.status, errorOf(wrong).code]).toEqual([401, 'invalid_admin_token']);
    const client = await post(body, { authorization: `Bearer ${clientKey}` });
    expect([client.status, errorOf(client).code]).toEqual([403, 'forbidden']);
    for (const path of ['/test-runs', '/test-runs/anything']) {
      const res = await call(path, {}, {});
      expect([res.status, errorOf(res).code]).toEqual([401, 'invalid_admin_token']);
    }
    const cookie = await sessionCookie(t, adminToken);
    const withCookie = await call('/test-runs?constitution=auth-check', {}, { cookie });
    expect(withCookie.status, withCookie.text).toBe(200);
    const closed = await harness({ TENET_CRITIC_MODEL: 'critic-model' });
    const res = await closed.fetch('/admin/api/test-runs', {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const closedError = ((await res.json()) as { error: { code: string } }).error;
    expect([res.status, closedError.code]).toEqual([403, 'admin_closed']);
  });

  it('filters the log by shadow state: judged, agree, disagree; anything else is a 400', async () => {
    const { call } = await api();
    for (const state of ['judged', 'agree', 'disagree']) {
      for (const route of ['/requests', '/violations', '/stats']) {
        const res = await call(`${route}?shadow=${state}`);
        expect(res.status, `${route} ${res.text}`).toBe(200);
      }
    }
    const bad = await call('/requests?shadow=maybe');
    expect([bad.status, errorOf(bad).param]).toEqual([400, 'shadow']);
  });
});
