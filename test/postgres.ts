// A database of its own on the test run's Postgres server (test/postgres-setup.ts), for one suite or test.
import pg from 'pg';
import { inject } from 'vitest';

/** Creates an empty database and returns its postgres:// URL (with the server's password). */
export async function freshPostgresDatabase(prefix: string): Promise<string> {
  const admin = new URL(inject('postgresUrl'));
  const name = `${prefix}_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`.toLowerCase();
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin.href);
  url.pathname = `/${name}`;
  return url.href;
}
