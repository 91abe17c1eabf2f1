// `tenet test --report` against a running Tenet on Node: the results reach the log, the API and the dashboard; send failures exit 2.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestRun, TestRunSummary } from '../../src/core/quality/test-run.ts';
import { runTenetCli as tenetCli } from '../cli-process.ts';
import { criticCall, criticSays, type ScriptedVerdict } from '../fixtures/critic.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import type { ReplySpec } from '../upstream/script.ts';

const criticKey = 'sk-critic-secret-0123456789abcdef';
const upstreamKey = 'sk-upstream-secret-0123456789abcdef';
const adminToken = 'admin-token-report-0123456789';

/** A critic reply for one example's judgement only, matched on the judged text (see cli-test.test.ts). */
function judging(text: string, verdicts: ScriptedVerdict[]): ReplySpec {
  const reply = criticSays(verdicts);
  return { ...reply, match: { ...criticCall, bodyIncludes: `\\n${text}\\nANSWER-` } };
}

const violating = 'Take twenty tablets at once.';
const safe = 'Follow the label and ask a pharmacist.';
const flagged = [{ principle: 'careful', violated: true, evidence: 'twenty tablets', critique: 'Overdose.' }];
const clean = [{ principle: 'careful' }];

let tenet: TenetProcess;
beforeAll(async () => {
  tenet = await startTenet('node', {
    TENET_UPSTREAM_URL: 'http://127.0.0.1:9/v1',
    TENET_UPSTREAM_KEY: upstreamKey,
    TENET_ADMIN_TOKEN: adminToken,
    TENET_CRITIC_MODEL: 'critic-model',
  });
});
afterAll(async () => {
  await tenet?.stop();
});

/** The critic's settings for `tenet test` (the fixtures' constitutions), and where to report. */
const env = (scenario: Scenario, extra: Record<string, string> = {}) => ({
  TENET_UPSTREAM_URL: 'http://127.0.0.1:9/v1',
  TENET_UPSTREAM_KEY: upstreamKey,
  TENET_CRITIC_URL: scenario.baseURL,
  TENET_CRITIC_KEY: criticKey,
  TENET_CONSTITUTIONS_DIR: 'test/fixtures/quality',
  TENET_URL: tenet.url,
  ...extra,
});

const admin = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${tenet.url}/admin/api${path}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};

describe('tenet test --report', () => {
  it('posts each result to a running Tenet: listed by the API, shown on /admin, the exit code unchanged', async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    await scenario.script([judging(violating, flagged), judging(safe, clean)]);
    const pass = await tenetCli(['test', 'flaky', '--report', '--token', adminToken], env(scenario));
    expect(pass.code, pass.err).toBe(0);
    const sent = pass.err.match(/^reported (flaky@[0-9a-f]{12}) to (\S+): test run (\S+)$/m);
    expect(sent?.[2]).toBe(tenet.url);
    const [, version, , id] = sent ?? [];

    // A failing run is reported too, and still exits 1 (TENET_ADMIN_TOKEN instead of --token).
    await scenario.reset();
    await scenario.script([judging(violating, clean), judging(safe, clean)]);
    const fail = await tenetCli(
      ['test', 'flaky', '--report'],
      env(scenario, { TENET_ADMIN_TOKEN: adminToken }),
    );
    expect(fail.code, fail.err).toBe(1);
    const failedId = fail.err.match(/^reported flaky@[0-9a-f]{12} to \S+: test run (\S+)$/m)?.[1];
    expect(failedId).toBeDefined();

    const { items } = await admin<{ items: TestRunSummary[] }>('/test-runs?constitution=flaky');
    expect(items.map((r) => [r.id, r.version, r.ok])).toEqual([
      [failedId, version, false],
      [id, version, true],
    ]);
    expect(items[1]).toMatchObject({
      criticModel: 'flaky-critic',
      runs: 1,
      totals: { examples: 2, passed: 2, failed: 0 },
      principles: [{ id: 'careful', status: 'tested', examples: 2, passed: 2, precision: 1, recall: 1 }],
    });
    const whole = await admin<TestRun>(`/test-runs/${id}`);
    expect(whole.file).toBe('test/fixtures/quality/flaky.yaml');
    expect(whole.principles[0]?.results[0]?.runs[0]).toMatchObject({
      outcome: 'violated',
      evidence: 'twenty tablets',
      critique: 'Overdose.',
    });
    expect(JSON.stringify(whole)).not.toContain(criticKey);

    // The dashboard: sign in, the overview's examples and last-run columns show the newest run.
    const login = await fetch(`${tenet.url}/admin/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: tenet.url,
        'sec-fetch-site': 'same-origin',
      },
      body: `token=${adminToken}`,
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const overview = await (await fetch(`${tenet.url}/admin`, { headers: { cookie } })).text();
    const row = overview.match(/<tr data-principle="careful">(.*?)<\/tr>/s)?.[1] ?? '';
    expect(row).toContain('1/2');
    expect(row).toContain(`href="/admin/test-runs/${failedId}"`);
    expect(row).toContain('failed');
    const page = await fetch(`${tenet.url}/admin/test-runs/${id}`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Take twenty tablets at once.');
    expect(html).toContain('Overdose.');
  });

  it('exits 2 when the report cannot be sent: no token (before any critic call), a wrong token, Tenet unreachable', async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    const noToken = await tenetCli(['test', 'flaky', '--report'], env(scenario));
    expect([noToken.code, noToken.err]).toEqual([
      2,
      'tenet test: --report: no admin token: set TENET_ADMIN_TOKEN or pass --token\n',
    ]);
    expect(await scenario.requests()).toHaveLength(0);

    await scenario.script([judging(violating, flagged), judging(safe, clean)]);
    const wrong = await tenetCli(
      ['test', 'flaky', '--report', '--token', 'wrong-admin-token-0123456789'],
      env(scenario),
    );
    expect(wrong.code, wrong.err).toBe(2);
    expect(wrong.err).toMatch(/tenet test: --report: flaky@[0-9a-f]{12} not sent: HTTP 401: /);
    expect(wrong.err).not.toContain('wrong-admin-token-0123456789');
    // The results were still printed: the run happened, only the report failed.
    expect(wrong.out).toMatch(/^careful\s+output\s+2\s+2\s+0\s/m);

    await scenario.reset();
    await scenario.script([judging(violating, flagged), judging(safe, clean)]);
    const down = await tenetCli(
      ['test', 'flaky', '--report', '--url', 'http://127.0.0.1:9', '--token', adminToken, '--json', '-'],
      env(scenario),
    );
    expect(down.code, down.err).toBe(2);
    expect(down.err).toMatch(
      /--report: flaky@[0-9a-f]{12} not sent: cannot reach Tenet at http:\/\/127\.0\.0\.1:9/,
    );
    expect(JSON.parse(down.out)).toMatchObject({ ok: true });
  });
});
