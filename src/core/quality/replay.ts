// `tenet replay`'s logic: a logged prompt and draft judged under a candidate constitution, and what changed.
import type { Constitution } from '../constitution/schema.ts';
import { textDraft } from '../exchange/conversation.ts';
import { worse } from '../exchange/enforce.ts';
import { judgeExchange } from '../exchange/judge.ts';
import type { LoopDeps, StageResult } from '../loop.ts';
import { principlesFor, type Verdict } from '../verdict.ts';

/** The parts of a log record replay reads (the admin API's `record`). */
export interface LoggedRequest {
  id: string;
  verdict: string;
  model: string;
  content: 'full' | 'redacted' | 'none';
  prompt: string | null;
  draft: string | null;
  violations: ReadonlyArray<{ stage: string; choice: number; round: number; principle: string }>;
}

export interface ReplayedRequest {
  id: string;
  /** Not judged, and why (no content stored, no draft logged). */
  skipped?: 'content_not_stored' | 'no_draft';
  oldVerdict: string;
  /**
   * The verdict under the candidate. Without revisions, `revised` means a `revise` principle is broken and the
   * proxy would revise (whether the revision passes is what `--revise` finds out).
   */
  newVerdict?: Verdict;
  /** Principles the logged draft (and input) broke, as logged: the first choice's draft round and the input. */
  oldPrinciples: string[];
  /** Principles the candidate finds broken in the same texts. */
  newPrinciples: string[];
  criticFault?: string;
  criticTokens: number;
  revisionTokens: number;
}

/** The principles a logged request broke before any revision: the input's, and the first choice's draft's. */
export function loggedPrinciples(record: LoggedRequest): string[] {
  const ids = record.violations
    .filter((v) => v.stage === 'input' || (v.choice === 0 && v.round === 0))
    .map((v) => v.principle);
  return [...new Set(ids)].sort();
}

const idsOf = (result: StageResult | undefined) =>
  result?.rounds[0]?.violations.map((v) => v.principle) ?? [];

/** The verdict of a judged draft when no revision is made: what the proxy would decide, or start to do. */
function unrevisedVerdict(result: StageResult): Verdict {
  if (result.criticFault) return result.verdict;
  const violations = result.rounds[0]?.violations ?? [];
  if (violations.some((v) => v.action === 'block')) return 'blocked';
  if (violations.some((v) => v.action === 'revise')) return 'revised';
  return violations.length > 0 ? 'flagged' : 'pass';
}

/**
 * Judges a logged request under `candidate` as the proxy would have: its prompt against the input principles,
 * its draft against the output principles (with the prompt as the conversation). With `revise`, the draft goes
 * through the whole loop (revisions by `deps.revise`); without, it is judged once.
 */
export async function replayRequest(
  candidate: Constitution,
  record: LoggedRequest,
  deps: LoopDeps,
  options: { revise: boolean },
): Promise<ReplayedRequest> {
  const base = {
    id: record.id,
    oldVerdict: record.verdict,
    oldPrinciples: loggedPrinciples(record),
    newPrinciples: [] as string[],
    criticTokens: 0,
    revisionTokens: 0,
  };
  if (record.content === 'none' || record.prompt === null) return { ...base, skipped: 'content_not_stored' };

  // The proxy's own exchange, with the logged draft standing in for the upstream: `audit` judges it once.
  const judged = await judgeExchange(
    {
      constitution: candidate,
      conversation: { turns: [{ role: 'user', text: record.prompt }] },
      mode: options.revise ? 'enforce' : 'audit',
    },
    { input: deps, output: deps },
    async () => (record.draft === null ? undefined : textDraft(record.draft)),
  );
  const input = principlesFor(candidate, 'input').length > 0 ? judged.input : undefined;
  const inputPart = {
    newPrinciples: [...new Set(idsOf(input))].sort(),
    criticTokens: input?.criticTokens ?? 0,
    ...(input?.criticFault ? { criticFault: input.criticFault.code } : {}),
  };
  if (input?.verdict === 'blocked') return { ...base, ...inputPart, newVerdict: 'blocked' };
  if (record.draft === null) return { ...base, ...inputPart, skipped: 'no_draft' };

  const output = judged.output?.choices[0]?.result;
  if (!output) return { ...base, ...inputPart, newVerdict: input?.verdict ?? 'pass' };
  const outputVerdict = options.revise ? output.verdict : unrevisedVerdict(output);
  const fault = inputPart.criticFault ?? output.criticFault?.code;
  return {
    ...base,
    newVerdict: input ? worse(input.verdict, outputVerdict) : outputVerdict,
    newPrinciples: [...new Set([...idsOf(input), ...idsOf(output)])].sort(),
    ...(fault ? { criticFault: fault } : {}),
    criticTokens: inputPart.criticTokens + output.criticTokens,
    revisionTokens: output.revisionUsage.total_tokens,
  };
}

/** How many request ids each change keeps as examples. */
export const exampleIds = 5;

export interface PrincipleChange {
  principle: string;
  /** Broken under the candidate, not in the log. */
  newViolations: number;
  /** Broken in the log, not under the candidate. */
  resolved: number;
  /** Broken in both. */
  unchanged: number;
  newExamples: string[];
  resolvedExamples: string[];
}

export interface VerdictChange {
  from: string;
  to: string;
  count: number;
  examples: string[];
}

export interface ReplaySummary {
  judged: number;
  skipped: { content_not_stored: number; no_draft: number };
  principles: PrincipleChange[];
  /** Only the verdicts that changed, most frequent first. */
  verdictChanges: VerdictChange[];
  verdictsUnchanged: number;
  criticFaults: number;
  criticTokens: number;
  revisionTokens: number;
}

/** Sums replayed requests up: per principle new / resolved / unchanged, and the verdict changes. */
export function summarizeReplay(results: readonly ReplayedRequest[], candidate: Constitution): ReplaySummary {
  const judged = results.filter((r) => r.newVerdict !== undefined);
  const order = [
    ...candidate.principles.map((p) => p.id),
    ...judged.flatMap((r) => [...r.oldPrinciples, ...r.newPrinciples]),
  ];
  const principles = new Map<string, PrincipleChange>();
  for (const id of order) {
    if (!principles.has(id)) {
      principles.set(id, {
        principle: id,
        newViolations: 0,
        resolved: 0,
        unchanged: 0,
        newExamples: [],
        resolvedExamples: [],
      });
    }
  }
  const changes = new Map<string, VerdictChange>();
  let verdictsUnchanged = 0;
  for (const r of judged) {
    // A request whose input the candidate blocks never gets a draft: its logged draft violations are resolved.
    const oldSet = new Set(r.oldPrinciples);
    const newSet = new Set(r.newPrinciples);
    for (const p of principles.values()) {
      const was = oldSet.has(p.principle);
      const is = newSet.has(p.principle);
      if (was && is) p.unchanged++;
      else if (is) {
        p.newViolations++;
        if (p.newExamples.length < exampleIds) p.newExamples.push(r.id);
      } else if (was) {
        p.resolved++;
        if (p.resolvedExamples.length < exampleIds) p.resolvedExamples.push(r.id);
      }
    }
    const to = r.newVerdict ?? 'pass';
    if (to === r.oldVerdict) {
      verdictsUnchanged++;
      continue;
    }
    const key = `${r.oldVerdict}→${to}`;
    const change = changes.get(key) ?? { from: r.oldVerdict, to, count: 0, examples: [] };
    change.count++;
    if (change.examples.length < exampleIds) change.examples.push(r.id);
    changes.set(key, change);
  }
  return {
    judged: judged.length,
    skipped: {
      content_not_stored: results.filter((r) => r.skipped === 'content_not_stored').length,
      no_draft: results.filter((r) => r.skipped === 'no_draft').length,
    },
    principles: [...principles.values()],
    verdictChanges: [...changes.values()].sort((a, b) => b.count - a.count || a.from.localeCompare(b.from)),
    verdictsUnchanged,
    criticFaults: judged.filter((r) => r.criticFault !== undefined).length,
    criticTokens: results.reduce((s, r) => s + r.criticTokens, 0),
    revisionTokens: results.reduce((s, r) => s + r.revisionTokens, 0),
  };
}

/** Tokens for the whole filtered set at this run's rate per fetched request (null when the limit cut nothing off). */
export function estimateTokens(measured: number, fetched: number, matching: number | null): number | null {
  if (matching === null || matching <= fetched || fetched === 0) return null;
  return Math.round((measured / fetched) * matching);
}
