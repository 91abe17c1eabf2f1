// Judging one answer: deterministic checks on every part, then the critic, in one call or in overlapping windows.

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
import { TenetFault } from './errors.ts';
import type { ToolCallPart, Usage } from './exchange/conversation.ts';
import { checkRules, principlesFor, type Violation } from './verdict.ts';

export interface ModelReply {
  content: string;
  /** The tool calls of a revision (the client's tools are offered to it). */
  toolCalls?: ToolCallPart[] | undefined;
  usage: Usage;
}

/** A failed model call as the adapters report it: the HTTP status, a timeout, and how long the server asked to wait. */
export class ModelCallError extends TenetFault {
  readonly code = 'model_call_failed';
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
  /** The same call streamed (`onText` gets the text as it is written), where the reviser can stream. */
  reviseStream?:
    | ((messages: ChatMessage[], onText: (delta: string) => void) => Promise<ModelReply>)
    | undefined;
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

/** What one answer is judged in: its constitution and the conversation before it. */
export interface JudgeContext {
  constitution: Constitution;
  /** The conversation before the judged text (for output: the request's messages). */
  conversation: readonly ChatMessage[];
  /** The text is the next part of a streamed answer (stream: progressive); the part shown ends the conversation. */
  progressive?: boolean | undefined;
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface Judgement {
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
  request: { stage: Stage; asked: Principle[]; system: string; input: JudgeContext; segments: Segment[] },
  window: CritiqueWindow,
  index: number | undefined,
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
export async function judgeAnswer(
  stage: Stage,
  input: JudgeContext,
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
    progressive: input.progressive === true,
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
    windows.map((w, i) => critiqueWindow(request, w, spans ? i : undefined, deps)),
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
