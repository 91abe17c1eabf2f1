// The SQLite log store's own thread (see sqlite-store.ts): better-sqlite3 runs every statement synchronously, so
// here a batch of log writes or an admin query over a million rows takes its time off the thread that serves
// the proxy. Plain JavaScript, loaded by path: the same file from the sources and from the `tenet serve` bundle.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file);
db.pragma('synchronous = NORMAL');
// As on the main thread before: a lock held by another connection fails the write at once (SQLITE_BUSY) and the
// log writer retries it later with backoff, rather than this thread waiting with every query queued behind it.
db.pragma('busy_timeout = 0');

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map();
/** @param {string} sql */
const prepared = (sql) => {
  let s = statements.get(sql);
  if (!s) {
    s = db.prepare(sql);
    statements.set(sql, s);
  }
  return s;
};

/** @param {{ sql: string, params: unknown[] }[]} list */
const batch = db.transaction((list) => {
  for (const s of list) prepared(s.sql).run(...s.params);
});

parentPort?.on('message', (message) => {
  const { id, op } = message;
  if (op === 'close') {
    db.close();
    parentPort?.postMessage({ id });
    parentPort?.close();
    return;
  }
  try {
    if (op === 'all') parentPort?.postMessage({ id, rows: prepared(message.sql).all(...message.params) });
    else {
      batch(message.list);
      parentPort?.postMessage({ id });
    }
  } catch (err) {
    const e = /** @type {Error & { code?: unknown }} */ (err);
    parentPort?.postMessage({ id, error: { message: e.message, code: e.code } });
  }
});
