// Holds an answer to a constitution: judges each choice, and replaces what must not go out with the refusal.
import { type Completion, refusalChoice } from './completion.ts';
import type { Constitution } from './constitution/schema.ts';
import { checkRules, finalVerdict, principlesFor, type Verdict, type Violation } from './verdict.ts';

export interface ChoiceViolation extends Violation {
  /** Which choice of the completion (n > 1 judges each). */
  choice: number;
}

export interface Enforcement {
  /** The answer to send: the original object when nothing changed. */
  completion: Completion;
  verdict: Verdict;
  violations: ChoiceViolation[];
  revisions: number;
  changed: boolean;
  /** Choices that carried no text to judge (tool calls only). */
  unjudged: number[];
}

const rank: Record<Verdict, number> = { pass: 0, flagged: 1, revised: 2, blocked: 3 };

/** The more serious of two verdicts: blocked > revised > flagged > pass. */
export function worse(a: Verdict, b: Verdict): Verdict {
  return rank[a] >= rank[b] ? a : b;
}

/** Judges every choice of `completion` against the constitution's output principles. */
export async function enforceOutput(
  completion: Completion,
  constitution: Constitution,
): Promise<Enforcement> {
  const principles = principlesFor(constitution, 'output');
  let verdict: Verdict = 'pass';
  const violations: ChoiceViolation[] = [];
  const unjudged: number[] = [];
  let changed = false;
  const choices = completion.choices.map((choice) => {
    const text = choice.message.content;
    if (text === null || text === '') {
      unjudged.push(choice.index);
      return choice;
    }
    const found = checkRules(principles, text);
    violations.push(...found.map((v) => ({ ...v, choice: choice.index })));
    const choiceVerdict = finalVerdict(found, constitution, false);
    verdict = worse(verdict, choiceVerdict);
    if (choiceVerdict !== 'blocked') return choice;
    changed = true;
    return refusalChoice(choice.index, constitution.on_block.message);
  });
  return {
    completion: changed ? { ...completion, choices } : completion,
    verdict,
    violations,
    revisions: 0,
    changed,
    unjudged,
  };
}
