// Node fleets: the log store in Postgres (pg, a pool per process), migrated at start under an advisory lock.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import type { LogStore } from '../core/log-store.ts';
import { literal, postgresWriteSql } from './postgres-write.ts';
import { createSqlStore, type SqlDb, type SqlValue } from './sql-store.ts';

const migrationsDir = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'migrations', 'postgres');

/** Any constant: every Tenet instance takes the same advisory lock, so instances starting together migrate once. */
const migrationLock = 0x7e4e7;

/** Replaces each `?` placeholder (the store's SQL is SQLite's) outside quoted text, in order. */
function replacePlaceholders(sql: string, by: (n: number) => string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|\?/g, (m) => (m === '?' ? by(n++) : m));
}

/** `?` → `$1`, `$2` …: a query with bound parameters. */
export const numberPlaceholders = (sql: string) => replacePlaceholders(sql, (n) => `$${n + 1}`);

/** One statement with its values written in, for a batch sent as a single multi-statement query. */
export const inlineParams = (sql: string, params: SqlValue[]) =>
  replacePlaceholders(sql, (n) => literal(params[n]));

/** Applies migrations/postgres/NNNN_*.sql not yet applied; holds the advisory lock while it looks and applies. */
export async function migratePostgres(pool: pg.Pool, dir = migrationsDir): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [migrationLock]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS tenet_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const applied = new Set(
        (await client.query<{ name: string }>('SELECT name FROM tenet_migrations')).rows.map((r) => r.name),
      );
      const pending = readdirSync(dir)
        .filter((f) => /^\d{4}_.+\.sql$/.test(f) && !applied.has(f))
        .sort();
      for (const name of pending) {
        await client.query('BEGIN');
        try {
          await client.query(readFileSync(join(dir, name), 'utf8'));
          await client.query('INSERT INTO tenet_migrations (name) VALUES ($1)', [name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${name} failed: ${(err as Error).message}`);
        }
      }
      return pending;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLock]);
    }
  } finally {
    client.release();
  }
}

/**
 * pg as the SQL driver: queries with numbered placeholders; a batch (a review, a purge with its rollups, a test
 * run, a session) as one transaction in one round trip, its values written in as literals by pg's escaping.
 * Log records take their own path (postgres-write.ts).
 */
function postgresDriver(pool: pg.Pool): SqlDb {
  return {
    dialect: 'postgres',
    async all(sql, params = []) {
      return (await pool.query(numberPlaceholders(sql), params)).rows as never[];
    },
    async batch(list) {
      if (list.length === 0) return;
      const client = await pool.connect();
      try {
        await client.query(
          ['BEGIN', ...list.map((s) => inlineParams(s.sql, s.params)), 'COMMIT'].join(';\n'),
        );
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
  };
}

export interface PostgresStore extends LogStore {
  /** The same database for the admin side's state (sessions). */
  sql: SqlDb;
  close(): Promise<void>;
}

export interface PostgresStoreOptions {
  /** Connections this process keeps open at most (TENET_DB_POOL). */
  poolSize: number;
}

/** Connects to `url` (postgres://…), migrates, and returns the store. Throws if the server cannot be reached. */
export async function createPostgresStore(
  url: string,
  options: PostgresStoreOptions,
): Promise<PostgresStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // A server that does not answer fails the write (the log writer retries) instead of hanging it.
    connectionTimeoutMillis: 10_000,
    application_name: 'tenet',
  });
  // An idle connection the server drops (restart, failover) is an error event on the pool: the next query
  // opens a new one. Without a listener it would crash the process.
  pool.on('error', () => {});
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const driver = postgresDriver(pool);
  return {
    ...createSqlStore(driver),
    async write(records) {
      if (records.length > 0) await pool.query(postgresWriteSql(records));
    },
    sql: driver,
    close: () => pool.end(),
  };
}
