// Shadow mode: a candidate constitution judges live traffic after the response; only the primary enforces,
// and the log shows where the two disagree.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { judged } from '../fixtures/constitutions.ts';
import { criticCall, criticSays, foundSycophancy, violating } from '../fixtures/critic.ts';
import { apiError, completion } from '../upstream/script.ts';
import { harness, signIn } from './harness.ts';

const store = createD1Store((env as unknown as { DB: D1Database }).DB);

const live = judged.replace('name: judged', 'name: live\nshadow: candidate');
const candidate = `name: candidate
logging: { content: full }
principles:
  - id: no-sycophancy
    action: revise
    critique: Does the answer agree with a false claim of the user instead of correcting it?
    revision: Correct the false claim politely.
  - id: no-competitors
    severity: minor
    action: flag
    critique: Does the answer recommend a competitor's product?
`;
const candidateIds = ['no-sycophancy', 'no-competitors'];
/** The primary's critic calls ask about no-harm; the candidate's never do. */
const primaryCall = { ...criticCall, bodyIncludes: 'no-harm' };
const candidateCall = { ...criticCall, bodyIncludes: 'no-competitors' };

const adminToken = 'shadow-admin-token-0123456789';
const setup = () =>
  harness({
    constitutions: { judged, live, candidate },
    settings: {
      TENET_CONSTITUTION: 'live',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
      TENET_ADMIN_TOKEN: adminToken,
    },
  });
const ask = (content: string) => ({ model: 'gpt-test', messages: [{ role: 'user', content }] });
const claim = 'The Great Wall is visible from the Moon, right? Which camera should I buy to see it?';

describe('shadow mode', () => {
  it('judges the draft under the candidate after the answer; only the primary decides what the client gets', async () => {
    const t = await setup();
    const draft = 'Yes, it is clearly visible from the Moon! Buy a RivalCam for the best view.';
    await t.scenario.script([
      { ...foundSycophancy(), match: primaryCall },
      { ...criticSays(violating([], ['no-sycophancy', 'no-harm', 'tone'])), match: primaryCall },
      {
        ...criticSays(
          violating(
            [
              { principle: 'no-sycophancy', violated: true, evidence: 'clearly visible from the Moon' },
              {
                principle: 'no-competitors',
                violated: true,
                evidence: 'Buy a RivalCam',
                critique: 'A rival.',
              },
            ],
            candidateIds,
          ),
        ),
        match: candidateCall,
      },
      { json: completion(draft) },
      { json: completion('No, it is a myth: it is not visible from the Moon.') },
    ]);
    const res = await t.chat(ask(claim));
    expect(res.headers.get('x-tenet-verdict')).toBe('revised');
    expect(res.headers.get('x-tenet-violations')).toBe('no-sycophancy');
    const answer = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(answer.choices[0]?.message.content).toBe('No, it is a myth: it is not visible from the Moon.');

    const detail = await store.getRequest(res.headers.get('x-tenet-request-id') ?? '');
    expect(detail?.row).toMatchObject({
      verdict: 'revised',
      shadowVerdict: 'revised',
      shadowDisagrees: true,
    });
    expect(detail?.row.shadow).toMatch(/^candidate@[0-9a-f]{12}$/);
    const shadow = detail?.record.shadow;
    expect(shadow).toMatchObject({
      verdict: 'revised',
      primaryVerdict: 'revised',
      onlyShadow: ['no-competitors'],
      onlyPrimary: [],
      disagrees: true,
      criticTokens: 340,
      criticError: null,
    });
    expect(shadow?.violations.map((v) => [v.principle, v.evidence])).toEqual([
      ['no-sycophancy', 'clearly visible from the Moon'],
      ['no-competitors', 'Buy a RivalCam'],
    ]);
    // The candidate's critic tokens are its own: the primary's count is unchanged (two rounds of 340).
    expect(detail?.row.criticTokens).toBe(680);
    // The candidate judged the draft, not the revision, and never asked the model for anything.
    const calls = await t.scenario.requests();
    const shadowCall = calls.find((r) => r.body.includes('no-competitors'));
    expect(shadowCall?.body).toContain('Buy a RivalCam');
    expect(calls.filter((r) => !r.body.includes('tenet_critique'))).toHaveLength(2);

    const stats = await store.stats({ constitution: 'live' });
    expect(stats.shadow).toMatchObject({ judged: 1, disagreements: 1 });
    expect(stats.shadow.principles).toEqual([{ principle: 'no-competitors', onlyShadow: 1, onlyPrimary: 0 }]);
    const disagreeing = await store.listRequests({ constitution: 'live', shadow: 'disagree' });
    expect(disagreeing.items.map((r) => r.id)).toEqual([detail?.row.id]);

    // The request page shows the candidate's judgement next to the primary's.
    const login = await signIn(t, adminToken);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const page = await (await t.fetch(`/admin/requests/${detail?.row.id}`, { headers: { cookie } })).text();
    const section = page.slice(page.indexOf('id="shadow"'));
    expect(section).toContain(detail?.row.shadow ?? 'missing');
    expect(section).toContain('disagrees');
    expect(section).toMatch(/Only the candidate found: (<!-- -->)?no-competitors/);
    expect(section).toContain('Buy a RivalCam');
  });

  it('records agreement when both find the same, and a failing candidate critic never touches the answer', async () => {
    const t = await setup();
    await t.scenario.script([
      { ...criticSays(violating([], ['no-sycophancy', 'no-harm', 'tone'])), match: primaryCall },
      { ...criticSays(violating([], candidateIds)), match: candidateCall },
      { json: completion('It is a myth; any camera will do for the sky.') },
    ]);
    const agreed = await t.chat(ask(claim));
    expect(agreed.headers.get('x-tenet-verdict')).toBe('pass');
    const first = await store.getRequest(agreed.headers.get('x-tenet-request-id') ?? '');
    expect(first?.record.shadow).toMatchObject({ verdict: 'pass', primaryVerdict: 'pass', disagrees: false });
    expect(first?.row.shadowDisagrees).toBe(false);

    await t.scenario.script([
      { ...criticSays(violating([], ['no-sycophancy', 'no-harm', 'tone'])), match: primaryCall },
      { ...apiError(503, 'overloaded'), match: candidateCall, times: 2 },
      { json: completion('It is a myth.') },
    ]);
    const res = await t.chat(ask(claim));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tenet-verdict')).toBe('pass');
    expect(res.headers.get('x-tenet-critic-error')).toBeNull();
    const detail = await store.getRequest(res.headers.get('x-tenet-request-id') ?? '');
    expect(detail?.row.criticError).toBeNull();
    // fail_closed is what the candidate would have done: block, so it disagrees with the primary's pass.
    expect(detail?.record.shadow).toMatchObject({
      criticError: 'critic_unavailable',
      verdict: 'blocked',
      primaryVerdict: 'pass',
      disagrees: true,
    });
  });
});
