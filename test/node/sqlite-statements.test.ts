// The SQLite statement runner (in-process and on the log thread): a batch is one transaction, and the in-memory
// temp store it writes under is the batch's alone.

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { statementRunner } from '../../src/adapters/sqlite-statements.mjs';

function runner() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  return { db, run: statementRunner(db) };
}

const tempStore = (db: Database.Database) => db.pragma('temp_store', { simple: true });

describe('statementRunner', () => {
  it('writes a batch in one transaction: a failing statement undoes the ones before it', () => {
    const { run } = runner();
    run.batch([{ sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [1, 'a'] }]);
    expect(() =>
      run.batch([
        { sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [2, 'b'] },
        { sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [3, null] },
      ]),
    ).toThrow(/NOT NULL/);
    expect(run.all('SELECT id FROM t ORDER BY id', [])).toEqual([{ id: 1 }]);
  });

  it('keeps statement journals in memory during a batch only, also when the batch fails', () => {
    const { db, run } = runner();
    run.batch([{ sql: 'INSERT INTO t (id, v) SELECT 1, temp_store FROM pragma_temp_store()', params: [] }]);
    const during = run.all('SELECT v FROM t', []).map((r) => Number((r as { v: string }).v));
    // 2 = MEMORY during the batch; 0 = DEFAULT (files, SQLite's build default) for the queries after it.
    expect(during).toEqual([2]);
    expect(tempStore(db)).toBe(0);
    expect(() => run.batch([{ sql: 'INSERT INTO t (id, v) VALUES (?, ?)', params: [1, 'again'] }])).toThrow(
      /UNIQUE/,
    );
    expect(tempStore(db)).toBe(0);
  });
});
