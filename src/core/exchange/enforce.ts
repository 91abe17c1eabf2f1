// Holds an answer to a constitution: every choice through the loop, and the answer that may go out.

import type { Usage } from './completion.ts';
import { type Completion, type CompletionChoice, refusalChoice } from './completion.ts';
import type { Constitution } from './constitution/schema.ts';
import type { ChatMessage } from './critique.ts';
import { type LoopDeps, reviseUntilClean, type StageResult } from './loop.ts';
import type { Verdict, Violation } from './verdict.ts';

export interface ChoiceViolation extends Violation {
  /** Which choice of the completion (-1 for the input). */
  choice: number;
  /** Which round found it (0 = the draft). */
  round: number;
}

export interface ChoiceResult {
  choice: number;
  /** Absent when the choice had no text to judge (tool calls only): recorded as not critiqued. */
  result?: StageResult;
}

export interface Enforcement {
  /** The answer to send: the original object when nothing changed. */
  completion: Completion;
  verdict: Verdict;
  /** Every violation of every round of every choice, for the record and the headers. */
  violations: ChoiceViolation[];
  /** Revisions the answer went through (the most of any choice). */
  revisions: number;
  changed: boolean;
  choices: ChoiceResult[];
  criticTokens: number;
}

const rank: Record<Verdict, number> = { pass: 0, flagged: 1, revised: 2, blocked: 3 };

/** The more serious of two verdicts: blocked > revised > flagged > pass. */
export function worse(a: Verdict, b: Verdict): Verdict {
  return rank[a] >= rank[b] ? a : b;
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  ...a,
  prompt_tokens: a.prompt_tokens + b.prompt_tokens,
  completion_tokens: a.completion_tokens + b.completion_tokens,
  total_tokens: a.total_tokens + b.total_tokens,
});

export interface EnforceOptions {
  conversation: readonly ChatMessage[];
  deps: LoopDeps;
  /** `audit`: judge only, never change the answer (it has already been sent). */
  mode: 'enforce' | 'audit';
}

/** Judges (and revises) every choice of `completion` against the constitution's output principles. */
export async function enforceOutput(
  completion: Completion,
  constitution: Constitution,
  options: EnforceOptions,
): Promise<Enforcement> {
  const audit = options.mode === 'audit';
  const judged = await Promise.all(
    completion.choices.map(async (choice): Promise<ChoiceResult> => {
      const text = choice.message.content;
      if (text === null || text === '') return { choice: choice.index };
      const c = audit
        ? { ...constitution, critic: { ...constitution.critic, max_revisions: 0 } }
        : constitution;
      const result = await reviseUntilClean(
        { constitution: c, conversation: options.conversation, text },
        options.deps,
      );
      return { choice: choice.index, result };
    }),
  );

  let verdict: Verdict = 'pass';
  let changed = false;
  let revisions = 0;
  let criticTokens = 0;
  let revisionUsage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const violations: ChoiceViolation[] = [];
  const choices = completion.choices.map((choice): CompletionChoice => {
    const result = judged.find((j) => j.choice === choice.index)?.result;
    if (!result) return choice;
    verdict = worse(verdict, result.verdict);
    criticTokens += result.criticTokens;
    revisionUsage = addUsage(revisionUsage, result.revisionUsage);
    revisions = Math.max(revisions, result.rounds.filter((r) => r.kind === 'revision').length);
    for (const round of result.rounds) {
      violations.push(...round.violations.map((v) => ({ ...v, choice: choice.index, round: round.index })));
    }
    if (audit) return choice;
    if (result.chosen === -1) {
      changed = true;
      return refusalChoice(choice.index, constitution.on_block.message);
    }
    if (result.chosen > 0) {
      changed = true;
      // Tool calls and everything else of the choice stay; only the judged text is replaced.
      return {
        ...choice,
        message: { ...choice.message, content: result.text },
        finish_reason: choice.finish_reason ?? 'stop',
      };
    }
    return choice;
  });

  // `usage` reports the client's model: the draft plus the revisions (critic tokens are reported apart).
  const usage =
    changed && completion.usage && revisionUsage.total_tokens > 0
      ? addUsage(completion.usage, revisionUsage)
      : completion.usage;
  return {
    completion: changed ? { ...completion, choices, ...(usage ? { usage } : {}) } : completion,
    verdict,
    violations,
    revisions,
    changed,
    choices: judged,
    criticTokens,
  };
}
