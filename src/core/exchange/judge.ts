// The exchange's judging, protocol-neutral: the input, then the draft of every choice, then the combined outcome.
import type { Constitution } from '../constitution/schema.ts';
import type { LoggedVerdict } from '../log-record.ts';
import { judgeInput, type LoopDeps, type StageResult, unjudgedInput } from '../loop.ts';
import type { OutputContract } from '../output-contract.ts';
import { principlesFor } from '../verdict.ts';
import { type Conversation, contextOfPrompt, criticMessages, type Draft, promptOf } from './conversation.ts';
import { type ChoiceViolation, type Enforcement, enforceOutput, worse } from './enforce.ts';

/** What the exchange decided, for the headers, the log line and the record. */
export interface Outcome {
  verdict: LoggedVerdict;
  violations: ChoiceViolation[];
  revisions: number;
  criticTokens: number;
  criticError?: string | undefined;
}

export interface ExchangeSpec {
  constitution: Constitution;
  conversation: Conversation;
  /** `enforce`: revise and refuse as the constitution says; `audit`: judge once, change nothing. */
  mode: 'enforce' | 'audit';
  /** The client's output contract (format, tools, limits), which revisions keep. */
  contract?: OutputContract | undefined;
}

/**
 * Input principles judge the last user turn, in the context of the turns before it. A constitution without any
 * passes it unjudged (unjudgedInput), and the loop's dependencies (`deps`, built when asked for) are not built.
 */
export async function judgeInputStage(spec: ExchangeSpec, deps: () => LoopDeps): Promise<StageResult> {
  const text = promptOf(spec.conversation);
  if (principlesFor(spec.constitution, 'input').length === 0) return unjudgedInput(text);
  return judgeInput(
    {
      constitution: spec.constitution,
      conversation: criticMessages(contextOfPrompt(spec.conversation)),
      text,
    },
    deps(),
  );
}

/** Output principles judge (and in `enforce` mode revise) every choice of the draft; undefined when none apply. */
export async function judgeOutputStage(
  spec: ExchangeSpec,
  draft: Draft,
  deps: LoopDeps,
): Promise<Enforcement | undefined> {
  if (principlesFor(spec.constitution, 'output').length === 0) return undefined;
  return enforceOutput(draft, spec.constitution, {
    conversation: criticMessages(spec.conversation),
    deps,
    mode: spec.mode,
    contract: spec.contract,
  });
}

/** The outcome of a judged input alone (before a draft, or when there is none). */
export function inputOutcome(input: StageResult): Outcome {
  return {
    verdict: input.verdict,
    violations: input.violations.map((v) => ({ ...v, choice: -1, round: 0 })),
    revisions: 0,
    criticTokens: input.criticTokens,
    criticError: input.criticFault?.code,
  };
}

/** The input's outcome and the output's, as one. */
export function combineOutcome(input: StageResult, output: Enforcement | undefined): Outcome {
  const fromInput = inputOutcome(input);
  return {
    verdict: worse(input.verdict, output?.verdict ?? 'pass'),
    violations: [...fromInput.violations, ...(output?.violations ?? [])],
    revisions: output?.revisions ?? 0,
    criticTokens: fromInput.criticTokens + (output?.criticTokens ?? 0),
    criticError:
      fromInput.criticError ??
      output?.choices.find((ch) => ch.result?.criticFault)?.result?.criticFault?.code,
  };
}

export interface Judged {
  input: StageResult;
  /** The draft judged (absent when the input was blocked or there was none). */
  draft?: Draft | undefined;
  output?: Enforcement | undefined;
  outcome: Outcome;
}

/**
 * The whole judging of one exchange: the input first (a blocked input never gets a draft), then the draft from
 * `getDraft` (the upstream for the proxy; a logged or given text for shadow, `tenet replay` and `tenet test`).
 */
export async function judgeExchange(
  spec: ExchangeSpec,
  deps: { input: LoopDeps; output: LoopDeps },
  getDraft: () => Promise<Draft | undefined>,
): Promise<Judged> {
  const input = await judgeInputStage(spec, () => deps.input);
  if (input.verdict === 'blocked') return { input, outcome: inputOutcome(input) };
  const draft = await getDraft();
  const output = draft ? await judgeOutputStage(spec, draft, deps.output) : undefined;
  return { input, draft, output, outcome: combineOutcome(input, output) };
}
