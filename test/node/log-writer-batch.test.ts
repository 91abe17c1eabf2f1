// Node's log writer gathers records into one transaction: a batch goes when it is full, or when its first record
// has waited out the linger (or at shutdown), never record by record.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogWriter } from '../../src/adapters/log-writer.ts';
import { createSqliteStore, type SqliteStore } from '../../src/adapters/sqlite-store.ts';
import { createLogger } from '../../src/core/logger.ts';
import { sampleRecords } from '../fixtures/log-records.ts';

const opened: Array<{ store: SqliteStore; dir: string }> = [];
afterEach(() => {
  for (const { store, dir } of opened.splice(0)) {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function writer(lingerMs: number, batchSize: number) {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-batch-'));
  const store = createSqliteStore(join(dir, 'tenet.db'));
  opened.push({ store, dir });
  const logger = createLogger((t) => t, { sink: () => {} });
  return { store, writer: createLogWriter(store, { logger, scope: 'process', lingerMs, batchSize }) };
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

  it('writes what gathered once the linger ends', async () => {
    const { store, writer: w } = writer(200, 100);
    await Promise.all(records('linger', 4).map((r) => w.record(r)));
    expect(await stored(store)).toBe(4);
  });
});
