// Plain-text tables for the CLI: violations one per line, and the stats a policy owner reads.
import type { Stats, ViolationRow } from '../core/log-store.ts';

/** `2025-01-31 12:00:05Z`: sortable, and the same on every machine. */
export const timeOf = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;

/** One line, control characters and runs of whitespace shown as a single space, cut to `max` with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

function table(
  rows: string[][],
  header: string[] | undefined,
  rightAligned: ReadonlySet<number> = new Set(),
) {
  const all = header ? [header, ...rows] : rows;
  const widths = (header ?? rows[0] ?? []).map((_, col) =>
    Math.max(...all.map((r) => (r[col] ?? '').length)),
  );
  return all
    .map((r) =>
      r
        .map((cell, col) => {
          const w = widths[col] ?? 0;
          if (col === r.length - 1 && !rightAligned.has(col)) return cell;
          return rightAligned.has(col) ? cell.padStart(w) : cell.padEnd(w);
        })
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

const violationHeader = [
  'TIME',
  'REQUEST',
  'CHOICE',
  'ROUND',
  'PRINCIPLE',
  'SEVERITY',
  'ACTION',
  'SOURCE',
  'VERDICT',
  'EVIDENCE',
];

/** Fixed column widths, so lines printed later by `--follow` line up with the first ones. */
const fixed = [20, 36, 6, 5, 24, 8, 6, 6, 7];

/** Which answer a violation is about: `input`, or the choice (n > 1 has several) — rows differ by it and the round. */
const choiceOf = (v: ViolationRow) => (v.stage === 'input' ? 'input' : String(v.choice));

/** Violations as aligned lines; the evidence (or the critique, when none was logged) fills what is left of `width`. */
export function renderViolations(
  rows: ViolationRow[],
  options: { header: boolean; width?: number | undefined },
) {
  const used = fixed.reduce((a, w) => a + w + 2, 0);
  const room = Math.max(30, (options.width ?? 176) - used);
  const lines = rows.map((v) => {
    const cells = [
      timeOf(v.time),
      v.requestId,
      choiceOf(v),
      String(v.round),
      v.principle,
      v.severity,
      v.action,
      v.source,
      v.verdict,
    ].map((cell, col) => oneLine(cell, fixed[col] ?? 20).padEnd(fixed[col] ?? 20));
    const evidence = v.evidence !== null ? `"${oneLine(v.evidence, room - 2)}"` : oneLine(v.critique, room);
    return `${[...cells, evidence].join('  ').trimEnd()}\n`;
  });
  const header = violationHeader
    .map((h, col) => (col < fixed.length ? h.padEnd(fixed[col] ?? 0) : h))
    .join('  ');
  return `${options.header ? `${header}\n` : ''}${lines.join('')}`;
}

const pct = (share: number | null) => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);
const num = (n: number | null, digits = 0) => (n === null ? '-' : n.toFixed(digits));

/** The series is shown for this many buckets at most: a terminal, not a chart. */
const maxBuckets = 30;

export function renderStats(stats: Stats, bucket: string): string {
  const out: string[] = [];
  const { verdicts } = stats;
  const share = (n: number) => (stats.requests > 0 ? ` (${pct(n / stats.requests)})` : '');
  out.push(
    `Requests: ${stats.requests} — pass ${verdicts.pass}${share(verdicts.pass)}, revised ${verdicts.revised}${share(verdicts.revised)}, flagged ${verdicts.flagged}${share(verdicts.flagged)}, blocked ${verdicts.blocked}${share(verdicts.blocked)}, error ${verdicts.error}${share(verdicts.error)}\n`,
  );
  out.push(
    `Revision success: ${pct(stats.revisionSuccessRate)}   Critic errors: ${pct(stats.criticErrorRate)}   Latency p50 ${num(stats.latency.p50)} ms, p95 ${num(stats.latency.p95)} ms\n`,
  );
  out.push(
    `Tokens: model ${stats.tokens.model}, critic ${stats.tokens.critic} (per request: model ${num(stats.tokens.perRequest.model, 1)}, critic ${num(stats.tokens.perRequest.critic, 1)})\n\n`,
  );
  if (stats.principles.length === 0) {
    out.push('No violations.\n');
  } else {
    const rows = stats.principles.map((p) => [
      p.principle,
      String(p.violations),
      String(p.confirmed),
      String(p.falsePositive),
      String(p.unreviewed),
      p.precision === null ? '-' : pct(p.precision),
    ]);
    out.push(
      table(
        rows,
        ['PRINCIPLE', 'VIOLATIONS', 'CONFIRMED', 'FALSE POS.', 'UNREVIEWED', 'PRECISION'],
        new Set([1, 2, 3, 4, 5]),
      ),
    );
  }
  if (stats.series.length > 0) {
    const byBucket = new Map<number, string[]>();
    for (const s of stats.series) {
      const list = byBucket.get(s.bucket) ?? [];
      list.push(`${s.principle} ${s.count}`);
      byBucket.set(s.bucket, list);
    }
    const label = (ms: number) => (bucket === 'hour' ? timeOf(ms).slice(0, 16) : timeOf(ms).slice(0, 10));
    const rows = [...byBucket].map(([b, list]) => [label(b), list.join(', ')]);
    const hidden = Math.max(0, rows.length - maxBuckets);
    out.push(`\nViolations per ${bucket}${hidden > 0 ? ` (latest ${maxBuckets}; --json for all)` : ''}:\n`);
    out.push(table(rows.slice(hidden), undefined));
  }
  return out.join('');
}
