// The SQLite log store failing for seconds mid-run on a real Node server: answers never wait, /health shows the
// outage, and once the store is back every request is stored exactly once; at shutdown a dead store costs a count.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { LogWriterStats } from '../../src/adapters/log-writer.ts';
import { createLogWriter } from '../../src/adapters/log-writer.ts';
import { createSqliteStore } from '../../src/adapters/sqlite-store.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';

const key = 'outage-client-key-0123456789';

/** What /health says: the overall status and the log writer's counters. */
interface LogHealth {
  status: string;
  log: LogWriterStats;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function start(): Promise<{ tenet: TenetProcess; db: string }> {
  const scenario = await createScenario(inject('upstreamUrl'));
  await scenario.script([{ json: completion('fine'), times: 'always' }]);
  const dir = mkdtempSync(join(tmpdir(), 'tenet-outage-'));
  for (const [name, text] of Object.entries(testConstitutions))
    writeFileSync(join(dir, `${name}.yaml`), text);
  const db = join(dir, 'tenet.db');
  const tenet = await startTenet('node', {
    TENET_UPSTREAM_URL: scenario.baseURL,
    TENET_API_KEYS: `outage:${key}`,
    TENET_CONSTITUTIONS_DIR: dir,
    // Deterministic principles only: "urgent" in the prompt is flagged, so each request stores one violation too.
    TENET_CONSTITUTION: 'rules',
    TENET_DB: db,
  });
  return { tenet, db };
}

/** One chat completion; returns its status, request id and how long the answer took. */
async function ask(tenet: TenetProcess, n: number) {
  const started = Date.now();
  const res = await fetch(`${tenet.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: `urgent: question ${n}` }],
    }),
  });
  const body = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
  return {
    status: res.status,
    content: body.choices?.[0]?.message.content,
    verdict: res.headers.get('x-tenet-verdict'),
    id: res.headers.get('x-tenet-request-id') ?? '',
    ms: Date.now() - started,
  };
}

const health = async (tenet: TenetProcess) =>
  (await (await fetch(`${tenet.url}/health`)).json()) as LogHealth;

/** Holds the SQLite write lock from another connection (as a backup, a migration or another process would). */
function lockStore(db: string): { release(): void } {
  const lock = new Database(db);
  lock.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      lock.exec('COMMIT');
      lock.close();
    },
  };
}

let running: TenetProcess | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('the log store failing and recovering mid-run (Node, SQLite)', () => {
  it('locked for 5 s under continuous traffic: every answer is a prompt 200, /health shows the outage, and then the store holds each request exactly once', async () => {
    const { tenet, db } = await start();
    running = tenet;
    const answers: Array<Awaited<ReturnType<typeof ask>>> = [];
    const during: LogHealth[] = [];
    let sent = 0;
    let stop = false;
    // Two clients sending back to back for the whole run.
    const traffic = Promise.all(
      [0, 1].map(async () => {
        while (!stop) {
          answers.push(await ask(tenet, sent++));
          await sleep(20);
        }
      }),
    );

    await sleep(1_000);
    // Longer than the old writer's ~3 s of retries: it would have dropped records here.
    const lock = lockStore(db);
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < 5_000) {
      await sleep(250);
      during.push(await health(tenet));
    }
    lock.release();
    await sleep(1_500);
    stop = true;
    await traffic;

    // Answers never waited for the store.
    expect(answers.length).toBeGreaterThan(20);
    for (const a of answers) {
      expect(a).toMatchObject({ status: 200, content: 'fine', verdict: 'flagged' });
      expect(a.ms).toBeLessThan(2_000);
    }
    // The outage was visible while it lasted.
    const degraded = during.filter((h) => h.log.status === 'degraded');
    expect(degraded.length).toBeGreaterThan(0);
    expect(degraded.some((h) => h.log.pending > 0)).toBe(true);
    expect(degraded[0]).toMatchObject({ status: 'degraded', log: { failed: 0 } });
    expect(degraded[0]?.log.lastError).toMatch(/locked|busy/i);
    expect(degraded[0]?.log.failingSince).not.toBeNull();

    // The backlog drains once the lock is gone (backoff is capped at 5 s).
    let after = await health(tenet);
    for (let i = 0; i < 120 && (after.log.pending > 0 || after.log.status !== 'ok'); i++) {
      await sleep(250);
      after = await health(tenet);
    }
    expect(after).toMatchObject({
      status: 'ok',
      log: { status: 'ok', pending: 0, failed: 0, written: answers.length, failingSince: null },
    });
    expect(after.log.retries).toBeGreaterThan(0);

    // Exactly one request row per request sent, and its one violation: nothing lost, nothing twice.
    const check = new Database(db, { readonly: true });
    const rows = check.prepare('SELECT id, COUNT(*) AS n FROM requests GROUP BY id').all() as Array<{
      id: string;
      n: number;
    }>;
    const violations = check
      .prepare('SELECT request_id AS id, COUNT(*) AS n FROM violations GROUP BY request_id')
      .all() as Array<{ id: string; n: number }>;
    check.close();
    const sentIds = answers.map((a) => a.id).sort();
    expect(new Set(sentIds).size).toBe(answers.length);
    expect(rows.map((r) => r.id).sort()).toEqual(sentIds);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(violations.map((r) => r.id).sort()).toEqual(sentIds);
    expect(violations.every((r) => r.n === 1)).toBe(true);
  }, 90_000);

  it('stopping while the store is still locked: shutdown keeps trying for a bounded time, then counts the rest as lost in one line', async () => {
    const { tenet, db } = await start();
    running = tenet;
    const lock = lockStore(db);
    try {
      for (let n = 0; n < 3; n++) expect((await ask(tenet, n)).status).toBe(200);
      let h = await health(tenet);
      for (let i = 0; i < 40 && (h.log.pending < 3 || h.log.status !== 'degraded'); i++) {
        await sleep(50);
        h = await health(tenet);
      }
      expect(h.log).toMatchObject({ status: 'degraded', pending: 3, failed: 0 });

      const stopping = Date.now();
      process.kill(tenet.pid, 'SIGTERM');
      const lostLines = () =>
        tenet
          .output()
          .split('\n')
          .filter((line) => line.includes('"msg":"log store still failing at shutdown; records lost"'));
      while (lostLines().length === 0 && Date.now() - stopping < 20_000) await sleep(100);
      // Bounded: the shutdown drain gives up after ~5 s, well before a 20 s grace period would kill it.
      expect(Date.now() - stopping).toBeLessThan(20_000);
      const lines = lostLines();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'error', records: 3 });
      expect(lines[0]).toMatch(/locked|busy/i);
    } finally {
      lock.release();
    }
  }, 60_000);

  describe('the queue is bounded: past its bound the oldest records are dropped and counted, the rest land in order', () => {
    /** The log writer Node uses (a process-wide queue) on a real SQLite store, with a small bound. */
    function writerOn(bound: { maxQueued?: number; maxQueuedBytes?: number }) {
      const db = join(mkdtempSync(join(tmpdir(), 'tenet-queue-')), 'tenet.db');
      const store = createSqliteStore(db);
      const lines: string[] = [];
      const logger = createLogger((text) => text, { sink: (_, line) => lines.push(line) });
      const writer = createLogWriter(store, {
        logger,
        // As Node wires it (records gather to be batched), with a shorter wait.
        scope: 'process',
        lingerMs: 25,
        baseDelayMs: 10,
        maxDelayMs: 50,
        ...bound,
      });
      /** Stored request ids, in the order they were written. */
      const ids = () => {
        const check = new Database(db, { readonly: true });
        const rows = check.prepare('SELECT id FROM requests ORDER BY rowid').all() as Array<{ id: string }>;
        check.close();
        return rows.map((r) => r.id);
      };
      return { db, store, writer, lines, ids };
    }
    const records = (tag: string, count: number, over: Partial<RequestRecord> = {}) =>
      Array.from({ length: count }, (_, i) => ({ ...sampleRecords(tag)[0]!, id: `${tag}-${i}`, ...over }));

    it('by count', async () => {
      const t = writerOn({ maxQueued: 10 });
      const lock = lockStore(t.db);
      const all = records('count', 15);
      const settled = all.map((r) => t.writer.record(r));
      // The 5 oldest are gone at once; nothing waits for the store to say so.
      expect(t.writer.stats()).toMatchObject({ pending: 10, failed: 5 });
      while (t.writer.stats().status !== 'degraded') await sleep(10);
      lock.release();
      await Promise.all(settled);
      expect(t.writer.stats()).toMatchObject({ status: 'ok', written: 10, pending: 0, failed: 5 });
      expect(t.ids()).toEqual(all.slice(5).map((r) => r.id));
      expect(t.lines.filter((l) => l.includes('log queue full'))).toHaveLength(1);
      expect(t.lines.find((l) => l.includes('log store writes again'))).toContain('"lost":5');
      t.store.close();
    });

    it('by estimated bytes, whatever the count', async () => {
      // Records of 100,000 characters (~200 KB each in memory): five fit in 1 MiB, a sixth does not.
      const t = writerOn({ maxQueuedBytes: 1024 * 1024 });
      const lock = lockStore(t.db);
      const all = records('bytes', 8, { prompt: 'x'.repeat(100_000) });
      const settled = all.map((r) => t.writer.record(r));
      expect(t.writer.stats()).toMatchObject({ pending: 5, failed: 3 });
      lock.release();
      await Promise.all(settled);
      expect(t.writer.stats()).toMatchObject({ written: 5, pending: 0, failed: 3 });
      expect(t.ids()).toEqual(all.slice(3).map((r) => r.id));
      t.store.close();
    });
  });
});
