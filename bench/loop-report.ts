// The loop section's figures (what each verdict costs) and their table.
import { type Check, num, table } from './report.ts';

export interface LoopFigures {
  /** `tenet-node`, or `loop-floor` (the same model calls, nothing else). */
  target: string;
  scenario: string;
  connections: number;
  requests: number;
  /** Upstream calls (model and critic) per request: the mean, and the fewest and most any request made. */
  upstreamCallsPerRequest: number;
  upstreamCallsRange: [number, number];
  p50: number;
  p95: number;
  /** The sum of the scripted delays of one request's calls. */
  modelMsScripted: number;
  /** The same calls (Tenet's recorded bodies) replayed directly from the bench, summed: p50 over the replays. */
  modelMsMeasured: number;
  /** End-to-end minus the measured model time: what Tenet itself adds. */
  addedP50: number;
  addedP95: number;
  /** CPU time of the tenet-node process over the measured requests, per request (its after-response work too). */
  cpuMsPerRequest: number;
  criticTokensPerRequest: number;
  /** What Tenet sent the critic per request, in tokens at 4 characters a token. */
  criticPromptTokensEstimate: number;
  verdict: string;
}

export interface LoopReport {
  /** The scripted model's latency per call. */
  delaysMs: { draft: number; critic: number; revision: number };
  constitution: string;
  replaysPerScenario: number;
  /** The machine's 1-minute load average when the section started and ended (figures from a busy machine vary). */
  loadAverage: { before: number; after: number };
  figures: LoopFigures[];
}

/**
 * Issue 15's targets for the loop: p50 added beyond the model calls, for clean and one-revision answers. They are
 * checked on what Tenet adds beyond the loop floor (the same model calls with no work in between): the floor
 * shows what the machine's hops between processes cost any loop, which no code in Tenet can take away.
 */
export const loopTargets = [
  { scenario: 'clean', connections: 1, maxAddedMs: 1.5 },
  { scenario: 'clean', connections: 4, maxAddedMs: 3 },
  { scenario: 'revised', connections: 1, maxAddedMs: 1.5 },
  { scenario: 'revised', connections: 4, maxAddedMs: 3 },
];

const addedOf = (report: LoopReport, target: string, scenario: string, connections: number) =>
  report.figures.find((f) => f.target === target && f.scenario === scenario && f.connections === connections)
    ?.addedP50 ?? Number.NaN;

export function loopChecks(report: LoopReport): (Check & { tenet: number; floor: number })[] {
  return loopTargets.map((t) => {
    const tenet = addedOf(report, 'tenet-node', t.scenario, t.connections);
    const floor = addedOf(report, 'loop-floor', t.scenario, t.connections);
    const value = tenet - floor;
    return {
      name: `own added p50, ${t.scenario}, ${t.connections} conn${t.connections === 1 ? '' : 's'}`,
      value,
      tenet,
      floor,
      limit: `<= ${t.maxAddedMs} ms`,
      pass: value <= t.maxAddedMs,
    };
  });
}

export function formatLoopReport(report: LoopReport): string {
  const d = report.delaysMs;
  const range = (f: LoopFigures) =>
    f.upstreamCallsRange[0] === f.upstreamCallsRange[1]
      ? num(f.upstreamCallsPerRequest, 1)
      : `${num(f.upstreamCallsPerRequest, 1)} (${f.upstreamCallsRange[0]}-${f.upstreamCallsRange[1]})`;
  const scripted = [...new Map(report.figures.map((f) => [f.scenario, f.modelMsScripted]))]
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');
  return [
    `loop cost on tenet-node and the loop floor (bench/loop-floor.ts) (constitution "${report.constitution}": 3 critic-judged principles + 1 ` +
      'deterministic; verdict cache off)',
    `scripted model latency per call: draft ${d.draft} ms, critic ${d.critic} ms, revision ${d.revision} ms ` +
      '(clean, flagged, blocked: draft + critic; revised: draft + critic + revision + critic)',
    '',
    table(
      [
        'target',
        'scenario',
        'conns',
        'reqs',
        'calls/req',
        'p50 ms',
        'p95 ms',
        'model ms',
        'added p50',
        'added p95',
        'cpu ms/req',
        'critic tok/req',
        'critic prompt≈',
        'verdict',
      ],
      report.figures.map((f) => [
        f.target,
        f.scenario,
        String(f.connections),
        String(f.requests),
        range(f),
        num(f.p50, 1),
        num(f.p95, 1),
        num(f.modelMsMeasured, 1),
        num(f.addedP50, 1),
        num(f.addedP95, 1),
        num(f.cpuMsPerRequest, 2),
        num(f.criticTokensPerRequest, 0),
        num(f.criticPromptTokensEstimate, 0),
        f.verdict,
      ]),
      1,
    ),
    "(model ms: one request's upstream calls, bodies as Tenet sent them, replayed directly from the bench,",
    ` p50 of ${report.replaysPerScenario} replays; the scripted delays alone sum to ${scripted} ms.`,
    ' added = end-to-end - model ms. critic tok/req: x-tenet-critic-tokens (the scripted critic reports',
    ' 340 per call); critic prompt≈: what Tenet sent the critic per request, at 4 characters a token;',
    ' cpu ms/req: the tenet-node process over the measured requests, its after-response work included)',
    `load average (1 min): ${num(report.loadAverage.before, 2)} at the start, ${num(report.loadAverage.after, 2)} ` +
      'at the end (the client and scripted upstream share the machine)',
    '',
    "targets for the loop: Tenet's own added p50 (tenet-node's added p50 minus the loop floor's: the floor makes",
    ' the same model calls with no work in between, so its added time is what the hops between processes cost',
    ' any loop on this machine):',
    ...loopChecks(report).map(
      (c) =>
        `  ${c.pass ? 'PASS' : 'MISS'}  ${c.name.padEnd(32)} ${num(c.value, 2)} ms  ` +
        `(tenet ${num(c.tenet, 2)} - floor ${num(c.floor, 2)}; target ${c.limit})`,
    ),
  ].join('\n');
}
