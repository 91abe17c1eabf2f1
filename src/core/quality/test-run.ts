// A `tenet test` run as a running Tenet keeps it: one constitution's report entry (zod-checked), and its summary.
import { z } from 'zod';
import { stages } from '../constitution/schema.ts';

const count = z.number().int().min(0).max(1e12);
const ms = z.number().min(0).max(1e12);
const rate = z.number().min(0).max(1).nullable();
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const id = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

// Objects strip keys they do not know: a newer `tenet test` may add fields, an older server still keeps the run.
const exampleRun = z.object({
  outcome: z.enum(['violated', 'clean', 'error']),
  source: z.enum(['rule', 'critic']).optional(),
  evidence: text(20_000).optional(),
  critique: text(20_000).optional(),
  fault: z.object({ code: text(100), message: text(2_000) }).optional(),
  others: z.array(id).max(1_000).default([]),
  note: text(2_000).optional(),
  criticTokens: count,
  criticCalls: count.optional(),
  criticMs: ms,
});

const exampleResult = z.object({
  principle: id,
  index: count,
  name: text(500),
  stage: z.enum(stages),
  user: text(100_000),
  response: text(100_000).optional(),
  note: text(2_000).optional(),
  expected: z.boolean(),
  skipped: text(2_000).optional(),
  predicted: z.enum(['violated', 'clean', 'undecided']).nullable(),
  passed: z.boolean(),
  correctRuns: count,
  agreement: z.number().min(0).max(1),
  runs: z.array(exampleRun).max(101),
  criticTokens: count,
  criticMs: ms,
});

const principleResult = z.object({
  id,
  stage: z.enum(stages),
  status: z.enum(['tested', 'untested', 'disabled']),
  examples: count,
  passed: count,
  failed: count,
  skipped: count,
  tp: count,
  fp: count,
  tn: count,
  fn: count,
  undecided: count,
  precision: rate,
  recall: rate,
  falsePositiveRate: rate,
  criticTokens: count,
  criticMs: ms,
  results: z.array(exampleResult).max(10_000),
});

const totals = z.object({
  principles: count,
  tested: count,
  untested: count,
  disabled: count,
  examples: count,
  passed: count,
  failed: count,
  skipped: count,
  criticTokens: count,
  criticMs: ms,
});

/** What `tenet test --report` posts: one constitution of the `--json` report, with the run's settings. */
export const testRunBody = z
  .object({
    name: id,
    version: z
      .string()
      .max(300)
      .regex(/^[^@\s]+@[0-9a-f]{6,64}$/, 'must be name@hash, as `tenet test` reports it'),
    file: text(1_000).default(''),
    criticModel: id,
    startedAt: z.iso.datetime({ offset: true }),
    durationMs: ms.optional(),
    runs: z.number().int().min(1).max(101),
    totals,
    principles: z.array(principleResult).max(1_000),
  })
  .refine((run) => run.version.startsWith(`${run.name}@`), {
    message: 'must start with the constitution name and "@"',
    path: ['version'],
  });

export type TestRunBody = z.infer<typeof testRunBody>;

/** A stored run: the posted entry, when it arrived, and whether every example passed. */
export interface TestRun extends TestRunBody {
  id: string;
  /** When the run was recorded (ms since the epoch). */
  time: number;
  ok: boolean;
}

export interface TestRunSummary {
  id: string;
  time: number;
  constitution: string;
  /** `name@hash` of the version the examples ran against. */
  version: string;
  ok: boolean;
  startedAt: string;
  runs: number;
  criticModel: string;
  totals: TestRunBody['totals'];
  principles: Array<{
    id: string;
    status: TestRunBody['principles'][number]['status'];
    examples: number;
    passed: number;
    failed: number;
    precision: number | null;
    recall: number | null;
    falsePositiveRate: number | null;
  }>;
}

/** The hash part of `name@hash`. */
export const hashOf = (version: string) => version.slice(version.lastIndexOf('@') + 1);
/** The constitution name of a `name@hash` version ('' for a bare hash). */
export const nameOf = (version: string) => version.slice(0, Math.max(0, version.lastIndexOf('@')));

export function summarizeTestRun(run: TestRun): TestRunSummary {
  return {
    id: run.id,
    time: run.time,
    constitution: run.name,
    version: run.version,
    ok: run.ok,
    startedAt: run.startedAt,
    runs: run.runs,
    criticModel: run.criticModel,
    totals: run.totals,
    principles: run.principles.map((p) => ({
      id: p.id,
      status: p.status,
      examples: p.examples,
      passed: p.passed,
      failed: p.failed,
      precision: p.precision,
      recall: p.recall,
      falsePositiveRate: p.falsePositiveRate,
    })),
  };
}
