// `tenet test`'s scoring: an example's runs to a majority outcome, and a principle's examples to precision and recall.
import type { Stage } from '../constitution/schema.ts';
import type { ExampleCase, ExampleRun, PrincipleCases, PrincipleStatus } from './judge-example.ts';

/** The majority of an example's runs: violated or clean when more than half agree, else undecided. */
export type Prediction = 'violated' | 'clean' | 'undecided';

export interface ExampleResult {
  principle: string;
  index: number;
  /** `principle-id: example #n`: the test's name (JUnit testcase, table rows). */
  name: string;
  stage: Stage;
  user: string;
  response?: string;
  note?: string;
  /** The example's label (`violates`). */
  expected: boolean;
  /** Not run, and why (counted as skipped, neither passed nor failed). */
  skipped?: string;
  predicted: Prediction | null;
  passed: boolean;
  /** Runs that matched the label. The example passes when this is a strict majority of the runs. */
  correctRuns: number;
  /** Share of the runs giving the most common outcome (1 = every run agreed). */
  agreement: number;
  runs: ExampleRun[];
  criticTokens: number;
  criticMs: number;
}

/**
 * Over a principle's judged examples (skipped ones aside), with the majority prediction:
 * TP = labelled violating and flagged, FP = labelled clean but flagged, TN = labelled clean and not flagged,
 * FN = labelled violating and not flagged; undecided (critic errors, no majority) are in none of the four.
 */
export interface PrincipleResult {
  id: string;
  stage: Stage;
  status: PrincipleStatus;
  examples: number;
  passed: number;
  failed: number;
  skipped: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  undecided: number;
  /** TP / (TP + FP); null when nothing was flagged. */
  precision: number | null;
  /** TP / (TP + FN); null when no violating example was decided. */
  recall: number | null;
  /** FP / (FP + TN); null when no clean example was decided. */
  falsePositiveRate: number | null;
  criticTokens: number;
  criticMs: number;
  results: ExampleResult[];
}

export interface Totals {
  principles: number;
  tested: number;
  untested: number;
  disabled: number;
  examples: number;
  passed: number;
  failed: number;
  skipped: number;
  criticTokens: number;
  criticMs: number;
}

/** Scores one example from its runs (none when it was skipped). */
export function scoreExample(c: ExampleCase, runs: readonly ExampleRun[]): ExampleResult {
  const base = {
    principle: c.principle,
    index: c.index,
    name: `${c.principle}: example #${c.index}`,
    stage: c.stage,
    user: c.example.user,
    ...(c.example.response !== undefined ? { response: c.example.response } : {}),
    ...(c.example.note !== undefined ? { note: c.example.note } : {}),
    expected: c.example.violates,
    runs: [...runs],
    criticTokens: runs.reduce((s, r) => s + r.criticTokens, 0),
    criticMs: runs.reduce((s, r) => s + r.criticMs, 0),
  };
  if (c.skip !== undefined) {
    return { ...base, skipped: c.skip, predicted: null, passed: false, correctRuns: 0, agreement: 0 };
  }
  const count = { violated: 0, clean: 0, error: 0 };
  for (const r of runs) count[r.outcome]++;
  const k = runs.length;
  const predicted: Prediction =
    count.violated * 2 > k ? 'violated' : count.clean * 2 > k ? 'clean' : 'undecided';
  const correctRuns = c.example.violates ? count.violated : count.clean;
  return {
    ...base,
    predicted,
    passed: k > 0 && correctRuns * 2 > k,
    correctRuns,
    agreement: k > 0 ? Math.max(count.violated, count.clean, count.error) / k : 0,
  };
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** Scores a principle from its scored examples. */
export function scorePrinciple(p: PrincipleCases, results: readonly ExampleResult[]): PrincipleResult {
  const judged = results.filter((r) => r.skipped === undefined);
  const n = (test: (r: ExampleResult) => boolean) => judged.filter(test).length;
  const tp = n((r) => r.expected && r.predicted === 'violated');
  const fp = n((r) => !r.expected && r.predicted === 'violated');
  const tn = n((r) => !r.expected && r.predicted === 'clean');
  const fn = n((r) => r.expected && r.predicted === 'clean');
  return {
    id: p.id,
    stage: p.stage,
    status: p.status,
    examples: results.length,
    passed: n((r) => r.passed),
    failed: n((r) => !r.passed),
    skipped: results.length - judged.length,
    tp,
    fp,
    tn,
    fn,
    undecided: n((r) => r.predicted === 'undecided'),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    falsePositiveRate: ratio(fp, fp + tn),
    criticTokens: results.reduce((s, r) => s + r.criticTokens, 0),
    criticMs: results.reduce((s, r) => s + r.criticMs, 0),
    results: [...results],
  };
}

export function totalsOf(principles: readonly PrincipleResult[]): Totals {
  const sum = (f: (p: PrincipleResult) => number) => principles.reduce((s, p) => s + f(p), 0);
  return {
    principles: principles.length,
    tested: principles.filter((p) => p.status === 'tested').length,
    untested: principles.filter((p) => p.status === 'untested').length,
    disabled: principles.filter((p) => p.status === 'disabled').length,
    examples: sum((p) => p.examples),
    passed: sum((p) => p.passed),
    failed: sum((p) => p.failed),
    skipped: sum((p) => p.skipped),
    criticTokens: sum((p) => p.criticTokens),
    criticMs: sum((p) => p.criticMs),
  };
}

/** Adds totals together (a run's totals over its constitutions). */
export function addTotals(all: readonly Totals[]): Totals {
  const zero: Totals = {
    principles: 0,
    tested: 0,
    untested: 0,
    disabled: 0,
    examples: 0,
    passed: 0,
    failed: 0,
    skipped: 0,
    criticTokens: 0,
    criticMs: 0,
  };
  return all.reduce(
    (a, t) =>
      Object.fromEntries(
        Object.keys(a).map((k) => [k, a[k as keyof Totals] + t[k as keyof Totals]]),
      ) as unknown as Totals,
    zero,
  );
}
