// A failing log store never fails or slows a request, and what it lost is counted on /health; retention purges on cron.
import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import worker from '../../src/entry/worker.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { createScenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';
import { harness, hello } from './harness.ts';

const bindings = env as unknown as { DB: D1Database; BROKEN_DB: D1Database };

describe('a log store that fails', () => {
  it('still answers at once, and /health counts the records it could not write', async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    await scenario.script([{ json: completion('fine') }]);
    // BROKEN_DB has no tables: every write fails, every retry too.
    const workerEnv = {
      ...env,
      DB: bindings.BROKEN_DB,
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_CONSTITUTION: 'passthrough',
    };
    const ctx = createExecutionContext();
    const started = Date.now();
    const res = await worker.fetch(
      new Request('http://tenet.test/v1/chat/completions', { method: 'POST', body: JSON.stringify(hello) }),
      workerEnv,
      ctx,
    );
    const answeredIn = Date.now() - started;
    expect(res.status).toBe(200);
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('fine');
    // The write and its retries run after the response (waitUntil): they do not hold it up.
    await waitOnExecutionContext(ctx);
    const retriedFor = Date.now() - started;
    expect(answeredIn).toBeLessThan(retriedFor);
    expect(answeredIn).toBeLessThan(500);
    const health = await worker.fetch(
      new Request('http://tenet.test/health'),
      workerEnv,
      createExecutionContext(),
    );
    const { log } = (await health.json()) as {
      log: { failed: number; written: number; retries: number; lastError: string };
    };
    expect(log).toMatchObject({ failed: 1, written: 0, retries: 5 });
    expect(log.lastError).toMatch(/no such table/);
  });
});

describe('TENET_LOG=off', () => {
  it('answers as usual, records nothing, and /health says the log is off', async () => {
    const t = await harness({ TENET_LOG: 'off' });
    await t.scenario.script([{ json: completion('not logged') }]);
    const res = await t.chat(hello);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-tenet-request-id') ?? '';
    expect(await createD1Store(bindings.DB).getRequest(id)).toBeUndefined();
    const { log } = (await (await t.fetch('/health')).json()) as {
      log: { enabled: boolean; written: number };
    };
    expect(log).toMatchObject({ enabled: false, written: 0 });
  });
});

describe('retention', () => {
  it('the cron trigger purges records older than TENET_LOG_RETENTION_DAYS', async () => {
    const store = createD1Store(bindings.DB);
    const tag = `retention-${crypto.randomUUID().slice(0, 8)}`;
    const old = sampleRecords(tag, Date.now() - 40 * 86_400_000).slice(0, 2);
    const recent = sampleRecords(`${tag}-new`, Date.now() - 86_400_000).slice(0, 1);
    await store.write([...old, ...recent]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController(), { ...env, TENET_LOG_RETENTION_DAYS: '30' }, ctx);
    await waitOnExecutionContext(ctx);
    expect((await store.listRequests({ constitution: tag })).items).toHaveLength(0);
    expect((await store.listRequests({ constitution: `${tag}-new` })).items).toHaveLength(1);
  });
});
