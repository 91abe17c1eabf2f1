// The log through a Cloudflare Queue (miniflare's, in workerd): records are queued after the response and the
// Worker's queue handler writes them to D1; through a D1 outage of over a minute every batch is retried, and when D1
// is back each record is stored exactly once, however often it is delivered.

import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import type { LogWriterStats } from '../../src/adapters/log-writer.ts';
import worker from '../../src/entry/worker.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { completion } from '../upstream/script.ts';
import { harness, hello } from './harness.ts';

const bindings = env as unknown as { DB: D1Database; BROKEN_DB: D1Database; LOG_QUEUE: Queue };

const count = async (sql: string, ...params: string[]) =>
  (
    await bindings.DB.prepare(sql)
      .bind(...params)
      .first<{ n: number }>()
  )?.n ?? 0;

describe('the log through a queue (Workers)', () => {
  it('with the queue bound, a record goes to the queue after the response and its consumer stores it once; /health says so', async () => {
    const t = await harness({ bindings: { LOG_QUEUE: bindings.LOG_QUEUE } });
    await t.scenario.script([{ json: completion('Hi.'), times: 'always' }]);
    const res = await t.chat(hello);
    expect(res.status).toBe(200);
    const id = res.headers.get('x-tenet-request-id') ?? '';
    const health = (await (await t.fetch('/health')).json()) as { log: LogWriterStats };
    expect(health.log).toMatchObject({ path: 'queue', queued: 1, sendFailures: 0 });
    // miniflare delivers the batch to this Worker's queue handler within its max_batch_timeout (1 s).
    let stored = 0;
    for (let i = 0; i < 100 && stored === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stored = await count('SELECT COUNT(*) AS n FROM requests WHERE id = ?', id);
    }
    expect(stored).toBe(1);
  });

  it('without the queue binding, each request writes its own record (the waitUntil path), and /health says so', async () => {
    const t = await harness();
    const health = (await (await t.fetch('/health')).json()) as { log: LogWriterStats };
    expect(health.log.path).toBe('waitUntil');
  });

  it('D1 down for over a minute: every delivery is retried with growing delays, nothing is acknowledged; back up, each record is stored once, even delivered again', async () => {
    const tag = `queue-${crypto.randomUUID().slice(0, 8)}`;
    const records = sampleRecords(tag);
    const deliver = async (db: D1Database, attempts: number) => {
      const batch = createMessageBatch(
        'tenet-log',
        records.map((r, i) => ({ id: `${tag}-${i}`, timestamp: new Date(), attempts, body: r })),
      );
      // The retry delay asked for is seen on the way to the queue's batch (its test result does not report it).
      let delaySeconds: number | undefined;
      const observed = {
        messages: batch.messages,
        ackAll: () => batch.ackAll(),
        retryAll: (options?: { delaySeconds?: number }) => {
          delaySeconds = options?.delaySeconds;
          batch.retryAll(options);
        },
      };
      const ctx = createExecutionContext();
      await worker.queue(observed, { ...env, DB: db }, ctx);
      return { ...(await getQueueResult(batch, ctx)), delaySeconds };
    };
    // BROKEN_DB has no tables: every write fails, as during an outage.
    let waited = 0;
    for (let attempts = 1; waited < 60; attempts++) {
      const result = await deliver(bindings.BROKEN_DB, attempts);
      expect(result.ackAll).toBe(false);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryBatch.retry).toBe(true);
      const delay = result.delaySeconds ?? 0;
      expect(delay).toBeGreaterThan(0);
      waited += delay;
      // Within the queue's max_retries (wrangler.toml: 10), so nothing is dead-lettered during the outage.
      expect(attempts).toBeLessThan(10);
    }
    expect(await count('SELECT COUNT(*) AS n FROM requests WHERE constitution = ?', tag)).toBe(0);

    const up = await deliver(bindings.DB, 5);
    expect(up).toMatchObject({ ackAll: true, retryBatch: { retry: false } });
    // Delivered again (an acknowledgement lost on the way): nothing doubles, rollups included.
    expect(await deliver(bindings.DB, 6)).toMatchObject({ ackAll: true });
    expect(await count('SELECT COUNT(*) AS n FROM requests WHERE constitution = ?', tag)).toBe(
      records.length,
    );
    expect(await count('SELECT COUNT(*) AS n FROM violations WHERE constitution = ?', tag)).toBe(
      records.flatMap((r) => r.violations).length,
    );
    expect((await createD1Store(bindings.DB).stats({ constitution: tag })).requests).toBe(records.length);
  });

  it('a message that is not a log record is acknowledged and dropped, the others stored', async () => {
    const [record] = sampleRecords(`queue-bad-${crypto.randomUUID().slice(0, 8)}`);
    const batch = createMessageBatch('tenet-log', [
      { id: 'bad', timestamp: new Date(), attempts: 1, body: { hello: 'world' } },
      { id: 'good', timestamp: new Date(), attempts: 1, body: record },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env as never, ctx);
    expect(await getQueueResult(batch, ctx)).toMatchObject({ ackAll: true, explicitAcks: ['bad'] });
    expect(await count('SELECT COUNT(*) AS n FROM requests WHERE id = ?', record!.id)).toBe(1);
  });
});
