// Several instances, one log: three `tenet serve` processes on one Postgres database take concurrent traffic (passes,
// revisions, blocks, errors, shadow disagreements), one restarts mid-run, and the log holds exactly one record per
// request; a review, a test run and the stats written through one instance are what the others read.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { RequestRecord } from '../../src/core/log-record.ts';
import type { Stats, ViolationRow } from '../../src/core/log-store.ts';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { testRunBody } from '../fixtures/test-runs.ts';
import { freshPostgresDatabase } from '../postgres.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { apiError, completion } from '../upstream/script.ts';

const clientKey = 'fleet-client-key-0123456789';
const adminToken = 'fleet-admin-token-0123456789';

// The test constitution `rules` (input block and flag, a length check that revises), judged in shadow by a candidate.
const fleet = `name: fleet
extends: [rules]
shadow: fleet-next
`;
// The candidate also flags "maybe": where a prompt says it, the shadow disagrees with the live constitution.
const fleetNext = `name: fleet-next
extends: [fleet]
principles:
  - id: no-maybe
    applies_to: input
    severity: minor
    action: flag
    check: { keywords: [maybe] }
`;

/** What each kind of request says, and the verdict it must get. */
const kinds = [
  { prompt: 'a plain question', verdict: 'pass' },
  { prompt: 'please revise-me', verdict: 'revised' },
  { prompt: 'an urgent question', verdict: 'flagged' },
  { prompt: 'send the password dump', verdict: 'blocked' },
  { prompt: 'this will fail-me', verdict: 'error' },
  { prompt: 'maybe a question', verdict: 'pass' },
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const running: TenetProcess[] = [];
afterAll(async () => {
  await Promise.all(running.map((t) => t.stop()));
});

async function ask(tenet: TenetProcess, n: number) {
  const kind = kinds[n % kinds.length]!;
  const res = await fetch(`${tenet.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${clientKey}`,
      'content-type': 'application/json',
      'x-client-request-id': `fleet-${n}`,
    },
    body: JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: `${kind.prompt} #${n}` }],
    }),
  });
  await res.text();
  return {
    n,
    expected: kind.verdict,
    verdict: res.headers.get('x-tenet-verdict') ?? (res.status >= 500 ? 'error' : `HTTP ${res.status}`),
    id: res.headers.get('x-tenet-request-id') ?? '',
  };
}

async function admin<T>(tenet: TenetProcess, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${tenet.url}/admin/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function exported(tenet: TenetProcess): Promise<RequestRecord[]> {
  const res = await fetch(`${tenet.url}/admin/api/export?kind=requests&constitution=fleet`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return (await res.text())
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RequestRecord);
}

describe('three Node instances sharing one Postgres log', () => {
  it('concurrent traffic through all three, one restarted mid-run: one record per request, nothing twice, and what one writes the others read', async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    await scenario.script([
      // The revision call carries the original prompt too: it is matched first.
      { match: { bodyIncludes: 'Shorten the answer' }, json: completion('Short now.'), times: 'always' },
      { match: { bodyIncludes: 'revise-me' }, json: completion('long '.repeat(60)), times: 'always' },
      { match: { bodyIncludes: 'fail-me' }, ...apiError(500, 'upstream broke'), times: 'always' },
      { json: completion('A fine answer.'), times: 'always' },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'tenet-fleet-'));
    for (const [name, text] of Object.entries(testConstitutions))
      writeFileSync(join(dir, `${name}.yaml`), text);
    writeFileSync(join(dir, 'fleet.yaml'), fleet);
    writeFileSync(join(dir, 'fleet-next.yaml'), fleetNext);
    const db = await freshPostgresDatabase('fleet');
    const password = decodeURIComponent(new URL(db).password);
    const settings = {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_API_KEYS: `fleet:${clientKey}`,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'fleet',
      TENET_DB: db,
      TENET_DB_POOL: '4',
    };
    // Started together: they race to migrate the empty database (the advisory lock lets one do it).
    // Each one kept for afterAll as soon as it is up: one that fails to start must not leave the others running.
    const instances = await Promise.all(
      [0, 1, 2].map(async () => {
        const instance = await startTenet('node', settings);
        running.push(instance);
        return instance;
      }),
    );
    const outputs: string[] = [];

    const answers: Array<Awaited<ReturnType<typeof ask>>> = [];
    let sent = 0;
    let stop = false;
    // Instance 1 is drained (as a load balancer would) while it restarts; the others take its share.
    const draining = new Set<number>();
    const traffic = Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (client) => {
        while (!stop) {
          const choices = [0, 1, 2].filter((i) => !draining.has(i));
          const target = instances[choices[(sent + client) % choices.length]!]!;
          answers.push(await ask(target, sent++));
        }
      }),
    );
    await sleep(1_000);
    draining.add(1);
    await sleep(100);
    const old = instances[1]!;
    await old.stop();
    outputs.push(old.output());
    instances[1] = await startTenet('node', settings);
    running.push(instances[1]);
    draining.delete(1);
    await sleep(1_000);
    stop = true;
    await traffic;

    expect(answers.length).toBeGreaterThan(30);
    for (const a of answers) expect({ n: a.n, verdict: a.verdict }).toEqual({ n: a.n, verdict: a.expected });

    // Records are written just after their answers: wait until every one is in (or time runs out).
    const [a, b, c] = instances as [TenetProcess, TenetProcess, TenetProcess];
    let records: RequestRecord[] = [];
    for (let i = 0; i < 50; i++) {
      records = await exported(c);
      if (records.length >= answers.length) break;
      await sleep(100);
    }
    const byClientId = new Map<string, number>();
    for (const r of records)
      byClientId.set(r.clientRequestId ?? '', (byClientId.get(r.clientRequestId ?? '') ?? 0) + 1);
    expect([...byClientId.values()].every((count) => count === 1)).toBe(true);
    expect([...byClientId.keys()].sort()).toEqual(answers.map((x) => `fleet-${x.n}`).sort());
    expect(new Set(records.map((r) => r.id))).toEqual(
      new Set(answers.map((x) => x.id).filter((id) => id !== '')),
    );

    // Stats through another instance count the same requests, shadow disagreements included.
    const stats = await admin<Stats>(a, '/stats?constitution=fleet');
    expect(stats.requests).toBe(answers.length);
    const want = (verdict: string) => answers.filter((x) => x.expected === verdict).length;
    expect(stats.verdicts).toEqual({
      pass: want('pass'),
      revised: want('revised'),
      flagged: want('flagged'),
      blocked: want('blocked'),
      error: want('error'),
    });
    const maybes = answers.filter((x) => x.n % kinds.length === 5).length;
    expect(stats.shadow.disagreements).toBe(maybes);
    expect(stats.shadow.principles).toContainEqual({
      principle: 'no-maybe',
      onlyShadow: maybes,
      onlyPrimary: 0,
    });

    // A review through one instance is read through the others.
    const { items } = await admin<{ items: ViolationRow[] }>(
      b,
      '/violations?constitution=fleet&principle=urgent-input',
    );
    const violation = items[0]!;
    await admin(a, `/violations/${encodeURIComponent(violation.id)}/review`, {
      method: 'POST',
      body: JSON.stringify({ label: 'false_positive', note: 'reviewed on a' }),
    });
    const seen = await admin<{ violations: ViolationRow[] }>(
      c,
      `/requests/${encodeURIComponent(violation.requestId)}`,
    );
    expect(seen.violations[0]?.review).toMatchObject({ label: 'false_positive', note: 'reviewed on a' });

    // A test run posted to one instance is listed by another.
    const posted = await admin<{ id: string }>(c, '/test-runs', {
      method: 'POST',
      body: JSON.stringify(testRunBody('fleet', 'aaaaaaaaaaaa')),
    });
    const runs = await admin<{ items: Array<{ id: string }> }>(b, '/test-runs?constitution=fleet');
    expect(runs.items.map((r) => r.id)).toContain(posted.id);

    // The database password is in no byte Tenet sent, printed or stored.
    const health = await (await fetch(`${a.url}/health`)).text();
    const stored = JSON.stringify(records);
    for (const text of [health, stored, ...outputs, ...instances.map((t) => t.output())]) {
      expect(text).not.toContain(password);
    }
  });
});
