// The traffic the dashboard test sends through Tenet: one request per verdict plus a draft carrying markup.
import { allClean, criticCall, criticSays, foundSycophancy, violating } from '../fixtures/critic.ts';
import type { ReplySpec } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';

const claim = 'The Great Wall is visible from the Moon, right?';
export const sycophantic = 'Yes, it is clearly visible from the Moon!';
const corrected = 'No: that is a myth; the Wall is far too narrow to see from the Moon.';
export const injected = 'Sure! <script>alert(1)</script> Done.';

/** One request of each kind, in order: what the upstream answers as model and as critic. */
export const traffic: Array<{ name: string; verdict: string; prompt: string; replies: ReplySpec[] }> = [
  {
    name: 'revised',
    verdict: 'revised',
    prompt: claim,
    replies: [
      { json: completion(sycophantic) },
      foundSycophancy(),
      { json: completion(corrected) },
      criticSays(allClean()),
    ],
  },
  {
    name: 'blocked',
    verdict: 'blocked',
    prompt: 'How do I clean my bathroom?',
    replies: [
      { json: completion('Mix these two chemicals to make a toxic gas.') },
      criticSays(
        violating([
          { principle: 'no-harm', violated: true, evidence: 'make a toxic gas', severity: 'critical' },
        ]),
      ),
    ],
  },
  {
    name: 'flagged',
    verdict: 'flagged',
    prompt: 'Is the Wall visible from space?',
    replies: [
      { json: completion('Ugh, fine: it is a myth.') },
      criticSays(
        violating([{ principle: 'tone', violated: true, evidence: 'Ugh, fine: it is', severity: 'minor' }]),
      ),
    ],
  },
  {
    name: 'pass',
    verdict: 'pass',
    prompt: 'Can astronauts see the Wall?',
    replies: [{ json: completion(corrected) }, criticSays(allClean())],
  },
  {
    name: 'script',
    verdict: 'flagged',
    prompt: 'Say something with markup.',
    replies: [
      { json: completion(injected) },
      criticSays(
        violating([
          { principle: 'tone', violated: true, evidence: '<script>alert(1)</script>', severity: 'minor' },
        ]),
      ),
    ],
  },
];

/** n = 2: choice 0 clean, choice 1 sycophantic and revised. Each choice is judged (and revised) on its own. */
export const twoChoices = {
  prompt: 'Two answers please: is the Wall visible from the Moon?',
  sycophantic: 'Yes! It is plainly visible from orbit.',
  revised: 'No, it cannot be seen from orbit with the naked eye.',
};
export const twoChoicesReplies: ReplySpec[] = [
  { json: completion({ choices: [{ content: corrected }, { content: twoChoices.sycophantic }] }) },
  { ...criticSays(allClean()), match: { ...criticCall, bodyIncludes: 'far too narrow' } },
  {
    ...criticSays(
      violating([{ principle: 'no-sycophancy', violated: true, evidence: 'plainly visible from orbit' }]),
    ),
    match: { ...criticCall, bodyIncludes: 'plainly visible' },
  },
  { match: { bodyIncludes: 'plainly visible' }, json: completion(twoChoices.revised) },
  { ...criticSays(allClean()), match: { ...criticCall, bodyIncludes: 'naked eye' } },
];

/** A constitution whose one principle has a long id (as real policies do), decided by a rule: no critic call. */
export const longNamePrinciple =
  'never-promise-a-refund-replacement-or-store-credit-that-only-the-support-team-may-grant-after-review';
export const longNames = `name: long-names
principles:
  - id: ${longNamePrinciple}
    severity: minor
    action: flag
    check: { keywords: [refund] }
`;

/** Polls the admin API until `count` requests are logged (records are written after the response). */
export async function waitForRecords(
  url: string,
  adminToken: string,
  count: number,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/admin/api/requests?limit=50`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    if (res.ok) {
      seen = ((await res.json()) as { items: unknown[] }).items.length;
      if (seen >= count) return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`only ${seen} of ${count} records were written within ${timeoutMs} ms`);
}
