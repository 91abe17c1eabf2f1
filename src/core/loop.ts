// The critique → revise → re-check loop: judges a text against a stage's principles and revises it until it passes.

import type { Constitution, Principle, Stage, Target } from './constitution/schema.ts';
import {
  type ChatMessage,
  type CritiqueFault,
  type CritiqueVerdict,
  type CritiqueWindow,
  critiqueSystemPrompt,
  critiqueUserPrompt,
  critiqueWindows,
  type JudgedAnswer,
  type Segment,
  segmentsOf,
  verifyCritique,
} from './critique.ts';
import { addUsage, type ToolCallPart, type Usage, zeroUsage } from './exchange/conversation.ts';
import { contractBreach, type OutputContract } from './output-contract.ts';
import { addedByRevision, revisionMessages } from './revise.ts';
import { checkRules, principlesFor, severityWeight, type Verdict, type Violation } from './verdict.ts';

export type { Usage };

export interface ModelReply {
  content: string;
  /** The tool calls of a revision (the client's tools are offered to it). */
  toolCalls?: ToolCallPart[] | undefined;
  usage: Usage;
}

/** A failed model call as the adapters report it: the HTTP status, a timeout, and how long the server asked to wait. */
export class ModelCallError extends Error {
  constructor(
    message: string,
    readonly details: { status?: number | undefined; timedOut?: boolean; retryAfterMs?: number | undefined },
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

/**
 * The longest `Retry-After` the loop waits before its one retry of a rate-limited critic call. A longer wait would
 * hold the client's answer hostage to the critic's quota: the fault goes to `on_error` at once instead.
 */
export const maxRetryAfterMs = 2_000;

/** The model calls the loop makes; adapters implement them (the openai SDK), tests script them over HTTP. */
export interface LoopDeps {
  /** One critic call with structured output; throws when the call itself fails (timeout, 5xx, unreachable). */
  critique(messages: ChatMessage[]): Promise<ModelReply>;
  /** One revision call to the client's model; throws when the call fails. */
  revise(messages: ChatMessage[]): Promise<ModelReply>;
  /** Verdicts already paid for: same constitution version, stage, context and text. */
  cache?: VerdictCache | undefined;
  nonce(): string;
  now(): number;
}

export interface CachedJudgement {
  verdicts: CritiqueVerdict[];
  answersRequest: boolean;
}

export interface VerdictCache {
  get(key: string): Promise<CachedJudgement | undefined>;
  put(key: string, value: CachedJudgement): Promise<void>;
}

export interface CriticCall {
  attempt: number;
  latencyMs: number;
  tokens: number;
  /** Prompt tokens, and how many of them the critic's provider served from its prompt cache (when it says). */
  promptTokens?: number | undefined;
  cachedTokens?: number | undefined;
  cached: boolean;
  /** Which window of a long answer the call judged (absent when the answer fit one). */
  window?: number | undefined;
  fault?: CritiqueFault;
}

/** A window of a long answer: which characters of which part one critic call read. */
export interface WindowSpan {
  part: string;
  start: number;
  end: number;
}

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

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const weightOf = (violations: readonly Violation[]) =>
  violations.filter((v) => v.action !== 'flag').reduce((sum, v) => sum + severityWeight[v.severity], 0);

interface Judgement {
  violations: Violation[];
  answersRequest: boolean | null;
  calls: CriticCall[];
  unjudgedChars: number;
  /** The answer is over the cap and `on_overflow: block`: refused without a critic call. */
  overflowBlocks?: boolean;
  windows?: WindowSpan[][] | undefined;
  fault?: CritiqueFault;
  tokens: number;
}

/** The parts an answer has: its text when it has one, its tool calls when it makes some. */
function partsOf(answer: JudgedAnswer): Set<Target> {
  const out = new Set<Target>();
  if (answer.text !== '') out.add('text');
  if (answer.toolCalls.length > 0) out.add('tool_calls');
  return out;
}

/** Cuts the segments to `cap` characters in all, in order (what `on_overflow: flag` judges). */
function capSegments(segments: readonly Segment[], cap: number): Segment[] {
  const out: Segment[] = [];
  let left = cap;
  for (const s of segments) {
    if (left <= 0) break;
    out.push(s.content.length <= left ? s : { ...s, content: s.content.slice(0, left) });
    left -= s.content.length;
  }
  return out;
}

interface WindowVerdicts {
  verdicts: CritiqueVerdict[];
  answersRequest: boolean;
}

/** One window's critic call, verified; one retry with a fresh nonce, then the fault. */
async function critiqueWindow(
  request: { stage: Stage; asked: Principle[]; system: string; input: JudgeInput; segments: Segment[] },
  window: CritiqueWindow,
  index: number | undefined,
  windows: number,
  deps: LoopDeps,
): Promise<{ calls: CriticCall[]; tokens: number; judged?: WindowVerdicts; fault?: CritiqueFault }> {
  const { stage, asked, system, input, segments } = request;
  const calls: CriticCall[] = [];
  let tokens = 0;
  let fault: CritiqueFault | undefined;
  const where = index === undefined ? {} : { window: index };
  for (let attempt = 1; attempt <= 2; attempt++) {
    const nonce = deps.nonce();
    const user = critiqueUserPrompt({
      stage,
      principles: asked,
      context: input.conversation,
      segments,
      window,
      windows,
      nonce,
    });
    const started = deps.now();
    let reply: ModelReply;
    try {
      reply = await deps.critique([
        { role: 'system', content: system },
        { role: 'user', content: user },
      ]);
    } catch (err) {
      fault = callFault(err);
      calls.push({ attempt, latencyMs: deps.now() - started, tokens: 0, cached: false, ...where, fault });
      // A rate limit says when to come back: wait that long if it is short, else do not hammer it again.
      const wait = err instanceof ModelCallError ? err.details.retryAfterMs : undefined;
      if (wait !== undefined) {
        if (wait > maxRetryAfterMs) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      continue;
    }
    tokens += reply.usage.total_tokens;
    const checked = verifyCritique(reply.content, {
      nonce,
      principles: asked,
      segments,
      window,
      minEvidenceChars: input.constitution.critic.min_evidence_chars,
    });
    const cachedTokens = reply.usage['cached_tokens'];
    const call: CriticCall = {
      attempt,
      latencyMs: deps.now() - started,
      tokens: reply.usage.total_tokens,
      promptTokens: reply.usage.prompt_tokens,
      ...(typeof cachedTokens === 'number' ? { cachedTokens } : {}),
      cached: false,
      ...where,
    };
    if (!checked.ok) {
      fault = checked.fault;
      calls.push({ ...call, fault });
      continue;
    }
    calls.push(call);
    return {
      calls,
      tokens,
      judged: { verdicts: checked.output.verdicts, answersRequest: checked.output.answers_request },
    };
  }
  return { calls, tokens, ...(fault ? { fault } : {}) };
}

/** The verdicts of all windows as one: a principle broken in any window is broken (the first window's quote). */
function mergeWindows(results: readonly WindowVerdicts[], asked: readonly Principle[]): WindowVerdicts {
  const verdicts = asked.map((p) => {
    const all = results.map((r) => r.verdicts.find((v) => v.principle === p.id) as CritiqueVerdict);
    return all.find((v) => v.violated) ?? (all[0] as CritiqueVerdict);
  });
  // Each window sees a slice: the answer addresses the request when any slice does.
  return { verdicts, answersRequest: results.some((r) => r.answersRequest) };
}

/**
 * Judges one answer: deterministic checks first, on every part each principle targets (a principle they decide
 * costs no critic call), then every model-judged principle of the stage. An answer that fits one window is one
 * critic call; a longer one is judged in overlapping windows, all in parallel, each with the context and the
 * full principle list. Every call is verified; one retry each, then the fault is returned.
 */
async function judge(
  stage: Stage,
  input: JudgeInput,
  answer: JudgedAnswer,
  deps: LoopDeps,
): Promise<Judgement> {
  const present = partsOf(answer);
  const principles = principlesFor(input.constitution, stage).filter((p) =>
    p.targets.some((t) => present.has(t)),
  );
  const all = segmentsOf(stage, answer);
  const rules = checkRules(principles, all);
  const decided = new Set(rules.map((v) => v.principle));
  const asked = principles.filter((p) => p.critique && !decided.has(p.id));
  const none = { answersRequest: null, calls: [], unjudgedChars: 0, tokens: 0 };
  // A deterministic check that blocks decides the round: no critic verdict could change it.
  if (asked.length === 0 || rules.some((v) => v.action === 'block')) return { violations: rules, ...none };

  const shown = new Set(asked.flatMap((p) => p.targets));
  let segments = all.filter((s) => shown.has(s.target));
  const total = segments.reduce((n, s) => n + s.content.length, 0);
  const { max_judged_chars: cap, on_overflow: overflow } = input.constitution.critic;
  let unjudgedChars = 0;
  if (cap !== undefined && total > cap) {
    unjudgedChars = total - cap;
    if (overflow === 'block') return { violations: rules, ...none, unjudgedChars, overflowBlocks: true };
    segments = capSegments(segments, cap);
  }

  const windows = critiqueWindows(segments);
  const system = critiqueSystemPrompt(stage, asked, {
    toolCalls: segments.some((s) => s.target === 'tool_calls'),
    windowed: windows.length > 1,
    minEvidenceChars: input.constitution.critic.min_evidence_chars,
  });
  const spans =
    windows.length > 1
      ? windows.map((w) =>
          w.pieces.map((p) => ({ part: (segments[p.segment] as Segment).part, start: p.start, end: p.end })),
        )
      : undefined;
  const key = deps.cache
    ? `${input.constitution.name}@${input.constitution.hash}:${stage}:${await digest(
        JSON.stringify([asked.map((p) => p.id), input.conversation.slice(-6), segments]),
      )}`
    : '';
  const fromCache = key ? await deps.cache?.get(key) : undefined;
  if (fromCache) {
    return {
      violations: [...rules, ...toViolations(fromCache.verdicts, asked)],
      answersRequest: fromCache.answersRequest,
      calls: [{ attempt: 1, latencyMs: 0, tokens: 0, cached: true }],
      unjudgedChars,
      windows: spans,
      tokens: 0,
    };
  }

  const request = { stage, asked, system, input, segments };
  const results = await Promise.all(
    windows.map((w, i) => critiqueWindow(request, w, spans ? i : undefined, windows.length, deps)),
  );
  const calls = results.flatMap((r) => r.calls);
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  const fault = results.find((r) => r.fault && !r.judged)?.fault;
  if (fault)
    return { violations: rules, answersRequest: null, calls, unjudgedChars, windows: spans, tokens, fault };
  const judged = mergeWindows(
    results.map((r) => r.judged as WindowVerdicts),
    asked,
  );
  if (key) await deps.cache?.put(key, judged);
  return {
    violations: [...rules, ...toViolations(judged.verdicts, asked)],
    answersRequest: judged.answersRequest,
    calls,
    unjudgedChars,
    windows: spans,
    tokens,
  };
}

/** The fault of a critic call that failed outright: rate-limited, timed out, or otherwise unavailable. */
function callFault(err: unknown): CritiqueFault {
  const message = `the critic call failed: ${err instanceof Error ? err.message : String(err)}`;
  const details = err instanceof ModelCallError ? err.details : {};
  if (details.status === 429) return { code: 'critic_rate_limited', message };
  if (details.timedOut) return { code: 'critic_timeout', message };
  return { code: 'critic_unavailable', message };
}

function toViolations(verdicts: readonly CritiqueVerdict[], asked: readonly Principle[]): Violation[] {
  return verdicts
    .filter((v) => v.violated)
    .map((v) => {
      const p = asked.find((q) => q.id === v.principle) as Principle;
      return {
        principle: p.id,
        // The policy owner's severity and action decide; the critic's own severity is only advice.
        severity: p.severity,
        action: p.action,
        source: 'critic' as const,
        evidence: v.evidence,
        critique: v.critique,
        ...(v.at ? { at: v.at } : {}),
      };
    });
}

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

/** Judges the user's input before any model call: `block` (and `revise`, which cannot apply to input) refuse; `flag` lets it through. */
export async function judgeInput(input: JudgeInput, deps: LoopDeps): Promise<StageResult> {
  const answer = { text: input.text, toolCalls: [] };
  const j = await judge('input', input, answer, deps);
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
          addedByRevision(answer, base ?? (rounds[0] as Round), input.conversation))
        : undefined;
    const j: Judgement = refused
      ? { violations: [], answersRequest: null, calls: [], unjudgedChars: 0, tokens: 0 }
      : await judge('output', input, answer, deps);
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
