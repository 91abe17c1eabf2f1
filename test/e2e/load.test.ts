// Load: many concurrent clients through the full loop on Node and workerd; every answer right, every record there once.
// CI size by default; run longer with TENET_LOAD_SECONDS=60 TENET_LOAD_CLIENTS=50.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { allClean, criticSays, violating } from '../fixtures/critic.ts';
import { type Runtime, startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type ReplySpec, type Scenario } from '../upstream/client.ts';
import { chunks, completion } from '../upstream/script.ts';

const seconds = Number(process.env['TENET_LOAD_SECONDS'] ?? 3);
const clients = Number(process.env['TENET_LOAD_CLIENTS'] ?? 12);
const clientKey = 'load-client-key-0123456789';
const adminToken = 'load-admin-token-0123456789abcdef';
/** The principles of the shipped `default` constitution the critic is asked about (the others are checks). */
const criticIds = [
  'no-harmful-assistance',
  'no-sycophancy',
  'no-fabrication',
  'no-needless-refusal',
  'no-moralising',
  'no-personal-data',
];

type Kind = 'pass' | 'revised' | 'blocked' | 'stream-pass' | 'stream-revised';
const kinds: Kind[] = ['pass', 'revised', 'blocked', 'stream-pass', 'stream-revised'];
/** Model latency of each scripted call: 20–40 ms. */
const latency = () => 20 + Math.floor(Math.random() * 21);

/** What the upstream answers for one request, every reply matched on the request's own marker. */
function repliesFor(kind: Kind, marker: string): ReplySpec[] {
  const draft = { bodyIncludes: marker };
  const critic = (verdicts: Parameters<typeof criticSays>[0]): ReplySpec => ({
    ...criticSays(verdicts, { delayMs: latency() }),
    match: { jsonSchemaName: 'tenet_critique', bodyIncludes: marker },
  });
  const clean = critic(allClean(criticIds));
  const stream = kind.startsWith('stream');
  const answer = (text: string): ReplySpec =>
    stream
      ? { match: draft, stream: chunks(text), delayMs: latency(), chunkDelayMs: 1 }
      : { match: draft, json: completion(text), delayMs: latency() };
  // Critic replies first in the queue: a draft call never carries a json_schema, so it skips them.
  if (kind === 'pass' || kind === 'stream-pass') return [clean, answer(`About ${marker}: it is a myth.`)];
  if (kind === 'blocked') {
    const harm = {
      principle: 'no-harmful-assistance',
      violated: true,
      evidence: 'make a toxic gas',
    } as const;
    return [
      critic(violating([{ ...harm, severity: 'critical' }], criticIds)),
      answer(`For ${marker}: mix these to make a toxic gas.`),
    ];
  }
  const found = { principle: 'no-sycophancy', violated: true, evidence: 'clearly visible' };
  return [
    critic(violating([found], criticIds)),
    clean,
    answer(`Yes, ${marker} is clearly visible from the Moon!`),
    { match: draft, json: completion(`No: ${marker} is a myth.`), delayMs: latency() },
  ];
}

const expectedVerdict = (kind: Kind) => kind.replace('stream-', '');
const expectedViolation: Record<Kind, string | null> = {
  pass: null,
  'stream-pass': null,
  revised: 'no-sycophancy',
  'stream-revised': 'no-sycophancy',
  blocked: 'no-harmful-assistance',
};

interface Sent {
  id: string;
  kind: Kind;
  ms: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

describe.each<Runtime>(['node', 'workers'])('load on %s', (runtime) => {
  let tenet: TenetProcess;
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet(runtime, {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: 'sk-load-upstream-0123456789',
      TENET_API_KEYS: `load:${clientKey}`,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_CONSTITUTION: 'default',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
    });
  });
  afterAll(async () => {
    await tenet?.stop();
  });

  const admin = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${tenet.url}/admin/api/${path}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as T;
  };
  /** Every row of a paginated admin listing. */
  const all = async <T>(path: string): Promise<T[]> => {
    const rows: T[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { items: T[]; next: string | null } = await admin(query);
      rows.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return rows;
  };

  it(`${clients} clients for ${seconds} s: every verdict as scripted, every record written exactly once`, async () => {
    const sent: Sent[] = [];
    const errors: string[] = [];
    let n = 0;
    const until = Date.now() + seconds * 1000;
    const client = async (c: number) => {
      while (Date.now() < until) {
        const i = n++;
        const kind = kinds[i % kinds.length] as Kind;
        const marker = `[load-${runtime}-${c}-${String(i).padStart(6, '0')}]`;
        await scenario.script(repliesFor(kind, marker));
        const stream = kind.startsWith('stream');
        const started = performance.now();
        const res = await fetch(`${tenet.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'gpt-load',
            messages: [{ role: 'user', content: `Tell me about ${marker}.` }],
            stream,
          }),
        });
        const body = await res.text();
        const ms = performance.now() - started;
        const id = res.headers.get('x-tenet-request-id') ?? '';
        const verdict = res.headers.get('x-tenet-verdict');
        const wrong =
          res.status !== 200
            ? `HTTP ${res.status}: ${body.slice(0, 200)}`
            : verdict !== expectedVerdict(kind)
              ? `verdict ${verdict}, expected ${expectedVerdict(kind)}`
              : stream && !body.includes('data: [DONE]')
                ? 'stream without [DONE]'
                : kind.endsWith('revised') && !body.includes('is a myth')
                  ? 'revision not returned'
                  : null;
        if (wrong) errors.push(`${kind} ${marker} ${id}: ${wrong}`);
        sent.push({ id, kind, ms });
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
    const elapsed = (performance.now() - started) / 1000;

    const ms = sent.map((s) => s.ms).sort((a, b) => a - b);
    console.log(
      `load ${runtime}: ${sent.length} requests, ${clients} clients, ${elapsed.toFixed(1)} s: ` +
        `p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, ` +
        `${(sent.length / elapsed).toFixed(1)} req/s`,
    );
    expect(errors).toEqual([]);
    expect(sent.length).toBeGreaterThan(clients * 2);
    expect(new Set(sent.map((s) => s.id)).size).toBe(sent.length);

    // The log is written after the responses: wait until the writer has drained.
    let rows: Array<{ id: string; verdict: string; violationCount: number }> = [];
    for (let tries = 0; tries < 150; tries++) {
      rows = await all('requests');
      if (rows.length >= sent.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const violations = await all<{ requestId: string; principle: string; round: number }>('violations');
    const health = (await (await fetch(`${tenet.url}/health`)).json()) as { log: { failed: number } };
    expect(health.log.failed).toBe(0);

    // Exactly one record per request sent, with the verdict it was answered with: nothing lost, nothing doubled.
    expect(rows).toHaveLength(sent.length);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.size).toBe(sent.length);
    const wrongRecords = sent.flatMap((s) => {
      const row = byId.get(s.id);
      const want = expectedViolation[s.kind] ? 1 : 0;
      if (row?.verdict === expectedVerdict(s.kind) && row.violationCount === want) return [];
      return [`${s.kind} ${s.id}: ${JSON.stringify(row)}`];
    });
    expect(wrongRecords).toEqual([]);
    // And exactly the violations each request had: one, in round 0, of the scripted principle.
    expect(violations).toHaveLength(sent.filter((s) => expectedViolation[s.kind]).length);
    const kindOf = new Map(sent.map((s) => [s.id, s.kind]));
    const wrongViolations = violations.filter(
      (v) => v.round !== 0 || expectedViolation[kindOf.get(v.requestId) ?? 'pass'] !== v.principle,
    );
    expect(wrongViolations).toEqual([]);
  });
});
