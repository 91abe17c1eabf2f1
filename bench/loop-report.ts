// The loop section's figures (what each verdict costs) and their table.
import { num, table } from './report.ts';

export interface LoopFigures {
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
  figures: LoopFigures[];
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
    `loop cost on tenet-node (constitution "${report.constitution}": 3 critic-judged principles + 1 ` +
      'deterministic; verdict cache off)',
    `scripted model latency per call: draft ${d.draft} ms, critic ${d.critic} ms, revision ${d.revision} ms ` +
      '(clean, flagged, blocked: draft + critic; revised: draft + critic + revision + critic)',
    '',
    table(
      [
        'scenario',
        'conns',
        'reqs',
        'calls/req',
        'p50 ms',
        'p95 ms',
        'model ms',
        'added p50',
        'added p95',
        'critic tok/req',
        'critic prompt≈',
        'verdict',
      ],
      report.figures.map((f) => [
        f.scenario,
        String(f.connections),
        String(f.requests),
        range(f),
        num(f.p50, 1),
        num(f.p95, 1),
        num(f.modelMsMeasured, 1),
        num(f.addedP50, 1),
        num(f.addedP95, 1),
        num(f.criticTokensPerRequest, 0),
        num(f.criticPromptTokensEstimate, 0),
        f.verdict,
      ]),
      1,
    ),
    "(model ms: one request's upstream calls, bodies as Tenet sent them, replayed directly from the bench,",
    ` p50 of ${report.replaysPerScenario} replays; the scripted delays alone sum to ${scripted} ms.`,
    ' added = end-to-end - model ms. critic tok/req: x-tenet-critic-tokens (the scripted critic reports',
    ' 340 per call); critic prompt≈: what Tenet sent the critic per request, at 4 characters a token)',
  ].join('\n');
}
