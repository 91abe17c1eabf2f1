// A principle's examples as test cases, each judged by the loop's own judging code exactly as the proxy judges a text.
import type { Constitution, ExampleSpec, Principle, Stage } from '../constitution/schema.ts';
import type { CritiqueFault } from '../critique.ts';
import type { Draft } from '../exchange/conversation.ts';
import { judgeInputStage, judgeOutputStage } from '../exchange/judge.ts';
import type { LoopDeps, StageResult } from '../loop.ts';

/** One example of one principle: what `tenet test` judges. `index` counts from 1, as people do. */
export interface ExampleCase {
  principle: string;
  index: number;
  stage: Stage;
  example: ExampleSpec;
  /** Set when the example cannot be judged (an output example without a response): reported, not run. */
  skip?: string;
}

/** Why a principle has nothing to run. */
export type PrincipleStatus = 'tested' | 'untested' | 'disabled';

export interface PrincipleCases {
  id: string;
  stage: Stage;
  status: PrincipleStatus;
  cases: ExampleCase[];
}

/** Every principle of a constitution with its examples as cases, in the constitution's order. */
export function casesOf(constitution: Constitution): PrincipleCases[] {
  return constitution.principles.map((p: Principle) => {
    const cases = p.examples.map(
      (example, i): ExampleCase => ({
        principle: p.id,
        index: i + 1,
        stage: p.applies_to,
        example,
        ...(p.applies_to === 'output' && example.response === undefined && !example.tool_calls
          ? { skip: 'an example of an output principle needs a response or tool calls to judge' }
          : {}),
      }),
    );
    const status: PrincipleStatus = !p.enabled ? 'disabled' : cases.length === 0 ? 'untested' : 'tested';
    return { id: p.id, stage: p.applies_to, status, cases: p.enabled ? cases : [] };
  });
}

/** An output example as the draft the proxy would judge: its response text and the tool calls it makes. */
export function exampleDraft(example: ExampleSpec): Draft {
  const toolCalls = (example.tool_calls ?? []).map((t, i) => ({ id: `call_example_${i}`, ...t }));
  const finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
  return { choices: [{ index: 0, text: example.response ?? null, toolCalls, finishReason }], usage: null };
}

/** What one judgement said about the principle under test. */
export type Outcome = 'violated' | 'clean' | 'error';

export interface ExampleRun {
  outcome: Outcome;
  /** How the principle was decided when violated: a deterministic check or the critic. */
  source?: 'rule' | 'critic';
  evidence?: string;
  critique?: string;
  /** The critic failed (after the loop's retry) and the principle was the critic's to judge. */
  fault?: CritiqueFault;
  /** Other principles the same judgement found violated: reported, never counted for this principle. */
  others: string[];
  /** Set when the principle was not asked at all (a blocking check of another principle decided the text). */
  note?: string;
  criticTokens: number;
  criticCalls: number;
  criticMs: number;
}

/**
 * Judges one example as the proxy judges a text: an output example's response with the user text as the
 * conversation (the audit path: one round, no revision), an input example's user text as the input.
 * Every principle of the stage is judged in the one critic call, as in the proxy.
 */
export async function judgeExample(
  constitution: Constitution,
  c: ExampleCase,
  deps: LoopDeps,
): Promise<ExampleRun> {
  const { example } = c;
  // The proxy's exchange stages, one at a time: an example judges either the input or the answer, never both.
  const conversation = { turns: [{ role: 'user' as const, text: example.user }] };
  const spec = { constitution, conversation, mode: 'audit' as const };
  let result: StageResult | undefined;
  if (c.stage === 'input') result = await judgeInputStage(spec, () => deps);
  else {
    // `audit`: judged once, never revised (how `stream: audit` judges an answer).
    const judged = await judgeOutputStage(spec, exampleDraft(example), deps);
    result = judged?.choices[0]?.result;
  }
  if (!result) return { outcome: 'clean', others: [], criticTokens: 0, criticCalls: 0, criticMs: 0 };
  const round = result.rounds[0];
  const violations = round?.violations ?? [];
  const calls = round?.critic ?? [];
  const base = {
    others: [...new Set(violations.filter((v) => v.principle !== c.principle).map((v) => v.principle))],
    criticTokens: result.criticTokens,
    criticCalls: calls.filter((call) => !call.cached).length,
    criticMs: calls.reduce((sum, call) => sum + call.latencyMs, 0),
  };
  const mine = violations.find((v) => v.principle === c.principle);
  if (mine) {
    return {
      ...base,
      outcome: 'violated',
      source: mine.source,
      evidence: mine.evidence,
      critique: mine.critique,
    };
  }
  const principle = constitution.principles.find((p) => p.id === c.principle);
  if (result.criticFault && principle?.critique) {
    return { ...base, outcome: 'error', fault: result.criticFault };
  }
  if (calls.length === 0 && principle?.critique && violations.some((v) => v.action === 'block')) {
    return { ...base, outcome: 'clean', note: 'not asked: a blocking check of another principle decided' };
  }
  return { ...base, outcome: 'clean' };
}
