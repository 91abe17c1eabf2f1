// Moving a log from SQLite to Postgres: `tenet export` from a server on SQLite, `tenet import` into Postgres (twice:
// nothing doubles), and a server on Postgres then shows the same records, stats and review labels.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Stats } from '../../src/core/log-store.ts';
import { runTenetCli } from '../cli-process.ts';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { freshPostgresDatabase } from '../postgres.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';

const key = 'import-client-key-0123456789';
const token = 'import-admin-token-0123456789';
const running: TenetProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((t) => t.stop()));
});

async function admin<T>(tenet: TenetProcess, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${tenet.url}/admin/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

const exportLines = async (tenet: TenetProcess, kind: string) =>
  (
    await (
      await fetch(`${tenet.url}/admin/api/export?kind=${kind}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).text()
  )
    .split('\n')
    .filter((l) => l.trim() !== '')
    .sort();

describe('tenet import', () => {
  it('moves a SQLite log into Postgres: the same records, stats and labels, and a second import adds nothing', async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    await scenario.script([{ json: completion('A fine answer.'), times: 'always' }]);
    const dir = mkdtempSync(join(tmpdir(), 'tenet-import-'));
    for (const [name, text] of Object.entries(testConstitutions))
      writeFileSync(join(dir, `${name}.yaml`), text);
    const settings = {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_API_KEYS: `app:${key}`,
      TENET_ADMIN_TOKEN: token,
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'rules',
    };
    const sqlite = await startTenet('node', settings);
    running.push(sqlite);
    for (const content of ['hello', 'urgent: help', 'password dump please', 'urgent again', 'bye']) {
      const res = await fetch(`${sqlite.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
      });
      await res.text();
    }
    let before: Stats | undefined;
    // Records are written just after their answers, in batches.
    for (let i = 0; i < 100 && before?.requests !== 5; i++) {
      before = await admin<Stats>(sqlite, '/stats');
      if (before?.requests !== 5) await new Promise((r) => setTimeout(r, 100));
    }
    const { items } = await admin<{ items: Array<{ id: string }> }>(
      sqlite,
      '/violations?principle=urgent-input',
    );
    await admin(sqlite, `/violations/${encodeURIComponent(items[0]!.id)}/review`, {
      method: 'POST',
      body: JSON.stringify({ label: 'false_positive', note: 'only a greeting' }),
    });
    const cli = { TENET_URL: sqlite.url, TENET_ADMIN_TOKEN: token };
    const records = join(dir, 'requests.jsonl');
    const violations = join(dir, 'violations.jsonl');
    for (const [kind, out] of [
      ['requests', records],
      ['violations', violations],
    ] as const) {
      const run = await runTenetCli(['export', '--kind', kind, '--format', 'jsonl', '--out', out], cli);
      expect(run.code, run.err).toBe(0);
    }
    expect(readFileSync(records, 'utf8').trim().split('\n')).toHaveLength(5);

    const db = await freshPostgresDatabase('imported');
    for (let i = 0; i < 2; i++) {
      const run = await runTenetCli(['import', records, '--reviews', violations], { TENET_DB: db });
      expect(run.code, run.err).toBe(0);
      expect(run.err).toContain('5 records, 1 review labels');
      expect(run.err).not.toContain(new URL(db).password);
    }

    const postgres = await startTenet('node', { ...settings, TENET_DB: db });
    running.push(postgres);
    expect(await exportLines(postgres, 'requests')).toEqual(await exportLines(sqlite, 'requests'));
    expect(await exportLines(postgres, 'violations')).toEqual(await exportLines(sqlite, 'violations'));
    const after = await admin<Stats>(postgres, '/stats');
    expect(after).toEqual(await admin<Stats>(sqlite, '/stats'));
    expect(after.principles.find((p) => p.principle === 'urgent-input')).toMatchObject({ falsePositive: 1 });

    const bad = await runTenetCli(['import', violations], { TENET_DB: db });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not a log record/);
  });
});
