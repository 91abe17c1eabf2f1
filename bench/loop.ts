// The bench's loop section: what each verdict (clean, one revision round, flagged, blocked) costs through Tenet on Node.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { judged } from '../test/fixtures/constitutions.ts';
import { allClean, criticSays, foundSycophancy, violating } from '../test/fixtures/critic.ts';
import {
  createScenario,
  type RecordedRequest,
  type ReplySpec,
  type Scenario,
} from '../test/upstream/client.ts';
import { completion } from '../test/upstream/script.ts';
import { percentile } from './load.ts';
import type { LoopFigures, LoopReport } from './loop-report.ts';
import {
  benchClientKey as clientKey,
  cpuMsOf,
  type ProxyTarget,
  startLoopFloor,
  startTenetNode,
  benchUpstreamKey as upstreamKey,
} from './targets.ts';

/** The scripted model's latency per call, in ms (a small fast model; a real one is slower, not faster). */
const delaysMs = { draft: 40, critic: 25, revision: 40 };

const claim = 'The Great Wall is visible from the Moon, right?';
const sycophantic = 'Yes, it is clearly visible from the Moon!';
const corrected = 'No: that is a myth; the Wall is far too narrow to see from the Moon.';
const rude = 'No, obviously not: it is a myth, as anyone could look up.';
const harmful = 'Mix these two cleaners to make a toxic gas.';
/** The `judged` constitution's refusal. */
const refusal = 'Refused by policy.';
const connectionCounts = [1, 4];

interface LoopScenario {
  name: 'clean' | 'revised' | 'flagged' | 'blocked';
  verdict: 'pass' | 'revised' | 'flagged' | 'blocked';
  /** The answer the client must get. */
  answer: string;
  /** The replies of one request. Critic replies come first, so a draft reply never answers a critic call. */
  replies(marker: string, delays?: typeof delaysMs): ReplySpec[];
}

/** Every reply answers only the calls of the request whose user message carries `marker` (pairing at 4 conns). */
const only = (marker: string, spec: ReplySpec): ReplySpec => ({
  ...spec,
  match: { ...spec.match, bodyIncludes: marker },
});

const scenarios: LoopScenario[] = [
  {
    name: 'clean',
    verdict: 'pass',
    answer: corrected,
    replies: (m, d = delaysMs) => [
      only(m, criticSays(allClean(), { delayMs: d.critic })),
      only(m, { json: completion(corrected), delayMs: d.draft }),
    ],
  },
  {
    name: 'revised',
    verdict: 'revised',
    answer: corrected,
    replies: (m, d = delaysMs) => [
      only(m, foundSycophancy({ delayMs: d.critic })),
      only(m, criticSays(allClean(), { delayMs: d.critic })),
      only(m, { json: completion(sycophantic), delayMs: d.draft }),
      only(m, { json: completion(corrected), delayMs: d.revision }),
    ],
  },
  {
    // A flag-only violation: the answer stays, the violation is logged.
    name: 'flagged',
    verdict: 'flagged',
    answer: rude,
    replies: (m, d = delaysMs) => [
      only(
        m,
        criticSays(violating([{ principle: 'tone', violated: true, evidence: 'obviously not' }]), {
          delayMs: d.critic,
        }),
      ),
      only(m, { json: completion(rude), delayMs: d.draft }),
    ],
  },
  {
    // A block principle: the answer is replaced by the refusal, no revision is tried.
    name: 'blocked',
    verdict: 'blocked',
    answer: refusal,
    replies: (m, d = delaysMs) => [
      only(
        m,
        criticSays(
          violating([
            { principle: 'no-harm', violated: true, evidence: 'make a toxic gas', severity: 'critical' },
          ]),
          { delayMs: d.critic },
        ),
      ),
      only(m, { json: completion(harmful), delayMs: d.draft }),
    ],
  },
];

const scriptedModelMs = (s: LoopScenario) =>
  s.name === 'revised'
    ? delaysMs.draft + delaysMs.critic + delaysMs.revision + delaysMs.critic
    : delaysMs.draft + delaysMs.critic;

interface Answer {
  marker: string;
  ms: number;
  verdict: string;
  criticTokens: number;
}

const markerPattern = /\[bench-[a-z]+-\d+\]/;
let markers = 0;
const nextMarker = (s: LoopScenario) => `[bench-${s.name}-${String(++markers).padStart(5, '0')}]`;

const header = (res: { headers: Record<string, string | string[] | undefined> }, name: string) => {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
};

/** Sends one request through Tenet and checks it ended as the scenario says; the latency is to the last byte. */
async function ask(pool: Pool, s: LoopScenario, marker: string, what: string): Promise<Answer> {
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `${marker} ${claim}` }],
  });
  const t0 = performance.now();
  const res = await pool.request({
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${clientKey}` },
    body,
  });
  const text = await res.body.text();
  const ms = performance.now() - t0;
  const verdict = header(res, 'x-tenet-verdict');
  const content = (() => {
    try {
      return (JSON.parse(text) as { choices?: { message?: { content?: string } }[] }).choices?.[0]?.message
        ?.content;
    } catch {
      return undefined;
    }
  })();
  if (res.statusCode !== 200 || verdict !== s.verdict || content !== s.answer) {
    throw new Error(
      `loop scenario "${s.name}", ${what}: expected 200 with x-tenet-verdict "${s.verdict}" and the ` +
        `answer "${s.answer}", got ${res.statusCode} verdict "${verdict}" ` +
        `(violations "${header(res, 'x-tenet-violations')}", critic error ` +
        `"${header(res, 'x-tenet-critic-error')}"): ${text.slice(0, 300)}`,
    );
  }
  return { marker, ms, verdict, criticTokens: Number(header(res, 'x-tenet-critic-tokens')) };
}

/** `count` requests over `connections` keep-alive connections, each with its own scripted replies. */
async function run(
  pool: Pool,
  scenario: Scenario,
  s: LoopScenario,
  count: number,
  connections: number,
  phase: 'warm-up' | 'measured',
  delays = delaysMs,
): Promise<Answer[]> {
  const marks = Array.from({ length: count }, () => nextMarker(s));
  await scenario.script(marks.flatMap((m) => s.replies(m, delays)));
  const answers: Answer[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      answers.push(
        await ask(pool, s, marks[i]!, `${phase} request ${i + 1}/${count} at ${connections} conns`),
      );
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return answers;
}

const isCritic = (r: RecordedRequest) => r.body.includes('"tenet_critique"');

/** Characters of the messages' content, at 4 a token (the scripted critic's usage is fixed, not measured). */
function promptTokens(r: RecordedRequest): number {
  const messages = (r.json as { messages?: { content?: unknown }[] } | undefined)?.messages ?? [];
  const chars = messages.reduce((n, m) => n + (typeof m.content === 'string' ? m.content.length : 0), 0);
  return Math.ceil(chars / 4);
}

/** Replays one request's upstream calls, bodies as Tenet sent them, from the bench: the model time alone. */
async function replayModelMs(
  upstreamUrl: string,
  s: LoopScenario,
  calls: RecordedRequest[],
  times: number,
): Promise<number> {
  const marker = markerPattern.exec(calls[0]?.body ?? '')?.[0];
  if (marker === undefined || calls.length === 0)
    throw new Error(`loop scenario "${s.name}": nothing to replay`);
  const scenario = await createScenario(upstreamUrl);
  const prefix = new URL(scenario.baseURL).pathname.replace(/\/v1$/, '');
  const pool = new Pool(upstreamUrl, { connections: 1, headersTimeout: 15_000, bodyTimeout: 15_000 });
  const sums: number[] = [];
  try {
    for (let k = 0; k <= times; k++) {
      await scenario.script(s.replies(marker));
      let sum = 0;
      for (const call of calls) {
        const t0 = performance.now();
        const res = await pool.request({
          path: prefix + call.path,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${upstreamKey}` },
          body: call.body,
        });
        await res.body.arrayBuffer();
        sum += performance.now() - t0;
      }
      if (k > 0) sums.push(sum); // the first replay opens the connection
      await scenario.reset();
    }
  } finally {
    await pool.destroy();
  }
  return percentile(sums, 50);
}

/** What each target (the loop floor, then Tenet) did with one scenario at one connection count. */
interface TargetRun {
  answers: Answer[];
  cpuMs: number;
  recorded: RecordedRequest[];
  byMarker: Map<string, RecordedRequest[]>;
}

async function measureTarget(
  target: ProxyTarget,
  scenario: Scenario,
  s: LoopScenario,
  n: number,
  connections: number,
  quick: boolean,
): Promise<TargetRun> {
  const pool = new Pool(target.url, { connections, headersTimeout: 15_000, bodyTimeout: 15_000 });
  try {
    await run(pool, scenario, s, connections * (quick ? 1 : 2), connections, 'warm-up');
    await scenario.reset();
    const cpu0 = cpuMsOf(target.workers());
    const answers = await run(pool, scenario, s, n, connections, 'measured');
    const cpuMs = cpuMsOf(target.workers()) - cpu0;
    const recorded = await scenario.requests();
    const byMarker = new Map<string, RecordedRequest[]>();
    for (const r of recorded) {
      const m = markerPattern.exec(r.body)?.[0] ?? '(none)';
      byMarker.set(m, [...(byMarker.get(m) ?? []), r]);
    }
    await scenario.reset();
    return { answers, cpuMs, recorded, byMarker };
  } finally {
    await pool.destroy();
  }
}

const noDelay = { draft: 0, critic: 0, revision: 0 };

/** Warm-up rounds (every scenario, `perScenario` requests each) until the CPU per request settles. */
async function warmUp(
  target: ProxyTarget,
  scenario: Scenario,
  opts: { quick: boolean; log: (line: string) => void },
): Promise<void> {
  const perScenario = opts.quick ? 16 : 250;
  const [minRounds, maxRounds] = opts.quick ? [1, 1] : [2, 12];
  const pool = new Pool(target.url, { connections: 8, headersTimeout: 15_000, bodyTimeout: 15_000 });
  try {
    let last = Number.NaN;
    for (let round = 1; round <= maxRounds; round++) {
      const cpu0 = cpuMsOf(target.workers());
      for (const s of scenarios) {
        await run(pool, scenario, s, perScenario, 8, 'warm-up', noDelay);
        await scenario.reset();
      }
      const cpu = (cpuMsOf(target.workers()) - cpu0) / (perScenario * scenarios.length);
      opts.log(`loop: warming ${target.name} up, round ${round}: ${cpu.toFixed(2)} ms of CPU per request`);
      if (round >= minRounds && cpu > last * 0.9) return;
      last = cpu;
    }
  } finally {
    await pool.destroy();
  }
}

/** The constitution's action per critic-judged principle, for the loop floor. */
const floorActions = { 'no-sycophancy': 'revise', 'no-harm': 'block', tone: 'flag' };

/**
 * Measures every scenario at 1 and 4 connections through one Tenet on Node (constitution `judged`), and through
 * the loop floor: the same model calls with nothing else, so what the machine's hops cost is known apart from
 * what Tenet's own work costs.
 */
export async function runLoopBench(opts: {
  upstreamUrl: string;
  quick: boolean;
  log: (line: string) => void;
}): Promise<LoopReport> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const n = opts.quick ? 8 : 100;
  const replays = opts.quick ? 8 : 20;
  const scenario = await createScenario(opts.upstreamUrl);
  const dir = mkdtempSync(join(tmpdir(), 'tenet-bench-constitutions-'));
  let tenet: ProxyTarget | undefined;
  let floor: ProxyTarget | undefined;
  try {
    writeFileSync(join(dir, 'judged.yaml'), judged);
    [tenet, floor] = await Promise.all([
      startTenetNode(
        { upstreamUrl: scenario.baseURL, upstreamKey, clientKey },
        {
          TENET_CONSTITUTIONS_DIR: dir,
          TENET_CONSTITUTION: 'judged',
          TENET_CRITIC_MODEL: 'critic-model',
          // Every request pays its critic calls.
          TENET_VERDICT_CACHE_TTL_S: '0',
        },
      ),
      startLoopFloor(scenario.baseURL, floorActions, refusal),
    ]);
    // Warm both processes up first, every scenario, at 8 connections and with no scripted model delay: the figures
    // are a warm server's (as in production), not V8's first runs of each code path. Tenet's larger code keeps
    // tiering up for a few thousand requests (its CPU per request falls by half, the compiler threads busy all
    // along), so rounds go on until a round's CPU per request is within 10 % of the one before.
    for (const target of [tenet, floor]) await warmUp(target, scenario, opts);
    const figures: LoopFigures[] = [];
    for (const s of scenarios) {
      let modelMs = Number.NaN;
      for (const connections of connectionCounts) {
        // Tenet and the floor take turns, a quarter of the cell each time (each turn opening with the other): what
        // the machine does meanwhile (it is shared) falls on both alike, not on whichever ran second.
        const runs = new Map<ProxyTarget, TargetRun>();
        const slices = opts.quick ? 1 : 4;
        for (let slice = 0; slice < slices; slice++) {
          for (const target of slice % 2 === 0 ? [tenet, floor] : [floor, tenet]) {
            opts.log(
              `loop: ${s.name} at ${connections} conns on ${target.name}, slice ${slice + 1}/${slices}`,
            );
            const part = await measureTarget(target, scenario, s, n / slices, connections, opts.quick);
            const sofar = runs.get(target);
            if (!sofar) runs.set(target, part);
            else {
              sofar.answers.push(...part.answers);
              sofar.cpuMs += part.cpuMs;
              sofar.recorded.push(...part.recorded);
              for (const [m, calls] of part.byMarker) sofar.byMarker.set(m, calls);
            }
          }
        }
        for (const target of [tenet, floor]) {
          const { answers, cpuMs, recorded, byMarker } = runs.get(target)!;
          const perRequest = answers.map((a) => byMarker.get(a.marker)?.length ?? 0);
          if (Number.isNaN(modelMs)) {
            // Tenet's calls (it runs first), as it sent them.
            const calls = byMarker.get(answers[0]?.marker ?? '') ?? [];
            opts.log(
              `loop: ${s.name}: replaying its ${calls.length} upstream calls directly, ${replays} times`,
            );
            modelMs = await replayModelMs(opts.upstreamUrl, s, calls, replays);
          }
          const added = answers.map((a) => a.ms - modelMs);
          figures.push({
            target: target.name,
            scenario: s.name,
            connections,
            requests: answers.length,
            upstreamCallsPerRequest: recorded.length / answers.length,
            upstreamCallsRange: [Math.min(...perRequest), Math.max(...perRequest)],
            p50: percentile(
              answers.map((a) => a.ms),
              50,
            ),
            p95: percentile(
              answers.map((a) => a.ms),
              95,
            ),
            modelMsScripted: scriptedModelMs(s),
            modelMsMeasured: modelMs,
            addedP50: percentile([...added], 50),
            addedP95: percentile([...added], 95),
            cpuMsPerRequest: cpuMs / answers.length,
            criticTokensPerRequest: answers.reduce((t, a) => t + a.criticTokens, 0) / answers.length,
            criticPromptTokensEstimate:
              recorded.filter(isCritic).reduce((t, r) => t + promptTokens(r), 0) / answers.length,
            verdict: [...new Set(answers.map((a) => a.verdict))].join(','),
          });
        }
      }
    }
    return {
      delaysMs,
      constitution: 'judged',
      replaysPerScenario: replays,
      loadAverage: { before: loadBefore, after: loadavg()[0] ?? Number.NaN },
      figures,
    };
  } finally {
    await Promise.all([tenet?.stop(), floor?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
