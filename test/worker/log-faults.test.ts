// A failing log store never fails or slows a request: records are retried inside their waitUntil, land once when the
// store recovers, and are counted as lost on /health when it does not; retention purges on cron.

import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import type { LogWriterStats } from '../../src/adapters/log-writer.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import worker, { createWorker } from '../../src/entry/worker.ts';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { createScenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';
import { harness, hello } from './harness.ts';

const bindings = env as unknown as { DB: D1Database; BROKEN_DB: D1Database };

/** Tenet's Worker (test constitutions: "urgent" in a prompt is flagged) with `db` as its D1 binding. */
async function tenetWith(db: D1Database) {
  const set = await buildConstitutionSet(
    Object.entries(testConstitutions).map(([name, text]) => ({ file: `${name}.yaml`, text })),
  );
  const handler = createWorker([...set.constitutions.values()]);
  const scenario = await createScenario(inject('upstreamUrl'));
  await scenario.script([{ json: completion('fine'), times: 'always' }]);
  const workerEnv = {
    ...env,
    DB: db,
    // This file tests the waitUntil path: no queue (test/worker/log-queue.test.ts has it).
    LOG_QUEUE: undefined,
    TENET_UPSTREAM_URL: scenario.baseURL,
    TENET_CONSTITUTION: 'rules',
    // An open proxy answers only the Host names it is told of.
    TENET_ALLOWED_HOSTS: 'tenet.test',
  };
  return {
    /** Sends one chat completion; `logged` settles when the request's waitUntil work is done. */
    async send(content: string) {
      const ctx = createExecutionContext();
      const started = Date.now();
      const res = await handler.fetch(
        new Request('http://tenet.test/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
        }),
        workerEnv,
        ctx,
      );
      const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
      return {
        status: res.status,
        content: body.choices[0]?.message.content,
        id: res.headers.get('x-tenet-request-id') ?? '',
        answeredIn: Date.now() - started,
        logged: waitOnExecutionContext(ctx).then(() => Date.now() - started),
      };
    },
    async health() {
      const res = await handler.fetch(
        new Request('http://tenet.test/health'),
        workerEnv,
        createExecutionContext(),
      );
      return (await res.json()) as { status: string; log: LogHealth };
    },
  };
}

/** The `log` part of /health: the writer's counters. */
type LogHealth = LogWriterStats;

/**
 * The test D1 behind a binding whose writes fail for `outageMs`; the first `ambiguous` writes after it commit
 * but still report a failure (the reply lost on the way back); every write after that passes through.
 */
function flakyD1(real: D1Database, outageMs: number, ambiguous: number): D1Database {
  const recovers = Date.now() + outageMs;
  let ambiguousLeft = ambiguous;
  return {
    prepare: (sql: string) => real.prepare(sql),
    batch: async (statements: D1PreparedStatement[]) => {
      if (Date.now() < recovers) throw new Error('D1_ERROR: Network connection lost.');
      const result = await real.batch(statements);
      if (ambiguousLeft-- > 0) throw new Error('D1_ERROR: Network connection lost.');
      return result;
    },
  } as unknown as D1Database;
}

/** The Workers runtime cancels waitUntil work about 30 s after the response. */
const waitUntilCap = 30_000;

describe('a log store that fails', () => {
  it('down for 5 s, then back: answers at once, /health shows the outage, and every record lands exactly once inside its waitUntil', async () => {
    // Longer than the old writer's ~3 s of retries, which dropped these records.
    const tenet = await tenetWith(flakyD1(bindings.DB, 5_000, 2));
    const sent = await Promise.all(Array.from({ length: 6 }, (_, n) => tenet.send(`urgent: question ${n}`)));
    for (const s of sent) expect(s).toMatchObject({ status: 200, content: 'fine' });
    // Every first attempt fails (they start just after the responses): the store is down, the records wait for
    // their retries.
    let during = await tenet.health();
    for (let i = 0; i < 40 && during.status !== 'degraded'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      during = await tenet.health();
    }
    expect(during).toMatchObject({ status: 'degraded', log: { status: 'degraded', failed: 0 } });
    expect(during.log.pending).toBeGreaterThan(0);
    expect(during.log.lastError).toMatch(/Network connection lost/);

    const loggedIn = await Promise.all(sent.map((s) => s.logged));
    for (const ms of loggedIn) expect(ms).toBeLessThan(waitUntilCap);
    const after = await tenet.health();
    expect(after).toMatchObject({
      status: 'ok',
      log: { status: 'ok', written: 6, pending: 0, failed: 0, failingSince: null },
    });
    // Each record was retried through the outage (and two once more after writes that landed unacknowledged).
    expect(after.log.retries).toBeGreaterThanOrEqual(6 + 2);
    // One request row and its one violation per request: a write that landed but reported failure is not doubled.
    for (const { id } of sent) {
      const requests = await bindings.DB.prepare('SELECT COUNT(*) AS n FROM requests WHERE id = ?')
        .bind(id)
        .first<{ n: number }>();
      const violations = await bindings.DB.prepare(
        'SELECT COUNT(*) AS n FROM violations WHERE request_id = ?',
      )
        .bind(id)
        .first<{ n: number }>();
      expect({ id, requests: requests?.n, violations: violations?.n }).toEqual({
        id,
        requests: 1,
        violations: 1,
      });
    }
  }, 30_000);

  it('never recovers: answers at once, the record is retried for ~20 s inside its waitUntil, then counted as lost on /health', async () => {
    // BROKEN_DB has no tables: every write fails, every retry too.
    const tenet = await tenetWith(bindings.BROKEN_DB);
    const sent = await tenet.send('urgent: hello');
    expect(sent).toMatchObject({ status: 200, content: 'fine' });
    // The write and its retries run after the response (waitUntil): they do not hold it up.
    expect(sent.answeredIn).toBeLessThan(2_000);
    const retriedFor = await sent.logged;
    // It kept trying well past the old ~3 s give-up, and gave up before the runtime's cap would cancel it unseen.
    expect(retriedFor).toBeGreaterThanOrEqual(18_000);
    expect(retriedFor).toBeLessThan(waitUntilCap);
    const { status, log } = await tenet.health();
    expect(status).toBe('degraded');
    expect(log).toMatchObject({ status: 'degraded', failed: 1, written: 0, pending: 0 });
    expect(log.retries).toBeGreaterThanOrEqual(5);
    expect(log.lastError).toMatch(/no such table/);
    // Answers are still unaffected while the store stays down.
    expect(await tenet.send('urgent: again')).toMatchObject({ status: 200, content: 'fine' });
  }, 60_000);
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
