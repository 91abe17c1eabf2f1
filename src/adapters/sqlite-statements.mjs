// How the SQLite log store runs statements on one better-sqlite3 connection, in-process (`:memory:`) or on its
// own thread (sqlite-thread.mjs). Plain JavaScript, so that the thread loads it by path as it is.

/**
 * Settles the connection for the log, after its migrations, and returns its runner: each SQL text prepared once,
 * a batch of statements in one transaction.
 * @param {import('better-sqlite3').Database} db
 */
export function statementRunner(db) {
  db.pragma('synchronous = NORMAL');
  // A lock held by another connection fails a write at once (SQLITE_BUSY) and the log writer retries it later
  // with backoff, rather than this connection waiting with every query queued behind it (in-process: the whole
  // event loop, every request with it).
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
  const transaction = db.transaction(
    /** @param {{ sql: string, params: unknown[] }[]} list */
    (list) => {
      for (const s of list) prepared(s.sql).run(...s.params);
    },
  );
  return {
    /** @param {string} sql @param {unknown[]} params */
    all: (sql, params) => prepared(sql).all(...params),
    /** @param {{ sql: string, params: unknown[] }[]} list */
    batch: (list) => {
      // A batch's multi-row inserts each keep a statement journal (to undo that statement alone), over SQLite's
      // 64 KB in-memory limit for a batch of records: in a temp file by default, opened, written and deleted per
      // batch (about a third more writes). Kept in memory for the batch; queries still spill big sorts to disk.
      db.pragma('temp_store = MEMORY');
      try {
        transaction(list);
      } finally {
        db.pragma('temp_store = DEFAULT');
      }
    },
  };
}
