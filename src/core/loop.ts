// The critique → revise → re-check loop: judges a text against a stage's principles and revises it until it passes.

import type { Constitution, Stage } from './constitution/schema.ts';
import type { ChatMessage, CritiqueFault, JudgedAnswer } from './critique.ts';
import { addUsage, type ToolCallPart, type Usage, zeroUsage } from './exchange/conversation.ts';
import {
  type CriticCall,
  type Judgement,
  judgeAnswer,
  type LoopDeps,
  type ModelReply,
  type WindowSpan,
} from './judge-answer.ts';
import { contractBreach, type OutputContract } from './output-contract.ts';
import { addedByRevision, revisionMessages } from './revise.ts';
import { principlesFor, severityWeight, type Verdict, type Violation } from './verdict.ts';

export {
  type CachedJudgement,
  type CriticCall,
  type LoopDeps,
  ModelCallError,
  type ModelReply,
  maxRetryAfterMs,
  type VerdictCache,
  type WindowSpan,
} from './judge-answer.ts';
export type { Usage };

export interface Round {
  index: number;
  kind: 'draft' | 'revision' | 'input';
  text: string;
  /** The tool calls of the answer this round judged (none for input rounds). */
  toolCalls: ToolCallPart[];
  violations: Violation[];
  critic: CriticCall[];
  /** Whether the text still answers the request (the critic's judgement; null when no critic was asked). */
  answersRequest: boolean | null;
  /** Set when a revision is not acceptable (it dropped the substance, refused, or broke a block principle). */
  failedRevision?: string;
  /** The revision call that produced this round's text. */
  revision?: { latencyMs: number; usage: Usage };
  /** Not every character was judged: the answer was over `critic.max_judged_chars` (see `unjudgedChars`). */
  truncated: boolean;
  /** Characters over `critic.max_judged_chars`, not shown to the critic (0: all judged). */
  unjudgedChars: number;
  /** The windows of a long answer, one critic call each (absent when it fit one call). */
  windows?: WindowSpan[][] | undefined;
  /** Severity-weighted size of the violations that matter (not `flag`): how bad the round is. */
  weight: number;
  /** stream: progressive: the window this round judged, where it sits in its text part, and whether it went out. */
  span?: { key: string; start: number; end: number; released: boolean } | undefined;
}

export interface StageResult {
  stage: Stage;
  verdict: Verdict;
  /** Why the verdict, in a few words for the record. */
  reason: string;
  rounds: Round[];
  /** The round whose text is final (-1 when the answer is the refusal). */
  chosen: number;
  text: string;
  /** The violations of the chosen round (or of the deciding round when refused). */
  violations: Violation[];
  criticFault?: CritiqueFault;
  criticTokens: number;
  /** Tokens of the client's model spent on revisions. */
  revisionUsage: Usage;
}

export interface JudgeInput {
  constitution: Constitution;
  /** The conversation before the judged text (for output: the request's messages). */
  conversation: readonly ChatMessage[];
  text: string;
  /** The answer's tool calls, judged with its text (output only). */
  toolCalls?: ToolCallPart[] | undefined;
  /** What the client asked the answer to be: revisions must keep it. */
  contract?: OutputContract | undefined;
}

/** Severity-weighted size of the violations that matter (not `flag`): how bad a round is. */
export const weightOf = (violations: readonly Violation[]) =>
  violations.filter((v) => v.action !== 'flag').reduce((sum, v) => sum + severityWeight[v.severity], 0);

function roundOf(
  index: number,
  kind: Round['kind'],
  answer: JudgedAnswer & { toolCalls: ToolCallPart[] },
  j: Judgement,
): Round {
  return {
    index,
    kind,
    text: answer.text,
    toolCalls: answer.toolCalls,
    violations: j.violations,
    critic: j.calls,
    answersRequest: j.answersRequest,
    truncated: j.unjudgedChars > 0,
    unjudgedChars: j.unjudgedChars,
    ...(j.windows ? { windows: j.windows } : {}),
    weight: weightOf(j.violations),
  };
}

/** Why a judged length decides: over the cap, refused (block) or not all judged (flag). */
const overflowReason = (chars: number, action: 'block' | 'flag') =>
  `${chars} characters over critic.max_judged_chars ${action === 'block' ? 'refused' : 'not judged'} (on_overflow: ${action})`;

/** The input stage of a constitution without input principles: passed, as judging none of them finds. */
export function unjudgedInput(text: string): StageResult {
  const none = { violations: [], calls: [], answersRequest: null, unjudgedChars: 0, tokens: 0 };
  return {
    stage: 'input',
    rounds: [roundOf(0, 'input', { text, toolCalls: [] }, none)],
    text,
    criticTokens: 0,
    revisionUsage: zeroUsage(),
    verdict: 'pass',
    reason: 'no violations',
    chosen: 0,
    violations: [],
  };
}

/** Judges the user's input before any model call: `block` (and `revise`, which cannot apply to input) refuse; `flag` lets it through. */
export async function judgeInput(input: JudgeInput, deps: LoopDeps): Promise<StageResult> {
  const answer = { text: input.text, toolCalls: [] };
  const j = await judgeAnswer('input', input, answer, deps);
  const round = roundOf(0, 'input', answer, j);
  const base = {
    stage: 'input' as const,
    rounds: [round],
    text: input.text,
    criticTokens: j.tokens,
    revisionUsage: zeroUsage(),
  };
  if (j.overflowBlocks) {
    return {
      ...base,
      verdict: 'blocked',
      reason: overflowReason(j.unjudgedChars, 'block'),
      chosen: -1,
      violations: j.violations,
    };
  }
  if (j.fault) {
    const open = input.constitution.critic.on_error === 'fail_open';
    return {
      ...base,
      verdict: open ? 'flagged' : 'blocked',
      reason: open
        ? 'critic failed; on_error fail_open let the input through'
        : 'critic failed; on_error fail_closed',
      chosen: open ? 0 : -1,
      violations: j.violations,
      criticFault: j.fault,
    };
  }
  const blocking = j.violations.filter((v) => v.action !== 'flag');
  if (blocking.length > 0) {
    return {
      ...base,
      verdict: 'blocked',
      reason: 'the input breaks a principle',
      chosen: -1,
      violations: j.violations,
    };
  }
  const unjudged = j.unjudgedChars > 0 ? `; ${overflowReason(j.unjudgedChars, 'flag')}` : '';
  return {
    ...base,
    verdict: j.violations.length > 0 || unjudged ? 'flagged' : 'pass',
    reason: (j.violations.length > 0 ? 'flag-only violations' : 'no violations') + unjudged,
    chosen: 0,
    violations: j.violations,
  };
}

/** A revision's answer: the reply's text, and its tool calls when tool calls were what it had to fix. */
function revisedToolCalls(
  reply: ModelReply,
  from: Round,
  violations: readonly Violation[],
): Round['toolCalls'] {
  const callsBroken = violations.some((v) => v.at?.part.startsWith('tool_call:'));
  return callsBroken ? (reply.toolCalls ?? []) : from.toolCalls;
}

/**
 * Holds an answer (its text and tool calls) to the output principles: judge the draft; while a `revise`
 * principle is broken and rounds remain, revise (one call fixing every open violation, with the client's output
 * contract) and judge the revision against all principles again. A revision that breaks the contract, or brings
 * in what a planted note asked for, fails without a critic call. Stops at the first clean round; if none is
 * clean, the least-violating round decides.
 */
export async function reviseUntilClean(input: JudgeInput, deps: LoopDeps): Promise<StageResult> {
  const { constitution } = input;
  const principles = principlesFor(constitution, 'output');
  const rounds: Round[] = [];
  let criticTokens = 0;
  let revisionUsage = zeroUsage();
  const result = (
    r: Omit<StageResult, 'stage' | 'rounds' | 'criticTokens' | 'revisionUsage'>,
  ): StageResult => {
    // Characters over the cap were not judged: the answer goes out flagged, never as a silent pass.
    const unjudged = r.chosen >= 0 ? (rounds[r.chosen]?.unjudgedChars ?? 0) : 0;
    const flagged =
      unjudged > 0
        ? {
            verdict: r.verdict === 'pass' ? ('flagged' as const) : r.verdict,
            reason: `${r.reason}; ${overflowReason(unjudged, 'flag')}`,
          }
        : {};
    return { stage: 'output', rounds, criticTokens, revisionUsage, ...r, ...flagged };
  };

  // A failed critic or revision call: the constitution's on_error decides (refuse, or return the draft).
  const onError = (
    what: 'critic' | 'revision',
    fault: CritiqueFault,
    violations: Violation[],
  ): StageResult => {
    const open = constitution.critic.on_error === 'fail_open';
    return result({
      verdict: open ? 'flagged' : 'blocked',
      reason: `${what} failed; on_error ${open ? 'fail_open returned the draft' : 'fail_closed'}`,
      chosen: open ? 0 : -1,
      text: open ? input.text : '',
      violations,
      criticFault: fault,
    });
  };

  let answer = { text: input.text, toolCalls: input.toolCalls ?? [] };
  let pendingRevision: Round['revision'];
  // The last acceptable round: what the next revision starts from.
  let base: Round | undefined;
  for (let index = 0; ; index++) {
    // A revision that breaks the request's contract or obeys a planted note is not judged: it failed.
    const refused =
      index > 0
        ? (contractBreach(input.contract, answer) ??
          addedByRevision(answer, base ?? (rounds[0] as Round), input.conversation, principles))
        : undefined;
    const j: Judgement = refused
      ? { violations: [], answersRequest: null, calls: [], unjudgedChars: 0, tokens: 0 }
      : await judgeAnswer('output', input, answer, deps);
    criticTokens += j.tokens;
    const round = roundOf(index, index === 0 ? 'draft' : 'revision', answer, j);
    if (pendingRevision) round.revision = pendingRevision;
    rounds.push(round);

    if (j.fault) return onError('critic', j.fault, j.violations);
    if (j.overflowBlocks) {
      if (index === 0)
        return result({
          verdict: 'blocked',
          reason: overflowReason(j.unjudgedChars, 'block'),
          chosen: -1,
          text: '',
          violations: j.violations,
        });
      round.failedRevision = 'the revision is longer than critic.max_judged_chars';
    }

    const blocks = j.violations.filter((v) => v.action === 'block');
    if (index === 0 && blocks.length > 0) {
      return result({
        verdict: 'blocked',
        reason: 'the draft breaks a block principle',
        chosen: -1,
        text: '',
        violations: j.violations,
      });
    }
    if (refused) round.failedRevision = refused;
    else if (index > 0 && j.answersRequest === false)
      round.failedRevision = 'the revision no longer answers the request';
    else if (index > 0 && blocks.length > 0) round.failedRevision = 'the revision breaks a block principle';

    const open = j.violations.filter((v) => v.action === 'revise');
    if (!round.failedRevision && open.length === 0) {
      const flagged = j.violations.length > 0;
      return result({
        verdict: index > 0 ? 'revised' : flagged ? 'flagged' : 'pass',
        reason:
          index > 0
            ? `clean after ${index} revision${index === 1 ? '' : 's'}`
            : flagged
              ? 'flag-only violations'
              : 'no violations',
        chosen: index,
        text: answer.text,
        violations: j.violations,
      });
    }
    if (!round.failedRevision) base = round;
    if (index >= constitution.critic.max_revisions) break;

    const from = base ?? (rounds[0] as Round);
    const fixing = from.violations.filter((v) => v.action === 'revise');
    const started = deps.now();
    let revised: ModelReply;
    try {
      revised = await deps.revise(
        revisionMessages(input.conversation, from, fixing, principles, deps.nonce()),
      );
    } catch (err) {
      const message = `the revision call failed: ${err instanceof Error ? err.message : String(err)}`;
      return onError('revision', { code: 'critic_unavailable', message }, from.violations);
    }
    revisionUsage = addUsage(revisionUsage, revised.usage);
    pendingRevision = { latencyMs: deps.now() - started, usage: revised.usage };
    answer = { text: revised.content, toolCalls: revisedToolCalls(revised, from, fixing) };
  }

  // Every round still violates: the least-violating acceptable round is the candidate, its actions decide.
  const candidates = rounds.filter((r) => !r.failedRevision);
  const best = candidates.reduce(
    (a, b) => (b.weight < a.weight ? b : a),
    candidates[0] ?? (rounds[0] as Round),
  );
  const keep =
    constitution.critic.on_exhausted === 'best_round' && !best.violations.some((v) => v.action === 'block');
  return result({
    verdict: keep ? 'flagged' : 'blocked',
    reason: keep
      ? `revisions exhausted; on_exhausted best_round kept round ${best.index}`
      : `revisions exhausted after ${rounds.length - 1} revision${rounds.length === 2 ? '' : 's'}`,
    chosen: keep ? best.index : -1,
    text: keep ? best.text : '',
    violations: best.violations,
  });
}
