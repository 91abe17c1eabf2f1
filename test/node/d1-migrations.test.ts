// `tenet dev` applies the log's migrations to the local D1 itself (one local D1 for all of them); wrangler must
// see exactly what its own `d1 migrations apply --local` would have recorded.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyLocalD1Migrations } from '../../src/cli/d1-migrations.ts';

const root = new URL('../..', import.meta.url).pathname;
const wrangler = createRequire(import.meta.url).resolve('wrangler/bin/wrangler.js');
const migrations = readdirSync(join(root, 'migrations'))
  .filter((f) => f.endsWith('.sql'))
  .sort();

describe('the local D1 migrations of tenet dev', () => {
  it('applies every migration once, recorded so that wrangler finds none left to apply', async () => {
    const persistTo = mkdtempSync(join(tmpdir(), 'tenet-d1-migrate-'));
    expect(await applyLocalD1Migrations({ persistTo })).toEqual(migrations);
    expect(await applyLocalD1Migrations({ persistTo })).toEqual([]);

    const listed = spawnSync(
      process.execPath,
      [wrangler, 'd1', 'migrations', 'list', 'DB', '--local', '--persist-to', persistTo],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
      },
    );
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('No migrations to apply');
    // Two local D1 starts and a wrangler process: slow on a loaded 2-core machine.
  }, 120_000);

  it('applies a migration whole or not at all, from a wrangler.toml or a wrangler.jsonc', async () => {
    for (const [file, text] of [
      [
        'wrangler.toml',
        '[[d1_databases]]\nbinding = "DB"\ndatabase_name = "t"\ndatabase_id = "toml-id"\nmigrations_dir = "sql"\n',
      ],
      [
        'wrangler.jsonc',
        '{\n  // a comment, as wrangler allows\n  "d1_databases": [{ "binding": "DB", "database_name": "t", "database_id": "json-id", "migrations_dir": "sql" }],\n}\n',
      ],
    ] as const) {
      const project = mkdtempSync(join(tmpdir(), 'tenet-d1-config-'));
      const persistTo = join(project, 'state');
      mkdirSync(join(project, 'sql'));
      writeFileSync(join(project, file), text);
      writeFileSync(join(project, 'sql', '0001_a.sql'), 'CREATE TABLE a (x INTEGER);');
      // Its first statement is fine, its second is not: neither may stay.
      writeFileSync(
        join(project, 'sql', '0002_b.sql'),
        'CREATE TABLE b (x INTEGER);\nINSERT INTO missing VALUES (1);',
      );
      const configPath = join(project, file);
      await expect(applyLocalD1Migrations({ persistTo, configPath }), file).rejects.toThrow(/missing/);
      writeFileSync(
        join(project, 'sql', '0002_b.sql'),
        'CREATE TABLE b (x INTEGER);\nCREATE TRIGGER b_copy AFTER INSERT ON a BEGIN INSERT INTO b VALUES (new.x); END;',
      );
      // 0001 stayed applied; 0002 runs again from the start (table b was never kept).
      expect(await applyLocalD1Migrations({ persistTo, configPath }), file).toEqual(['0002_b.sql']);
    }
  }, 60_000);
});
