// The log's D1 migrations applied to the local database `wrangler dev` uses, in this process: one local D1 for all
// of them, where `wrangler d1 migrations apply --local` starts one per migration (about 2 s each).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';

/** A `[[d1_databases]]` entry of the wrangler config (wrangler's own type comes from a package it bundles). */
interface D1Config {
  binding: string;
  database_name?: string;
  database_id?: string;
  preview_database_id?: string;
  migrations_table?: string;
  migrations_dir?: string;
}

/** The wrangler config file, as wrangler finds it: `--config`, else the first folder up with one (JSON first). */
function findWranglerConfig(configPath: string | undefined): string | undefined {
  if (configPath) return resolve(configPath);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    for (const name of ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'])
      if (existsSync(join(dir, name))) return join(dir, name);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The config's D1 databases and its path. A wrangler.toml is read here: importing wrangler for its reader costs
 * about 2 s of CPU (megabytes of bundled CLI), most of what `tenet dev` spent before wrangler even started. Any
 * other config (JSON, or a redirect that `wrangler deploy` builds left behind) goes through wrangler's own reader.
 */
async function readD1Config(
  configPath: string | undefined,
): Promise<{ configPath?: string; d1_databases: D1Config[] }> {
  const found = findWranglerConfig(configPath);
  if (found?.endsWith('.toml') && !existsSync(join(dirname(found), '.wrangler', 'deploy', 'config.json'))) {
    const config = parseToml(readFileSync(found, 'utf8')) as { d1_databases?: D1Config[] };
    return { configPath: found, d1_databases: config.d1_databases ?? [] };
  }
  const { unstable_readConfig: readConfig } = await import('wrangler');
  return readConfig({ config: configPath }) as { configPath?: string; d1_databases: D1Config[] };
}

/**
 * Applies the migrations of the `DB` binding that the local database lacks, each in one batch with its row in the
 * migrations table, exactly as `wrangler d1 migrations apply DB --local` records them (same table, same names,
 * same database id and persistence folder), so wrangler sees them as applied. Returns the names applied.
 */
export async function applyLocalD1Migrations(options: {
  /** wrangler dev's `--persist-to` (relative to the working directory), if given. */
  persistTo?: string | undefined;
  /** wrangler's `--config`, if given. */
  configPath?: string | undefined;
}): Promise<string[]> {
  const config = await readD1Config(options.configPath);
  const database = config.d1_databases.find((d) => d.binding === 'DB');
  if (!database)
    throw new Error(`no D1 database with binding DB in ${config.configPath ?? 'the wrangler config'}`);
  const base = config.configPath ? dirname(config.configPath) : process.cwd();
  const migrationsDir = resolve(base, database.migrations_dir ?? 'migrations');
  const table = database.migrations_table ?? 'd1_migrations';
  // Where wrangler keeps local state: --persist-to from the working directory, else .wrangler/state beside the
  // config file; D1 under v3/d1, keyed by the preview id when there is one (as wrangler dev binds it).
  const state = options.persistTo ? resolve(options.persistTo) : join(base, '.wrangler', 'state');
  const id = database.preview_database_id ?? database.database_id ?? database.database_name ?? 'DB';

  const { Miniflare } = await import('miniflare');
  // The statements run inside workerd, through a fetch to this small worker: miniflare's D1 proxy makes each
  // prepare() a synchronous call across threads, which under load sometimes read no answer (an assertion in
  // miniflare's SynchronousFetcher).
  const mf = new Miniflare({
    modules: true,
    script: migratorScript,
    d1Persist: join(state, 'v3', 'd1'),
    d1Databases: { DB: id },
  });
  try {
    const call = async (body: Record<string, unknown>) => {
      const res = await mf.dispatchFetch('http://tenet.local/', {
        method: 'POST',
        body: JSON.stringify({ table, ...body }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(text);
      return JSON.parse(text) as string[];
    };
    const applied = new Set(await call({ op: 'applied' }));
    const pending = readdirSync(migrationsDir)
      .filter((name) => name.endsWith('.sql') && !applied.has(name))
      .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10) || a.localeCompare(b));
    for (const name of pending) {
      // One batch per migration: its statements and its row commit together or not at all. The local D1 hands
      // a statement's text to SQLite whole, so a migration's statements (triggers with BEGIN … END included) run
      // as SQLite itself splits them.
      await call({ op: 'apply', name, sql: readFileSync(join(migrationsDir, name), 'utf8') });
    }
    return pending;
  } finally {
    await mf.dispose();
  }
}

/** The worker that applies them: lists the applied migrations, or applies one with its row, in one batch. */
const migratorScript = `export default {
  async fetch(request, env) {
    const { op, table, name, sql } = await request.json();
    try {
      if (op === 'applied') {
        await env.DB.prepare(\`CREATE TABLE IF NOT EXISTS \${table}(
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          name       TEXT UNIQUE,
          applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
        )\`).run();
        const { results } = await env.DB.prepare(\`SELECT name FROM \${table}\`).all();
        return Response.json(results.map((r) => r.name));
      }
      await env.DB.batch([
        env.DB.prepare(sql),
        env.DB.prepare(\`INSERT INTO \${table} (name) VALUES (?)\`).bind(name),
      ]);
      return Response.json([name]);
    } catch (err) {
      return new Response(String(err && err.message || err), { status: 500 });
    }
  },
};`;
