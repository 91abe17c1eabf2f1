/** See sqlite-statements.mjs. */
import type Database from 'better-sqlite3';
export function statementRunner(db: Database.Database): {
  all(sql: string, params: unknown[]): unknown[];
  batch(list: ReadonlyArray<{ sql: string; params: unknown[] }>): void;
};
