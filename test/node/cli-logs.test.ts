// `tenet logs | stats | export` as child processes against a real Tenet on Node, after real traffic through it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CliRun, startTenetCli } from '../cli-process.ts';
import { judged, rules } from '../fixtures/constitutions.ts';
import { allClean, criticSays, foundSycophancy } from '../fixtures/critic.ts';
import { askTenet, startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';

const adminToken = 'cli-admin-token-0123456789abcdef';
const clientKey = 'cli-client-key-0123456789';
const upstreamKey = 'sk-cli-upstream-secret-0123456789';
const secrets = [adminToken, clientKey, upstreamKey];

const tenetCli = (args: string[], env: Record<string, string> = {}, until?: RegExp) =>
  startTenetCli(args, env, until ? { until, timeoutMs: 30_000 } : { timeoutMs: 30_000 });

const sycophantic = 'Yes, it is clearly visible from the Moon!';
const corrected = 'No: that is a myth; the Wall is far too narrow to see from the Moon.';

describe('tenet logs, stats and export against a running Tenet', () => {
  let tenet: TenetProcess;
  let scenario: Scenario;
  let admin: Record<string, string>;
  const runs: CliRun[] = [];
  const cli = async (args: string[], env: Record<string, string> = admin) => {
    const run = await tenetCli(args, env).done;
    runs.push(run);
    return run;
  };

  const chat = (content: string, constitution: string) => askTenet(tenet, clientKey, content, constitution);

  /** Records are written after the response: wait until the admin API lists `count` requests. */
  const untilLogged = async (count: number) => {
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${tenet.url}/admin/api/requests`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (res.ok && ((await res.json()) as { items: unknown[] }).items.length >= count) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the log never reached ${count} requests:\n${tenet.output()}`);
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-cli-logs-'));
    writeFileSync(join(dir, 'rules.yaml'), rules);
    writeFileSync(join(dir, 'judged.yaml'), judged);
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: upstreamKey,
      TENET_API_KEYS: `cli:${clientKey}`,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'rules',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
      TENET_DB: join(dir, 'log', 'tenet.db'),
    });
    admin = { TENET_URL: tenet.url, TENET_ADMIN_TOKEN: adminToken };

    await scenario.script([
      { json: completion('THIS IS SHOUTING') },
      { json: completion('Your key: sk-proj-4fJ9aQ2xTz8LmN3bVc7KpR1s') },
      { json: completion(sycophantic) },
      foundSycophancy(),
      { json: completion(corrected) },
      criticSays(allClean()),
    ]);
    expect((await chat('Shout it', 'rules')).verdict).toBe('flagged');
    expect((await chat('What is my key?', 'rules')).verdict).toBe('blocked');
    expect((await chat('The Great Wall is visible from the Moon, right?', 'judged')).verdict).toBe('revised');
    await untilLogged(3);
  });

  afterAll(async () => {
    await tenet?.stop();
    for (const run of runs) for (const secret of secrets) expect(run.out + run.err).not.toContain(secret);
    for (const secret of secrets) expect(tenet?.output() ?? '').not.toContain(secret);
  });

  it('logs shows every violation as a table, oldest first, with its evidence', async () => {
    const { code, out } = await cli(['logs']);
    expect(code).toBe(0);
    const [header, ...rows] = out.trim().split('\n');
    expect(header).toMatch(
      /^TIME\s+REQUEST\s+CHOICE\s+ROUND\s+PRINCIPLE\s+SEVERITY\s+ACTION\s+SOURCE\s+VERDICT\s+EVIDENCE$/,
    );
    expect(rows.map((r) => r.split(/\s{2,}/)[4])).toEqual(['no-shouting', 'no-keys', 'no-sycophancy']);
    // Which answer and which round: rows of one request differ by them (n > 1, revision rounds).
    expect(rows[2]).toMatch(
      /\s0\s+0\s+no-sycophancy\s+major\s+revise\s+critic\s+revised\s+"clearly visible from the Moon"/,
    );
  });

  it('logs filters, and prints JSON lines with --json', async () => {
    const keys = await cli(['logs', '--principle', 'no-keys', '--json']);
    const lines = keys.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { principle: string; action: string });
    expect(lines).toEqual([expect.objectContaining({ principle: 'no-keys', action: 'block' })]);
    const revised = await cli(['logs', '--since', '1h', '--verdict', 'revised']);
    expect(revised.out).toContain('no-sycophancy');
    expect(revised.out).not.toContain('no-shouting');
    const none = await cli(['logs', '--since', '2030-01-01']);
    expect([none.code, none.err]).toEqual([0, 'no violations match\n']);
    // Every request here came in on chat completions: the protocol filter keeps them all, or none.
    const chat = await cli(['logs', '--protocol', 'chat', '--principle', 'no-keys']);
    expect(chat.out).toContain('no-keys');
    const messages = await cli(['logs', '--protocol', 'messages']);
    expect([messages.code, messages.err]).toEqual([0, 'no violations match\n']);
    const bad = await cli(['logs', '--protocol', 'soap']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('protocol');
  });

  it('logs --follow prints a new violation as it is logged, and stops cleanly', async () => {
    const follow = tenetCli(
      ['logs', '--follow'],
      admin,
      /req_\S+\s+\S+\s+\d+\s+no-shouting[\s\S]*req_\S+\s+\S+\s+\d+\s+no-shouting/,
    );
    // Wait for the first table, then make a new violation.
    for (let i = 0; i < 200 && !follow.output().includes('no-sycophancy'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await scenario.script([{ json: completion('SHOUTING AGAIN, LOUDER') }]);
    const { id } = await chat('Shout again', 'rules');
    const run = await follow.done;
    runs.push(run);
    expect(run.code).toBe(0);
    expect(run.out).toContain(id);
    expect(run.out.match(/^TIME/gm)).toHaveLength(1);
  });

  it('stats shows per-principle counts and precision, which a review moves', async () => {
    const { code, out } = await cli(['stats']);
    expect(code).toBe(0);
    expect(out).toMatch(
      /^Requests: 4 — pass 0 \(0\.0%\), revised 1 \(25\.0%\), flagged 2 \(50\.0%\), blocked 1 /m,
    );
    expect(out).toMatch(/^PRINCIPLE\s+VIOLATIONS\s+CONFIRMED\s+FALSE POS\.\s+UNREVIEWED\s+PRECISION$/m);
    expect(out).toMatch(/^no-sycophancy\s+1\s+0\s+0\s+1\s+-$/m);
    expect(out).toMatch(/Latency p50 \d+ ms, p95 \d+ ms/);

    const list = await fetch(`${tenet.url}/admin/api/violations?principle=no-sycophancy`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const [violation] = ((await list.json()) as { items: Array<{ id: string }> }).items;
    const reviewed = await fetch(`${tenet.url}/admin/api/violations/${violation?.id}/review`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'confirmed', note: 'agreed with the myth' }),
    });
    expect(reviewed.status).toBe(200);
    expect((await cli(['stats'])).out).toMatch(/^no-sycophancy\s+1\s+1\s+0\s+0\s+100\.0%$/m);
    const json = JSON.parse((await cli(['stats', '--json', '--bucket', 'hour'])).out) as {
      principles: Array<{ principle: string; precision: number | null }>;
    };
    expect(json.principles.find((p) => p.principle === 'no-sycophancy')?.precision).toBe(1);
  });

  it('export streams CSV to stdout and preference pairs to a file', async () => {
    const csv = await cli(['export', '--format', 'csv', '--principle', 'no-keys']);
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.out.trim().split('\r\n');
    expect(header).toMatch(/^id,request_id,time,/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain('no-keys');

    const file = join(mkdtempSync(join(tmpdir(), 'tenet-export-')), 'pairs.jsonl');
    const pairs = await cli(['export', '--format', 'pairs', '--out', file]);
    expect(pairs.code).toBe(0);
    expect(pairs.err).toContain(file);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        prompt: expect.stringContaining('Great Wall'),
        chosen: corrected,
        rejected: sycophantic,
        principles: ['no-sycophancy'],
        labels: [expect.objectContaining({ label: 'confirmed', note: 'agreed with the myth' })],
      }),
    ]);

    const requests = await cli(['export', '--kind', 'requests', '--verdict', 'blocked']);
    expect(
      requests.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verdict),
    ).toEqual(['blocked']);
  });

  it('fails with exit 1 and the server message on auth errors, never printing the token', async () => {
    const wrong = await cli(['logs', '--token', 'wrong-admin-token-0123456789'], { TENET_URL: tenet.url });
    expect([wrong.code, wrong.out]).toEqual([1, '']);
    expect(wrong.err).toContain('HTTP 401');
    expect(wrong.err).not.toContain('wrong-admin-token');
    const client = await cli(['stats'], { TENET_URL: tenet.url, TENET_ADMIN_TOKEN: clientKey });
    expect([client.code, client.err]).toEqual([1, expect.stringContaining('HTTP 403')]);
    const missing = await cli(['export'], { TENET_URL: tenet.url });
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining('TENET_ADMIN_TOKEN')]);
    const badFilter = await cli(['logs', '--severity', 'huge']);
    expect([badFilter.code, badFilter.err]).toEqual([1, expect.stringContaining('severity')]);
    const unreachable = await cli(['logs', '--url', 'http://127.0.0.1:9'], { TENET_ADMIN_TOKEN: adminToken });
    expect([unreachable.code, unreachable.err]).toEqual([1, expect.stringContaining('cannot reach Tenet')]);
  });
});
