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
