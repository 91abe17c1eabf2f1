// The store suite on the Node backend: a SQLite file (better-sqlite3), migrated at open.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/adapters/sqlite-store.ts';
import { storeSuite } from '../store-suite.ts';

const file = join(mkdtempSync(join(tmpdir(), 'tenet-store-')), 'log.db');
storeSuite('SQLite', async () => createSqliteStore(file));
