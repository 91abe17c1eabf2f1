// Node: the log store in a SQLite file (better-sqlite3), migrated at start with the same SQL wrangler applies to D1.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { LogStore } from '../core/log-store.ts';
import { createSqlStore, type SqlDb } from './sql-store.ts';

const migrationsDir = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'migrations');

/** Applies migrations/NNNN_*.sql not yet applied, recorded in `d1_migrations` as wrangler does. */
export function migrate(db: Database.Database, dir = migrationsDir): string[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  );
  const applied = new Set(
    db
      .prepare('SELECT name FROM d1_migrations')
      .all()
      .map((r) => (r as { name: string }).name),
  );
  const pending = readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f) && !applied.has(f))
    .sort();
  for (const name of pending) {
    const sql = readFileSync(join(dir, name), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').run(name);
    })();
  }
  return pending;
}

export interface SqliteStore extends LogStore {
  /** The same database for the admin side's state (sessions). */
  sql: SqlDb;
  close(): void;
}

/** Opens (creating it and its folder if needed) and migrates the SQLite file, WAL mode. */
export function createSqliteStore(file: string): SqliteStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  // better-sqlite3 is synchronous: waiting out another connection's lock would stall the whole event loop,
  // every request with it. Fail fast instead (SQLITE_BUSY); the log writer retries later with backoff.
  db.pragma('busy_timeout = 0');
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const driver: SqlDb = {
    async all(sql, params = []) {
      return prepared(sql).all(...params) as never[];
    },
    async batch(list) {
      db.transaction(() => {
        for (const s of list) prepared(s.sql).run(...s.params);
      })();
    },
    // SQLite's own limit (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
    maxParams: 32_766,
  };
  return { ...createSqlStore(driver), sql: driver, close: () => db.close() };
}
