// The store suite on the Node backend: a SQLite file (better-sqlite3), migrated at open; and an upgrade's migration.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqlStore } from '../../src/adapters/sql-store.ts';
import { createSqliteStore, migrate } from '../../src/adapters/sqlite-store.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { storeSuite } from '../store-suite.ts';

const file = join(mkdtempSync(join(tmpdir(), 'tenet-store-')), 'log.db');
storeSuite('SQLite', async () => createSqliteStore(file));

describe('SQLite log store: texts kept once', () => {
  it("stores a record's texts and columned fields in their columns only, and reads rows of the older format alike", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tenet-texts-')), 'log.db');
    const store = createSqliteStore(file);
    const records = sampleRecords('texts');
    await store.write(records);
    await store.close();
    const db = new Database(file);
    const rows = db.prepare('SELECT id, prompt, draft, final, detail FROM requests').all() as Record<
      string,
      string
    >[];
    expect(rows).toHaveLength(records.length);
    for (const row of rows) {
      const detail = JSON.parse(row['detail'] ?? '') as Record<string, unknown>;
      // Nor what every record has a column for: those are read back from the columns.
      for (const field of [
        'prompt',
        'draft',
        'final',
        'id',
        'time',
        'verdict',
        'reason',
        'model',
        'latencyMs',
      ])
        expect(detail).not.toHaveProperty(field);
      expect(detail).toHaveProperty('stages');
    }
    // A row as Tenet wrote it before: the whole record in detail, texts included (here, texts unlike the columns':
    // detail's own win, as they did then).
    const older = records[1]!;
    db.prepare('UPDATE requests SET detail = ?, prompt = NULL WHERE id = ?').run(
      JSON.stringify(older),
      older.id,
    );
    db.close();
    const reopened = createSqliteStore(file);
    expect((await reopened.getRequest(older.id))?.record).toEqual(older);
    expect((await reopened.getRequest(records[2]!.id))?.record).toEqual(records[2]);
    await reopened.close();
  });
});

describe('SQLite log store, fields read back from columns', () => {
  it('gives back a latency that is not whole milliseconds as it was, though its column rounds it', async () => {
    const store = createSqliteStore(join(mkdtempSync(join(tmpdir(), 'tenet-latency-')), 'log.db'));
    const record = { ...sampleRecords('latency')[0]!, latencyMs: 12.5 };
    await store.write([record]);
    const read = await store.getRequest(record.id);
    expect(read?.record).toEqual(record);
    expect(read?.row.latencyMs).toBe(13);
    await store.close();
  });
});

describe('SQLite log store upgraded from migration 0012', () => {
  it('keeps the rows stored before 0013 searchable by prompt, draft and revised final, and purges them cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-upgrade-'));
    const file = join(dir, 'log.db');
    // The file as a Tenet from before 0013 left it: the migrations up to 0012, and records written through them.
    const before = join(dir, 'migrations');
    mkdirSync(before);
    for (const name of readdirSync('migrations').filter((f) => /^\d{4}_.+\.sql$/.test(f) && f < '0013')) {
      copyFileSync(join('migrations', name), join(before, name));
    }
    const db = new Database(file);
    migrate(db, before);
    const old = createSqlStore({
      all: async (sql, params = []) => db.prepare(sql).all(...params) as never[],
      batch: async (list) => {
        for (const s of list) db.prepare(s.sql).run(...s.params);
      },
    });
    const tag = 'upgrade';
    const records = sampleRecords(tag);
    await old.write(records);
    db.close();

    const store = createSqliteStore(file);
    const found = async (q: string) =>
      (await store.listRequests({ constitution: tag, q })).items.map((r) => r.id).sort();
    expect(await found('Great Wall')).toEqual([`${tag}-1`]);
    expect(await found('clearly visible')).toEqual([`${tag}-1`]);
    expect(await found('far too narrow')).toEqual([`${tag}-1`]);
    expect(await found('Ugh, fine')).toEqual([`${tag}-2`]);
    expect((await store.listViolations({ constitution: tag, q: 'popular myth' })).items).toHaveLength(1);

    expect(await store.purge(records[2]!.time)).toBe(2);
    expect(await found('far too narrow')).toEqual([]);
    expect(await found('Ugh, fine')).toEqual([`${tag}-2`]);
    await store.write(records);
    expect(await found('far too narrow')).toEqual([`${tag}-1`]);
    // Everything purged: each delete removed exactly what was indexed, so the indexes agree with the empty tables.
    await store.purge(Date.UTC(2100, 0, 1));
    for (const fts of ['requests_fts', 'violations_fts']) {
      await store.sql.batch([
        { sql: `INSERT INTO ${fts} (${fts}, rank) VALUES ('integrity-check', 1)`, params: [] },
      ]);
    }
    store.close();
  });
});

describe('SQLite log store on its own thread', () => {
  it('runs a slow query off the event loop: timers keep firing meanwhile; once closed, calls fail clearly', async () => {
    const store = createSqliteStore(join(mkdtempSync(join(tmpdir(), 'tenet-thread-')), 'log.db'));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = performance.now();
    const rows = await store.sql.all<{ n: number }>(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) SELECT COUNT(*) AS n FROM c',
    );
    const ms = performance.now() - started;
    clearInterval(timer);
    expect(rows).toEqual([{ n: 4_000_000 }]);
    // In-process, better-sqlite3 would hold the event loop for the whole query: not one tick.
    expect(ms).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThan(3);
    await store.close();
    await expect(store.listRequests({})).rejects.toThrow(/closed/);
  });
});

describe('SQLite log store thread, a call it cannot take', () => {
  it('fails that call alone: a value that cannot be copied to the thread leaves the store working', async () => {
    const store = createSqliteStore(join(mkdtempSync(join(tmpdir(), 'tenet-thread-')), 'log.db'));
    const notCopyable = (() => 1) as unknown as string;
    await expect(store.sql.all('SELECT ? AS v', [notCopyable])).rejects.toThrow(/could not be cloned/);
    expect(await store.sql.all('SELECT 1 AS v')).toEqual([{ v: 1 }]);
    await store.close();
  });
});
