// The store suite on the Node fleet backend: a real Postgres server (started by the test setup), migrated at open.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../../src/adapters/postgres-store.ts';
import { freshPostgresDatabase } from '../postgres.ts';
import { storeSuite } from '../store-suite.ts';

let url = '';
const stores: PostgresStore[] = [];
beforeAll(async () => {
  url = await freshPostgresDatabase('store_suite');
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});

const open = async () => {
  const store = await createPostgresStore(url, { poolSize: 4 });
  stores.push(store);
  return store;
};

storeSuite('Postgres', open);

describe('Postgres migrations', () => {
  it('instances starting together migrate once, under the lock, and all of them come up', async () => {
    const fresh = await freshPostgresDatabase('migrate_race');
    const started = await Promise.all(
      Array.from({ length: 4 }, () => createPostgresStore(fresh, { poolSize: 2 })),
    );
    stores.push(...started);
    const applied = await started[0]!.sql.all<{ name: string }>(
      'SELECT name FROM tenet_migrations ORDER BY name',
    );
    // Without the lock, instances racing through the same CREATE TABLEs fail to start.
    expect(applied.map((r) => r.name)).toEqual(readdirSync('migrations/postgres').sort());
    // Every instance sees the same, whole schema.
    for (const store of started) expect((await store.listRequests({})).items).toEqual([]);
  });
});

describe('TENET_DB=postgres://… at start', () => {
  it('a server that cannot be reached stops start-up with a message that names the setting, not the password', async () => {
    const { startNodeServer } = await import('../../src/entry/node.ts');
    const password = 'pg-secret-never-shown-0123';
    const started = startNodeServer({
      TENET_DB: `postgres://tenet:${password}@127.0.0.1:1/tenet`,
      PORT: '0',
      TENET_UPSTREAM_URL: 'http://127.0.0.1:9/v1',
    });
    const error = await started.then(
      () => new Error('started'),
      (err: unknown) => err as Error,
    );
    expect(error.message).toMatch(/TENET_DB/);
    expect(error.message).not.toContain(password);
  });
});
