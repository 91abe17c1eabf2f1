// Holds a draft to a constitution: every choice through the loop, and what becomes of each choice.
import type { Constitution } from '../constitution/schema.ts';
import type { ChatMessage } from '../critique.ts';
import { type LoopDeps, reviseUntilClean, type StageResult } from '../loop.ts';
import type { OutputContract } from '../output-contract.ts';
import type { Verdict, Violation } from '../verdict.ts';
import { addUsage, type Draft, type FinalChoice, type Usage, zeroUsage } from './conversation.ts';

export interface ChoiceViolation extends Violation {
  /** Which choice of the answer (-1 for the input). */
  choice: number;
  /** Which round found it (0 = the draft). */
  round: number;
}

export interface ChoiceResult {
  choice: number;
  /** Absent when the choice had nothing to judge (no text and no tool calls): recorded as not critiqued. */
  result?: StageResult;
}

export interface Enforcement {
  /** What becomes of each choice of the draft, in the draft's order. */
  finals: FinalChoice[];
  verdict: Verdict;
  /** Every violation of every round of every choice, for the record and the headers. */
  violations: ChoiceViolation[];
  /** Revisions the answer went through (the most of any choice). */
  revisions: number;
  /** True when any choice is not sent as the upstream wrote it. */
  changed: boolean;
  choices: ChoiceResult[];
  criticTokens: number;
  /** The client's model's tokens spent on revisions (added to the answer's usage when it changed). */
  revisionUsage: Usage;
}

const rank: Record<Verdict, number> = { pass: 0, flagged: 1, revised: 2, blocked: 3 };

/** The more serious of two verdicts: blocked > revised > flagged > pass. */
export function worse(a: Verdict, b: Verdict): Verdict {
  return rank[a] >= rank[b] ? a : b;
}

export interface EnforceOptions {
  conversation: readonly ChatMessage[];
  deps: LoopDeps;
  /** `audit`: judge only, never change the answer (it has already been sent, or it is a trial). */
  mode: 'enforce' | 'audit';
  /** The client's output contract, which revisions keep. */
  contract?: OutputContract | undefined;
}

/** Judges (and revises) every choice of `draft` against the constitution's output principles. */
export async function enforceOutput(
  draft: Draft,
  constitution: Constitution,
  options: EnforceOptions,
): Promise<Enforcement> {
  const audit = options.mode === 'audit';
  const judged = await Promise.all(
    draft.choices.map(async (choice): Promise<ChoiceResult> => {
      const text = choice.text ?? '';
      if (text === '' && choice.toolCalls.length === 0) return { choice: choice.index };
      const c = audit
        ? { ...constitution, critic: { ...constitution.critic, max_revisions: 0 } }
        : constitution;
      const result = await reviseUntilClean(
        {
          constitution: c,
          conversation: options.conversation,
          text,
          toolCalls: choice.toolCalls,
          contract: options.contract,
        },
        options.deps,
      );
      return { choice: choice.index, result };
    }),
  );

  let verdict: Verdict = 'pass';
  let revisions = 0;
  let criticTokens = 0;
  let revisionUsage = zeroUsage();
  const violations: ChoiceViolation[] = [];
  const finals = judged.map(({ choice, result }, n): FinalChoice => {
    if (!result) return { index: choice, kind: 'unchanged' };
    verdict = worse(verdict, result.verdict);
    criticTokens += result.criticTokens;
    revisionUsage = addUsage(revisionUsage, result.revisionUsage);
    revisions = Math.max(revisions, result.rounds.filter((r) => r.kind === 'revision').length);
    for (const round of result.rounds) {
      violations.push(...round.violations.map((v) => ({ ...v, choice, round: round.index })));
    }
    if (audit) return { index: choice, kind: 'unchanged' };
    if (result.chosen === -1)
      return { index: choice, kind: 'refused', message: constitution.on_block.message };
    // Everything else of the choice stays; the text is replaced, and the tool calls when a revision re-made them.
    if (result.chosen > 0) {
      const calls = result.rounds[result.chosen]?.toolCalls ?? [];
      const same = JSON.stringify(calls) === JSON.stringify(draft.choices[n]?.toolCalls ?? []);
      return { index: choice, kind: 'revised', text: result.text, ...(same ? {} : { toolCalls: calls }) };
    }
    return { index: choice, kind: 'unchanged' };
  });

  return {
    finals,
    verdict,
    violations,
    revisions,
    changed: finals.some((f) => f.kind !== 'unchanged'),
    choices: judged,
    criticTokens,
    revisionUsage,
  };
}

/** The text a choice goes out with: the draft's, the revision, or the refusal. */
export function finalText(draft: Draft | undefined, finals: readonly FinalChoice[] | undefined, index = 0) {
  const final = finals?.find((f) => f.index === index);
  if (final?.kind === 'revised') return final.text;
  if (final?.kind === 'refused') return final.message;
  return draft?.choices.find((c) => c.index === index)?.text ?? null;
}
