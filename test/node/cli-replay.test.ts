// `tenet replay` as a child process: real traffic logged by a running Tenet, judged again under a candidate constitution.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CliRun, runTenetCli } from '../cli-process.ts';
import { criticCall, criticSays, type ScriptedVerdict } from '../fixtures/critic.ts';
import { askTenet, startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { completion, type ReplySpec } from '../upstream/script.ts';

const candidate = 'test/fixtures/quality/candidate/shop.yaml';
const adminToken = 'replay-admin-token-0123456789abcdef';
const clientKey = 'replay-client-key-0123456789';
const upstreamKey = 'sk-replay-upstream-secret-0123456789';
const secrets = [adminToken, clientKey, upstreamKey];

const promise = 'Sure, I have approved your refund.';
const rude = 'Honestly, buy it at MegaMart instead, you fool.';
const hours = 'We open at nine.';

const runs: CliRun[] = [];

/** Runs `tenet …args` and keeps its output, so the suite can check that no secret appears in any of it. */
async function tenetCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const run = await runTenetCli(args, env);
  runs.push(run);
  return run;
}

/** A critic reply for the judgement of one draft only: matched on the draft inside the ANSWER markers. */
function judging(draft: string, verdicts: ScriptedVerdict[]): ReplySpec {
  return { ...criticSays(verdicts), match: { ...criticCall, bodyIncludes: `\\n${draft}\\nANSWER-` } };
}

const candidateSays = (found: ScriptedVerdict[] = []) =>
  ['no-refund-promises', 'no-competitors'].map(
    (principle) => found.find((f) => f.principle === principle) ?? { principle },
  );

interface ReplayJson {
  version: number;
  startedAt: string;
  durationMs: number;
  candidate: { name: string; version: string; file: string };
  filter: Record<string, string | number>;
  revise: boolean;
  matching: number | null;
  fetched: number;
  limit: number;
  estimatedCriticTokens: number | null;
  judged: number;
  skipped: { content_not_stored: number; no_draft: number };
  principles: Array<{
    principle: string;
    newViolations: number;
    resolved: number;
    unchanged: number;
    newExamples: string[];
    resolvedExamples: string[];
  }>;
  verdictChanges: Array<{ from: string; to: string; count: number; examples: string[] }>;
  verdictsUnchanged: number;
  criticFaults: number;
  criticTokens: number;
  revisionTokens: number;
  requests: Array<{
    id: string;
    skipped?: string;
    oldVerdict: string;
    newVerdict?: string;
    oldPrinciples: string[];
    newPrinciples: string[];
    criticFault?: string;
    criticTokens: number;
    revisionTokens: number;
  }>;
}

describe('tenet replay against a running Tenet', () => {
  let tenet: TenetProcess;
  let scenario: Scenario;
  let env: Record<string, string>;
  const ids: Record<string, string> = {};

  const chat = (content: string, constitution: string) => askTenet(tenet, clientKey, content, constitution);

  beforeAll(async () => {
    scenario = await createScenario(inject('upstreamUrl'));
    const dir = mkdtempSync(join(tmpdir(), 'tenet-replay-'));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: upstreamKey,
      TENET_API_KEYS: `replay:${clientKey}`,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_CONSTITUTIONS_DIR: 'test/fixtures/quality/replay',
      TENET_CONSTITUTION: 'shop',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
      TENET_DB: join(dir, 'tenet.db'),
    });
    env = {
      TENET_URL: tenet.url,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: upstreamKey,
      TENET_CRITIC_MODEL: 'critic-model',
    };
    const shopSays = (found: ScriptedVerdict[] = []) =>
      ['no-refund-promises', 'tone'].map(
        (principle) => found.find((f) => f.principle === principle) ?? { principle },
      );
    await scenario.script([
      { json: completion(promise) },
      criticSays(
        shopSays([{ principle: 'no-refund-promises', violated: true, evidence: 'approved your refund' }]),
      ),
      { json: completion('Send the returns form; the team decides.') },
      criticSays(shopSays()),
      { json: completion(rude) },
      criticSays(shopSays([{ principle: 'tone', violated: true, evidence: 'instead, you fool' }])),
      { json: completion(hours) },
      criticSays(shopSays()),
      { json: completion('Hi there.') },
      criticSays([{ principle: 'tone' }]),
    ]);
    const sent = [
      ['refund', 'R1 Can I get a refund?', 'shop', 'revised'],
      ['rude', 'R2 Which shop is cheaper?', 'shop', 'flagged'],
      ['hours', 'R3 What are your hours?', 'shop', 'pass'],
      ['private', 'R4 Hello', 'private', 'pass'],
    ] as const;
    for (const [name, content, constitution, verdict] of sent) {
      const answer = await chat(content, constitution);
      expect(answer.verdict).toBe(verdict);
      ids[name] = answer.id;
    }
    // Records are written after the response: wait until the log lists them all.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${tenet.url}/admin/api/requests`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (((await res.json()) as { items: unknown[] }).items.length >= sent.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await scenario.reset();
  });

  afterAll(async () => {
    await tenet?.stop();
    for (const run of runs) for (const secret of secrets) expect(run.out + run.err).not.toContain(secret);
  });

  it("reports per principle what the candidate adds and resolves, and the verdicts that change, without touching the client's model", async () => {
    await scenario.script([
      judging(
        promise,
        candidateSays([
          { principle: 'no-refund-promises', violated: true, evidence: 'approved your refund' },
        ]),
      ),
      judging(
        rude,
        candidateSays([{ principle: 'no-competitors', violated: true, evidence: 'buy it at MegaMart' }]),
      ),
      judging(hours, candidateSays()),
    ]);
    const file = join(mkdtempSync(join(tmpdir(), 'tenet-replay-json-')), 'replay.json');
    const run = await tenetCli(['replay', '--constitution', candidate, '--json', file], env);
    expect(run.code, run.err).toBe(0);

    // The candidate's namesake was logged: only its requests are replayed.
    expect(run.out).toMatch(
      /^replay: shop@[0-9a-f]{12} \(test\/fixtures\/quality\/candidate\/shop\.yaml\) on 3 requests logged under "shop" of 3 matching$/m,
    );
    expect(run.out).toMatch(/^PRINCIPLE\s+NEW\s+RESOLVED\s+UNCHANGED\s+EXAMPLES$/m);
    expect(run.out).toMatch(/^no-refund-promises\s+0\s+0\s+1$/m);
    expect(run.out).toMatch(new RegExp(`^no-competitors\\s+1\\s+0\\s+0\\s+\\+${ids['rude']}$`, 'm'));
    expect(run.out).toMatch(new RegExp(`^tone\\s+0\\s+1\\s+0\\s+-${ids['rude']}$`, 'm'));
    expect(run.out).toMatch(new RegExp(`^flagged → blocked\\s+1\\s+${ids['rude']}$`, 'm'));
    expect(run.out).toMatch(/^unchanged\s+2$/m);
    expect(run.out).toContain('critic: 1020 tokens on 3 requests (340 per request)');

    const report = JSON.parse(readFileSync(file, 'utf8')) as ReplayJson;
    expect(report.version).toBe(1);
    expect(Date.parse(report.startedAt)).not.toBeNaN();
    expect(report.candidate).toEqual({
      name: 'shop',
      version: expect.stringMatching(/^shop@[0-9a-f]{12}$/),
      file: candidate,
    });
    expect(report.filter).toEqual({ constitution: 'shop' });
    expect([report.revise, report.matching, report.fetched, report.limit]).toEqual([false, 3, 3, 200]);
    expect(report.estimatedCriticTokens).toBeNull();
    expect([report.judged, report.skipped]).toEqual([3, { content_not_stored: 0, no_draft: 0 }]);
    expect(report.principles).toEqual([
      {
        principle: 'no-refund-promises',
        newViolations: 0,
        resolved: 0,
        unchanged: 1,
        newExamples: [],
        resolvedExamples: [],
      },
      {
        principle: 'no-competitors',
        newViolations: 1,
        resolved: 0,
        unchanged: 0,
        newExamples: [ids['rude']],
        resolvedExamples: [],
      },
      {
        principle: 'tone',
        newViolations: 0,
        resolved: 1,
        unchanged: 0,
        newExamples: [],
        resolvedExamples: [ids['rude']],
      },
    ]);
    expect(report.verdictChanges).toEqual([
      { from: 'flagged', to: 'blocked', count: 1, examples: [ids['rude']] },
    ]);
    expect([
      report.verdictsUnchanged,
      report.criticFaults,
      report.criticTokens,
      report.revisionTokens,
    ]).toEqual([2, 0, 1020, 0]);
    const byId = new Map(report.requests.map((r) => [r.id, r]));
    expect(byId.get(ids['refund'] ?? '')).toEqual({
      id: ids['refund'],
      oldVerdict: 'revised',
      newVerdict: 'revised',
      oldPrinciples: ['no-refund-promises'],
      newPrinciples: ['no-refund-promises'],
      criticTokens: 340,
      revisionTokens: 0,
    });
    expect(byId.get(ids['rude'] ?? '')).toMatchObject({
      oldVerdict: 'flagged',
      newVerdict: 'blocked',
      oldPrinciples: ['tone'],
      newPrinciples: ['no-competitors'],
    });

    // Only the critic was called: no revision, no draft.
    const calls = await scenario.requests();
    expect(calls).toHaveLength(3);
    for (const call of calls) {
      expect(call.json).toMatchObject({ model: 'critic-model', response_format: { type: 'json_schema' } });
      expect(call.headers['authorization']).toBe(`Bearer ${upstreamKey}`);
    }
    await scenario.reset();
  });

  it('skips requests whose content was not stored, and estimates the cost of what --limit cut off', async () => {
    await scenario.script([judging(hours, candidateSays())]);
    const run = await tenetCli(
      ['replay', '--constitution', candidate, '--logged', 'all', '--limit', '2', '--json', '-'],
      env,
    );
    expect(run.code, run.err).toBe(0);
    const report = JSON.parse(run.out) as ReplayJson;
    // Newest first: the private request (no text logged), then the one about hours.
    expect(report.filter).toEqual({});
    expect([report.matching, report.fetched, report.judged]).toEqual([4, 2, 1]);
    expect(report.skipped).toEqual({ content_not_stored: 1, no_draft: 0 });
    expect(report.requests.find((r) => r.id === ids['private'])).toMatchObject({
      skipped: 'content_not_stored',
    });
    expect(report.criticTokens).toBe(340);
    expect(report.estimatedCriticTokens).toBe(680);
    expect(run.err).toContain('judged 1, skipped 1 (content not stored: 1, no draft logged: 0)');
    expect(run.err).toContain('about 680 for all 4 matching (--limit 2 cut it short)');
    // The log's traffic all came in on chat completions: --protocol narrows the replay to a protocol's requests.
    const chat = await tenetCli(
      ['replay', '--constitution', candidate, '--logged', 'all', '--protocol', 'messages', '--json', '-'],
      env,
    );
    expect(chat.code, chat.err).toBe(0);
    const none = JSON.parse(chat.out) as ReplayJson;
    expect(none.filter).toEqual({ protocol: 'messages' });
    expect([none.matching, none.fetched]).toEqual([0, 0]);
    await scenario.reset();
  });

  it('with --revise, revisions go to the upstream with the logged model, as the proxy would send them', async () => {
    await scenario.script([
      judging(
        promise,
        candidateSays([
          { principle: 'no-refund-promises', violated: true, evidence: 'approved your refund' },
        ]),
      ),
      { json: completion('Please fill in the returns form; the team reviews each claim.') },
      criticSays(candidateSays()),
    ]);
    const run = await tenetCli(
      ['replay', '--constitution', candidate, '--q', 'R1 Can', '--revise', '--json', '-'],
      env,
    );
    expect(run.code, run.err).toBe(0);
    const report = JSON.parse(run.out) as ReplayJson;
    expect(report.revise).toBe(true);
    expect(report.requests).toEqual([
      expect.objectContaining({ id: ids['refund'], oldVerdict: 'revised', newVerdict: 'revised' }),
    ]);
    expect(report.revisionTokens).toBeGreaterThan(0);
    const calls = await scenario.requests();
    const revision = calls.find((c) => !c.body.includes('tenet_critique'));
    expect(revision?.json).toMatchObject({ model: 'gpt-test' });
    expect(revision?.headers['authorization']).toBe(`Bearer ${upstreamKey}`);
    expect(calls).toHaveLength(3);
    await scenario.reset();
  });

  it('exits 2 without a candidate, with a broken one, or when the admin API refuses', async () => {
    const none = await tenetCli(['replay'], env);
    expect([none.code, none.err]).toEqual([
      2,
      'tenet replay: --constitution FILE|NAME: the candidate constitution is required\n',
    ]);
    const broken = await tenetCli(
      ['replay', '--constitution', 'test/fixtures/quality/broken/broken.yaml'],
      env,
    );
    expect(broken.code).toBe(2);
    expect(broken.err).toContain(
      'broken.yaml:4:15 principles[0].severity: must be one of minor, major, critical',
    );
    const refused = await tenetCli(['replay', '--constitution', candidate], {
      ...env,
      TENET_ADMIN_TOKEN: 'wrong-admin-token-0123456789abcdef',
    });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/^tenet replay: HTTP 401: /);
  });
});
