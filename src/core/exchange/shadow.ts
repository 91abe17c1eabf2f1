// Shadow mode: a candidate constitution judges the same live traffic as the primary, after the response and
// without enforcing anything, so the log shows where the two would disagree before the candidate ships.
import type { Constitution } from '../constitution/schema.ts';
import type { LoopDeps, StageResult } from '../loop.ts';
import { principlesFor, type Verdict, type Violation } from '../verdict.ts';
import type { Conversation, Draft } from './conversation.ts';
import { type Enforcement, worse } from './enforce.ts';
import { judgeInputStage, judgeOutputStage } from './judge.ts';

/** One violation the candidate found (its evidence follows the primary's content setting in the record). */
export interface ShadowViolation {
  stage: 'input' | 'output';
  choice: number;
  principle: string;
  severity: Violation['severity'];
  action: Violation['action'];
  source: Violation['source'];
  evidence: string;
  critique: string;
}

export interface ShadowJudgement {
  /** The candidate's `name@hash`. */
  constitution: string;
  /** What the candidate would have done with the input and the draft. */
  verdict: Verdict;
  /** What the primary did with the same input and draft, by the same rule (before any revision). */
  primaryVerdict: Verdict;
  violations: ShadowViolation[];
  /** Principles only the candidate found violated, and only the primary. */
  onlyShadow: string[];
  onlyPrimary: string[];
  disagrees: boolean;
  criticTokens: number;
  criticError: string | null;
  latencyMs: number;
}

export interface ShadowInput {
  candidate: Constitution;
  /** The request's conversation (its last user turn is the judged input). */
  conversation: Conversation;
  /** The upstream's draft (absent when the primary blocked the input). */
  draft: Draft | undefined;
  /** What the primary found: its input stage, and its enforcement of the draft. */
  primary: { input: StageResult | undefined; enforcement: Enforcement | undefined };
}

/**
 * What a set of first-round findings means, before any revision: a blocking violation (or a failed critic
 * under fail_closed) blocks, a revise violation revises, a flag flags. The same rule for both sides.
 */
function draftVerdict(violations: readonly Violation[], fault: boolean, constitution: Constitution): Verdict {
  let verdict: Verdict = 'pass';
  const up = (v: Verdict) => {
    verdict = worse(verdict, v);
  };
  for (const v of violations)
    up(v.action === 'block' ? 'blocked' : v.action === 'revise' ? 'revised' : 'flagged');
  if (fault) up(constitution.critic.on_error === 'fail_open' ? 'flagged' : 'blocked');
  return verdict;
}

/** The input stage's and each choice's draft round: what a constitution found before revising anything. */
function firstFindings(input: StageResult | undefined, enforcement: Enforcement | undefined) {
  // Each judged stage with its choice (-1: the input); a choice with no text to judge has no stage.
  const stages: Array<{ result: StageResult; choice: number }> = [
    ...(input ? [{ result: input, choice: -1 }] : []),
    ...(enforcement?.choices ?? []).flatMap((c) =>
      c.result ? [{ result: c.result, choice: c.choice }] : [],
    ),
  ];
  const found = stages.flatMap(({ result, choice }) =>
    (result.rounds[0]?.violations ?? []).map((v) => ({ v, stage: result.stage, choice })),
  );
  const fault = stages.find((s) => s.result.criticFault)?.result.criticFault?.code ?? null;
  return { found, fault };
}

/** Judges the request's input and draft under the candidate, and compares with what the primary found. */
export async function judgeShadow(
  input: ShadowInput,
  primaryConstitution: Constitution,
  deps: LoopDeps,
): Promise<ShadowJudgement> {
  const started = deps.now();
  const { candidate } = input;
  const spec = { constitution: candidate, conversation: input.conversation, mode: 'audit' as const };
  // The same judging as the proxy's exchange, in audit mode. Unlike a live exchange, a draft the candidate would
  // never have let the model write is still judged: the comparison is per text.
  const judgedInput =
    principlesFor(candidate, 'input').length > 0 ? await judgeInputStage(spec, () => deps) : undefined;
  const judgedOutput = input.draft ? await judgeOutputStage(spec, input.draft, deps) : undefined;

  const shadow = firstFindings(judgedInput, judgedOutput);
  const primary = firstFindings(input.primary.input, input.primary.enforcement);
  const ids = (found: typeof shadow.found) => new Set(found.map((f) => f.v.principle));
  const shadowIds = ids(shadow.found);
  const primaryIds = ids(primary.found);
  const verdict = draftVerdict(
    shadow.found.map((f) => f.v),
    shadow.fault !== null,
    candidate,
  );
  const primaryVerdict = draftVerdict(
    primary.found.map((f) => f.v),
    primary.fault !== null,
    primaryConstitution,
  );
  const onlyShadow = [...shadowIds].filter((id) => !primaryIds.has(id)).sort();
  const onlyPrimary = [...primaryIds].filter((id) => !shadowIds.has(id)).sort();
  return {
    constitution: `${candidate.name}@${candidate.hash}`,
    verdict,
    primaryVerdict,
    violations: shadow.found.map(({ v, stage, choice }) => ({
      stage,
      choice,
      principle: v.principle,
      severity: v.severity,
      action: v.action,
      source: v.source,
      evidence: v.evidence,
      critique: v.critique,
    })),
    onlyShadow,
    onlyPrimary,
    disagrees: verdict !== primaryVerdict || onlyShadow.length > 0 || onlyPrimary.length > 0,
    criticTokens: (judgedInput?.criticTokens ?? 0) + (judgedOutput?.criticTokens ?? 0),
    criticError: shadow.fault,
    latencyMs: deps.now() - started,
  };
}
