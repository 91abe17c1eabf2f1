// The traffic the dashboard test sends through Tenet: one request per verdict plus a draft carrying markup.
import { allClean, criticSays, foundSycophancy, violating } from '../fixtures/critic.ts';
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
        violating([{ principle: 'tone', violated: true, evidence: 'Ugh, fine', severity: 'minor' }]),
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
