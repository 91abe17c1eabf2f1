// Node: the log store in a SQLite file (better-sqlite3), migrated at start with the same SQL wrangler applies to D1.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { LogStore } from '../core/log-store.ts';
import { createSqlStore, type SqlDb } from './sql-store.ts';
import { statementRunner } from './sqlite-statements.mjs';

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
  /** Settles once the database is closed (queued statements run first). */
  close(): Promise<void>;
}

/**
 * Opens (creating it and its folder if needed) and migrates the SQLite file, WAL mode. A file's statements run on
 * a thread of their own (sqlite-thread.mjs): better-sqlite3 is synchronous, and a batch of log writes (a few ms)
 * or an admin query over a large log would otherwise hold up every request in flight. `:memory:` stays in-process.
 */
export function createSqliteStore(file: string): SqliteStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  if (file !== ':memory:') {
    db.close();
    const driver = threadDriver(file);
    return { ...createSqlStore(driver), sql: driver, close: driver.close };
  }
  const run = statementRunner(db);
  const driver: SqlDb = {
    all: async (sql, params = []) => run.all(sql, params) as never[],
    batch: async (list) => run.batch(list),
    maxParams,
  };
  return {
    ...createSqlStore(driver),
    sql: driver,
    close: async () => {
      db.close();
    },
  };
}

// SQLite's own limit (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
const maxParams = 32_766;

/** The thread's file: two folders up from here is the package, from the sources and from a `.tenet/*` bundle. */
const threadFile = new URL('../../src/adapters/sqlite-thread.mjs', import.meta.url);

type Reply = { id: number; rows?: never[]; error?: { message: string; code: string } };

/**
 * Runs the statements on the SQLite thread: each call is a message, answered with its rows or its error (a
 * SqliteError with its code, as in-process). A thread that dies fails what it had pending and is started again
 * by the next call. It keeps the process alive only while a call is pending.
 */
function threadDriver(file: string): SqlDb & { close(): Promise<void> } {
  const pending = new Map<number, { resolve: (rows: never[]) => void; reject: (err: Error) => void }>();
  let worker: Worker | undefined;
  let nextId = 0;
  let closed = false;
  /** Takes call `id` off the pending ones; the thread stops holding the process open once none is left. */
  const settle = (id: number) => {
    const call = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker?.unref();
    return call;
  };
  const start = () => {
    const thread = new Worker(threadFile, { workerData: { file } });
    thread.unref();
    const fail = (err: Error) => {
      if (worker === thread) worker = undefined;
      for (const call of pending.values()) call.reject(err);
      pending.clear();
    };
    thread.on('message', (reply: Reply) => {
      const call = settle(reply.id);
      if (!call) return;
      if (reply.error) call.reject(new Database.SqliteError(reply.error.message, reply.error.code));
      else call.resolve(reply.rows ?? []);
    });
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`the SQLite log thread stopped (exit code ${code})`)));
    return thread;
  };
  const call = (message: Record<string, unknown>) =>
    new Promise<never[]>((resolve, reject) => {
      if (closed) return reject(new Error('the SQLite log store is closed'));
      worker ??= start();
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      try {
        worker.postMessage({ ...message, id });
      } catch (err) {
        // A value that cannot be copied to the thread: this call fails, the thread and the others go on.
        settle(id);
        reject(err);
      }
    });
  worker = start();
  return {
    all: (sql, params = []) => call({ op: 'all', sql, params }),
    batch: async (list) => {
      await call({ op: 'batch', list });
    },
    maxParams,
    async close() {
      if (closed) return;
      const last = worker && call({ op: 'close' });
      closed = true;
      await last;
    },
  };
}
