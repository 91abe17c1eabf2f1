// Node's log writer gathers records into one transaction: a batch goes when it is full, or when its first record
// has waited out the linger (or at shutdown), never record by record: also for records that came in while the last
// batch was being written.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogWriter } from '../../src/adapters/log-writer.ts';
import { createSqliteStore, type SqliteStore } from '../../src/adapters/sqlite-store.ts';
import type { PendingRecord, RequestRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { sampleRecords } from '../fixtures/log-records.ts';

const opened: Array<{ store: SqliteStore; dir: string }> = [];
afterEach(() => {
  for (const { store, dir } of opened.splice(0)) {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A writer on a SQLite store whose writes (transactions) are seen: their sizes, and one held open on demand. */
function writer(lingerMs: number, batchSize: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-batch-'));
  const store = createSqliteStore(join(dir, 'tenet.db'));
  opened.push({ store, dir });
  const batches: number[] = [];
  const seen = {
    batches,
    /** Set: the next write waits for it before it goes to the store. */
    hold: undefined as Promise<void> | undefined,
  };
  const watched: SqliteStore = {
    ...store,
    async write(records) {
      batches.push(records.length);
      const hold = seen.hold;
      seen.hold = undefined;
      await hold;
      await store.write(records);
    },
  };
  const lines: string[] = [];
  const logger = createLogger((t) => t, { sink: (_, line) => lines.push(line) });
  return {
    store,
    seen,
    lines,
    writer: createLogWriter(watched, { logger, scope: 'process', lingerMs, batchSize }),
  };
}

const records = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ ...sampleRecords(tag)[0]!, id: `${tag}-${i}` }));
const stored = async (store: SqliteStore) => (await store.listRequests({ limit: 100 })).items.length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the log writer on Node', () => {
  it('writes a full batch at once, without waiting out the linger', async () => {
    const { store, writer: w } = writer(60_000, 5);
    const started = Date.now();
    await Promise.all(records('full', 5).map((r) => w.record(r)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await stored(store)).toBe(5);
    expect(w.stats()).toMatchObject({ written: 5, pending: 0 });
  });

  it('holds a batch that is not full until its linger ends, or until flush()', async () => {
    const { store, writer: w } = writer(60_000, 5);
    const settled = records('partial', 3).map((r) => w.record(r));
    await sleep(300);
    expect(await stored(store)).toBe(0);
    expect(w.stats()).toMatchObject({ written: 0, pending: 3 });
    await w.flush();
    await Promise.all(settled);
    expect(await stored(store)).toBe(3);
  });

  it('gathers the records that come in while a batch is written into the next batch, not one at a time', async () => {
    const { store, seen, writer: w } = writer(400, 100);
    let release = () => {};
    seen.hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = records('first', 3).map((r) => w.record(r));
    while (seen.batches.length === 0) await sleep(5);
    // The first batch is being written: three more come in, a few ms apart.
    const more: Promise<void>[] = [];
    for (const r of records('more', 3)) {
      more.push(w.record(r));
      await sleep(5);
    }
    release();
    await Promise.all(first);
    // Written at once they would have gone as their own small transactions; they wait for their linger instead.
    await sleep(30);
    expect(seen.batches).toEqual([3]);
    await Promise.all(more);
    expect(seen.batches).toEqual([3, 3]);
    expect(await stored(store)).toBe(6);
  });

  it('writes what gathered once the linger ends', async () => {
    const { store, writer: w } = writer(200, 100);
    await Promise.all(records('linger', 4).map((r) => w.record(r)));
    expect(await stored(store)).toBe(4);
  });

  it('builds pending records when their batch is written, all together; one that fails to build is lost alone', async () => {
    const { store, seen, lines, writer: w } = writer(60_000, 4);
    const built: string[] = [];
    const pending = (record: RequestRecord): PendingRecord => ({
      id: record.id,
      bytes: 2_000,
      build: () => {
        built.push(record.id);
        if (record.id === 'pending-2') throw new Error('no such field');
        return record;
      },
    });
    const settled = records('pending', 3).map((r) => w.record(pending(r)));
    // Queued, not built: the batch is not full and its linger is long.
    await sleep(50);
    expect(built).toEqual([]);
    expect(w.stats()).toMatchObject({ pending: 3 });
    // The fourth fills the batch: all four are built, one after another, just before the write.
    settled.push(w.record(records('built', 1)[0] as RequestRecord));
    await Promise.all(settled);
    expect(built).toEqual(['pending-0', 'pending-1', 'pending-2']);
    expect(seen.batches).toEqual([3]);
    expect(await stored(store)).toBe(3);
    expect(w.stats()).toMatchObject({ written: 3, failed: 1, pending: 0 });
    expect(lines.join('\n')).toMatch(/building a log record failed; record lost.*pending-2.*no such field/);
  });
});
