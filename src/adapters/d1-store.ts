// Workers: the log store in D1 (local SQLite under wrangler dev), same SQL as the Node backend.
import type { LogStore } from '../core/log-store.ts';
import { createSqlStore, type SqlDb } from './sql-store.ts';

export function createD1Store(d1: D1Database): LogStore {
  return createSqlStore(d1Driver(d1));
}

/** D1 as the SQL driver (also for the admin side's state: sessions, failed sign-ins). */
export function d1Driver(d1: D1Database): SqlDb {
  return {
    async all(sql, params = []) {
      const result = await d1
        .prepare(sql)
        .bind(...params)
        .all();
      return result.results as never[];
    },
    async batch(list) {
      // D1 runs a batch as one transaction: all statements or none.
      await d1.batch(list.map((s) => d1.prepare(s.sql).bind(...s.params)));
    },
    // D1's limit on the values one query binds.
    maxParams: 100,
  };
}
