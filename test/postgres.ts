// A database of its own on the test run's Postgres server (test/postgres-setup.ts), for one suite or test.
import { inject } from 'vitest';
import { createPostgresDatabase } from './embedded-postgres.ts';

/** Creates an empty database and returns its postgres:// URL (with the server's password). */
export const freshPostgresDatabase = (prefix: string) =>
  createPostgresDatabase(inject('postgresUrl'), prefix);
