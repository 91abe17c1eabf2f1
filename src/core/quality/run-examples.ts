// Runs every example of some constitutions k times each, a few at a time, and scores the results.
import type { Constitution } from '../constitution/schema.ts';
import type { LoopDeps } from '../loop.ts';
import { casesOf, type ExampleRun, judgeExample } from './judge-example.ts';
import { type PrincipleResult, scoreExample, scorePrinciple, type Totals, totalsOf } from './metrics.ts';

export interface SuiteTarget {
  constitution: Constitution;
  /** Where it was read from, for the report. */
  file: string;
  criticModel: string;
  deps: LoopDeps;
}

export interface SuiteResult {
  name: string;
  /** `name@hash`, as the proxy shows it. */
  version: string;
  file: string;
  criticModel: string;
  totals: Totals;
  principles: PrincipleResult[];
}

/** Runs `jobs` with at most `limit` in flight, keeping their order in the results. */
export async function inPool<T>(jobs: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  return results;
}

/** Every example of every target, `runs` times, `concurrency` judgements in flight at once. */
export async function runExamples(
  targets: readonly SuiteTarget[],
  options: { runs: number; concurrency: number },
): Promise<SuiteResult[]> {
  const plans = targets.map((t) => ({ target: t, principles: casesOf(t.constitution) }));
  const jobs: Array<() => Promise<ExampleRun>> = [];
  const slots = plans.map((plan) =>
    plan.principles.map((p) =>
      p.cases.map((c) => {
        if (c.skip !== undefined) return [] as number[];
        return Array.from({ length: options.runs }, () => {
          jobs.push(() => judgeExample(plan.target.constitution, c, plan.target.deps));
          return jobs.length - 1;
        });
      }),
    ),
  );
  const runs = await inPool(jobs, options.concurrency);
  return plans.map((plan, t) => {
    const principles = plan.principles.map((p, i) =>
      scorePrinciple(
        p,
        p.cases.map((c, j) =>
          scoreExample(
            c,
            (slots[t]?.[i]?.[j] ?? []).map((n) => runs[n] as ExampleRun),
          ),
        ),
      ),
    );
    const { constitution } = plan.target;
    return {
      name: constitution.name,
      version: `${constitution.name}@${constitution.hash}`,
      file: plan.target.file,
      criticModel: plan.target.criticModel,
      totals: totalsOf(principles),
      principles,
    };
  });
}
