// The SQLite log store's own thread (see sqlite-store.ts): better-sqlite3 runs every statement synchronously, so
// here a batch of log writes or an admin query over a million rows takes its time off the thread that serves
// the proxy. Plain JavaScript, loaded by path: the same file from the sources and from the `tenet serve` bundle.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { statementRunner } from './sqlite-statements.mjs';

const db = new Database(workerData.file);
const run = statementRunner(db);

parentPort?.on('message', (message) => {
  const { id, op } = message;
  if (op === 'close') {
    db.close();
    parentPort?.postMessage({ id });
    parentPort?.close();
    return;
  }
  try {
    if (op === 'all') parentPort?.postMessage({ id, rows: run.all(message.sql, message.params) });
    else {
      run.batch(message.list);
      parentPort?.postMessage({ id });
    }
  } catch (err) {
    const e = /** @type {Error & { code?: unknown }} */ (err);
    parentPort?.postMessage({ id, error: { message: e.message, code: e.code } });
  }
});
