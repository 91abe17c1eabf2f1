// What the proxy records: every request (passes too), every round and violation, texts per the content setting, no secrets.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { loopConstitutions } from '../fixtures/constitutions.ts';
import { allClean, criticSays, violating } from '../fixtures/critic.ts';
import { apiError, chunks, completion } from '../upstream/script.ts';
import { clientKey, harness, upstreamKey } from './harness.ts';

const store = createD1Store((env as unknown as { DB: D1Database }).DB);

const redactedJudged = loopConstitutions.judged
  .replace('name: judged', 'name: judged-redacted')
  .replace('principles:', 'logging: { content: redacted }\nprinciples:');
const silentJudged = loopConstitutions.judged
  .replace('name: judged', 'name: judged-silent')
  .replace('principles:', 'logging: { content: none }\nprinciples:');

const setup = () =>
  harness({
    constitutions: { ...loopConstitutions, 'judged-redacted': redactedJudged, 'judged-silent': silentJudged },
    settings: {
      TENET_CONSTITUTION: 'judged',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
      TENET_ADMIN_TOKEN: 'admin-token-0123456789abcdef',
    },
  });
const ask = (content: string) => ({ model: 'gpt-test', messages: [{ role: 'user', content }] });

async function recordOf(res: Response) {
  await res.arrayBuffer();
  const id = res.headers.get('x-tenet-request-id') ?? '';
  const detail = await store.getRequest(id);
  expect(detail, `record of ${id}`).toBeDefined();
  return detail!;
}

describe('the record of each request', () => {
  it('keeps a pass, with its draft, the critic call and the constitution version', async () => {
    const t = await setup();
    await t.scenario.script([{ json: completion('No, that is a myth.') }, criticSays(allClean())]);
    const res = await t.chat(ask('Visible from the Moon?'));
    const { row, record } = await recordOf(res);
    expect(row).toMatchObject({
      verdict: 'pass',
      keyId: 'app',
      model: 'gpt-test',
      criticModel: 'critic-model',
      criticTokens: 340,
    });
    expect(`${row.constitution}@${row.constitutionHash}`).toBe(res.headers.get('x-tenet-constitution'));
    expect(record.final).toBe('No, that is a myth.');
    expect(record.stages.find((s) => s.stage === 'output')?.rounds[0]?.critic[0]).toMatchObject({
      attempt: 1,
      tokens: 340,
      cached: false,
    });
    expect(record.draftCall?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps a request that failed before its answer: verdict error, with the error the client got', async () => {
    const t = await setup();
    await t.scenario.script([apiError(503, 'The engine is overloaded.')]);
    const res = await t.chat(ask('Visible from the Moon?'));
    expect(res.status).toBe(502);
    const { row, record } = await recordOf(res);
    expect(row).toMatchObject({ verdict: 'error', errorCode: 'upstream_error', criticTokens: 0 });
    expect(record.error).toEqual({
      code: 'upstream_error',
      status: 502,
      // The upstream is named by host: which setting to check is plain from the log.
      message: `The upstream model at ${new URL(t.scenario.baseURL).host} failed (HTTP 503): The engine is overloaded.`,
    });
    expect(record.final).toBeNull();

    // A judged stream that breaks before it is whole: the client gets a 502, the log gets the failure.
    await t.scenario.script([{ stream: chunks('one two three four'), dropAfter: 2 }]);
    const broken = await t.chat({ ...ask('Count.'), stream: true });
    expect(broken.status).toBe(502);
    const failed = await recordOf(broken);
    expect(failed.row).toMatchObject({ verdict: 'error', errorCode: 'upstream_stream_broken', stream: true });
  });

  it('keeps every round of a revision, with the violation, its evidence and critique', async () => {
    const t = await setup();
    await t.scenario.script([
      { json: completion('Yes, clearly visible!') },
      criticSays(
        violating([
          {
            principle: 'no-sycophancy',
            violated: true,
            evidence: 'clearly visible',
            critique: 'Agrees with a myth.',
          },
        ]),
      ),
      { json: completion('No, that is a myth.') },
      criticSays(allClean()),
    ]);
    const { row, record, violations } = await recordOf(await t.chat(ask('Visible from the Moon?')));
    expect(row).toMatchObject({ verdict: 'revised', revisions: 1, rounds: 2 });
    expect(record.draft).toBe('Yes, clearly visible!');
    expect(record.final).toBe('No, that is a myth.');
    expect(record.stages[0]?.rounds.map((r) => [r.kind, r.text])).toEqual([
      ['draft', 'Yes, clearly visible!'],
      ['revision', 'No, that is a myth.'],
    ]);
    expect(record.stages[0]?.rounds[1]?.revision?.usage.total_tokens).toBeGreaterThan(0);
    expect(violations).toEqual([
      expect.objectContaining({
        principle: 'no-sycophancy',
        round: 0,
        source: 'critic',
        evidence: 'clearly visible',
        critique: 'Agrees with a myth.',
        action: 'revise',
      }),
    ]);
  });

  it('keeps a flagged answer, a blocked one and a critic failure, each with why', async () => {
    const t = await setup();
    await t.scenario.script([
      { json: completion('Ugh: a myth.') },
      criticSays(violating([{ principle: 'tone', violated: true, evidence: 'Ugh: a myth.' }])),
      { json: completion('Use sk-proj-4fJ9aQ2xTz8LmN3bVc7KpR1s now.') },
      { json: completion('Fine.') },
      criticSays(allClean(), { nonce: 'bad0bad0bad0bad0bad0bad0', times: 2 }),
    ]);
    const flagged = await recordOf(await t.chat(ask('a')));
    expect(flagged.row.verdict).toBe('flagged');
    const blocked = await recordOf(await t.chat(ask('b')));
    expect(blocked.row).toMatchObject({ verdict: 'blocked', reason: 'the draft breaks a block principle' });
    expect(blocked.violations[0]).toMatchObject({ principle: 'no-keys', source: 'rule' });
    // A leaked key is never stored, even with content: full.
    expect(JSON.stringify(blocked.record)).not.toContain('sk-proj-4fJ9aQ2xTz8LmN3bVc7KpR1s');
    const failed = await recordOf(await t.chat(ask('c')));
    expect(failed.row).toMatchObject({ verdict: 'blocked', criticError: 'critic_nonce_mismatch' });
    expect(failed.record.stages[0]?.rounds[0]?.critic.map((c) => c.fault?.code)).toEqual([
      'critic_nonce_mismatch',
      'critic_nonce_mismatch',
    ]);
  });

  it('keeps a blocked input, which never reached the model', async () => {
    const t = await harness({
      constitutions: loopConstitutions,
      settings: {
        TENET_CONSTITUTION: 'guarded',
        TENET_CRITIC_MODEL: 'critic-model',
        TENET_VERDICT_CACHE_TTL_S: '0',
      },
    });
    await t.scenario.script([
      criticSays([
        {
          principle: 'no-weapons-input',
          violated: true,
          evidence: 'build a pipe bomb',
          severity: 'critical',
        },
      ]),
    ]);
    const { row, record } = await recordOf(await t.chat(ask('how to build a pipe bomb')));
    expect(row.verdict).toBe('blocked');
    expect(record.draft).toBeNull();
    expect(record.stages[0]).toMatchObject({ stage: 'input', verdict: 'blocked' });
  });

  it('masks personal data and keys with content: redacted, and keeps no text with content: none', async () => {
    const t = await setup();
    const answer = 'Write to jane.doe@example.com or call +44 20 7946 0958.';
    await t.scenario.script([{ json: completion(answer), times: 2 }, criticSays(allClean(), { times: 2 })]);
    const redacted = await recordOf(
      await t.chat(ask('my card is 4111 1111 1111 1111'), { 'x-tenet-constitution': 'judged-redacted' }),
    );
    expect(redacted.record.final).toBe('Write to [email] or call [phone].');
    expect(redacted.record.prompt).toBe('my card is [credit_card]');
    const silent = await recordOf(
      await t.chat(ask('my card is 4111 1111 1111 1111'), { 'x-tenet-constitution': 'judged-silent' }),
    );
    expect([silent.record.prompt, silent.record.draft, silent.record.final]).toEqual([null, null, null]);
    expect(silent.record.stages[0]?.rounds[0]?.text).toBeNull();
    expect(JSON.stringify(silent.record)).not.toContain('jane.doe');
  });

  it('never stores a configured secret', async () => {
    const t = await setup();
    await t.scenario.script([
      { json: completion(`Keys: ${upstreamKey} ${clientKey}`) },
      criticSays(allClean()),
    ]);
    const { record } = await recordOf(await t.chat(ask(`is ${clientKey} valid?`)));
    const text = JSON.stringify(record);
    expect(text).not.toContain(upstreamKey);
    expect(text).not.toContain(clientKey);
    expect(text).not.toContain('admin-token-0123456789abcdef');
  });
});

describe('very long texts', () => {
  it('are clipped in the record, so the record still fits the store', async () => {
    const t = await harness({ settings: { TENET_CONSTITUTION: 'passthrough' } });
    const huge = `${'word '.repeat(60_000)}end`;
    await t.scenario.script([{ json: completion(huge) }]);
    const { record } = await recordOf(await t.chat(ask(huge)));
    expect(record.final?.length).toBeLessThan(33_000);
    expect(record.final).toMatch(/\[… \d+ more characters not stored\]$/);
    expect(record.prompt).toMatch(/not stored\]$/);
  });
});
