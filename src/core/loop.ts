// The critique → revise → re-check loop: judges a text against a stage's principles and revises it until it passes.

import type { Constitution, Principle, Stage } from './constitution/schema.ts';
import {
  type ChatMessage,
  type CritiqueFault,
  type CritiqueVerdict,
  critiqueSystemPrompt,
  critiqueUserPrompt,
  verifyCritique,
} from './critique.ts';
import { addUsage, type Usage, zeroUsage } from './exchange/conversation.ts';
import { revisionMessages } from './revise.ts';
import { checkRules, principlesFor, severityWeight, type Verdict, type Violation } from './verdict.ts';

export type { Usage };

export interface ModelReply {
  content: string;
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
  cached: boolean;
  fault?: CritiqueFault;
}

export interface Round {
  index: number;
  kind: 'draft' | 'revision' | 'input';
  text: string;
  violations: Violation[];
  critic: CriticCall[];
  /** Whether the text still answers the request (the critic's judgement; null when no critic was asked). */
  answersRequest: boolean | null;
  /** Set when a revision is not acceptable (it dropped the substance, refused, or broke a block principle). */
  failedRevision?: string;
  /** The revision call that produced this round's text. */
  revision?: { latencyMs: number; usage: Usage };
  /** The critic saw a shortened text (very long answers). */
  truncated: boolean;
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
  truncated: boolean;
  fault?: CritiqueFault;
  tokens: number;
}

/**
 * Judges one text: deterministic checks first (a principle they decide costs no critic call), then every
 * model-judged principle of the stage in one critic call, verified; one retry, then the fault is returned.
 */
async function judge(stage: Stage, input: JudgeInput, text: string, deps: LoopDeps): Promise<Judgement> {
  const principles = principlesFor(input.constitution, stage);
  const rules = checkRules(principles, text);
  const decided = new Set(rules.map((v) => v.principle));
  const asked = principles.filter((p) => p.critique && !decided.has(p.id));
  // A deterministic check that blocks decides the round: no critic verdict could change it.
  if (asked.length === 0 || rules.some((v) => v.action === 'block')) {
    return { violations: rules, answersRequest: null, calls: [], truncated: false, tokens: 0 };
  }

  const system = critiqueSystemPrompt(stage, asked);
  const key = deps.cache
    ? `${input.constitution.name}@${input.constitution.hash}:${stage}:${await digest(
        JSON.stringify([asked.map((p) => p.id), input.conversation.slice(-6), text]),
      )}`
    : '';
  const fromCache = key ? await deps.cache?.get(key) : undefined;
  if (fromCache) {
    return {
      violations: [...rules, ...toViolations(fromCache.verdicts, asked)],
      answersRequest: fromCache.answersRequest,
      calls: [{ attempt: 1, latencyMs: 0, tokens: 0, cached: true }],
      truncated: false,
      tokens: 0,
    };
  }

  const calls: CriticCall[] = [];
  let tokens = 0;
  let truncated = false;
  let fault: CritiqueFault | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const nonce = deps.nonce();
    const user = critiqueUserPrompt({ stage, principles: asked, context: input.conversation, text, nonce });
    truncated = user.truncated;
    const started = deps.now();
    let reply: ModelReply;
    try {
      reply = await deps.critique([
        { role: 'system', content: system },
        { role: 'user', content: user.content },
      ]);
    } catch (err) {
      fault = callFault(err);
      calls.push({ attempt, latencyMs: deps.now() - started, tokens: 0, cached: false, fault });
      // A rate limit says when to come back: wait that long if it is short, else do not hammer it again.
      const wait = err instanceof ModelCallError ? err.details.retryAfterMs : undefined;
      if (wait !== undefined) {
        if (wait > maxRetryAfterMs) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      continue;
    }
    tokens += reply.usage.total_tokens;
    const checked = verifyCritique(reply.content, { nonce, principles: asked.map((p) => p.id), text });
    const call: CriticCall = {
      attempt,
      latencyMs: deps.now() - started,
      tokens: reply.usage.total_tokens,
      cached: false,
    };
    if (!checked.ok) {
      fault = checked.fault;
      calls.push({ ...call, fault });
      continue;
    }
    calls.push(call);
    const judged = { verdicts: checked.output.verdicts, answersRequest: checked.output.answers_request };
    if (key) await deps.cache?.put(key, judged);
    return {
      violations: [...rules, ...toViolations(judged.verdicts, asked)],
      answersRequest: judged.answersRequest,
      calls,
      truncated,
      tokens,
    };
  }
  return { violations: rules, answersRequest: null, calls, truncated, tokens, ...(fault ? { fault } : {}) };
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
      };
    });
}

function roundOf(index: number, kind: Round['kind'], text: string, j: Judgement): Round {
  return {
    index,
    kind,
    text,
    violations: j.violations,
    critic: j.calls,
    answersRequest: j.answersRequest,
    truncated: j.truncated,
    weight: weightOf(j.violations),
  };
}

/** Judges the user's input before any model call: `block` (and `revise`, which cannot apply to input) refuse; `flag` lets it through. */
export async function judgeInput(input: JudgeInput, deps: LoopDeps): Promise<StageResult> {
  const j = await judge('input', input, input.text, deps);
  const round = roundOf(0, 'input', input.text, j);
  const base = {
    stage: 'input' as const,
    rounds: [round],
    text: input.text,
    criticTokens: j.tokens,
    revisionUsage: zeroUsage(),
  };
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
  return {
    ...base,
    verdict: j.violations.length > 0 ? 'flagged' : 'pass',
    reason: j.violations.length > 0 ? 'flag-only violations' : 'no violations',
    chosen: 0,
    violations: j.violations,
  };
}

/**
 * Holds an answer to the output principles: judge the draft; while a `revise` principle is broken and
 * rounds remain, revise (one call fixing every open violation) and judge the revision against all
 * principles again. Stops at the first clean round; if none is clean, the least-violating round decides.
 */
export async function reviseUntilClean(input: JudgeInput, deps: LoopDeps): Promise<StageResult> {
  const { constitution } = input;
  const principles = principlesFor(constitution, 'output');
  const rounds: Round[] = [];
  let criticTokens = 0;
  let revisionUsage = zeroUsage();
  const result = (
    r: Omit<StageResult, 'stage' | 'rounds' | 'criticTokens' | 'revisionUsage'>,
  ): StageResult => ({
    stage: 'output',
    rounds,
    criticTokens,
    revisionUsage,
    ...r,
  });

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

  let text = input.text;
  let pendingRevision: Round['revision'];
  // The last acceptable round: what the next revision starts from.
  let base: Round | undefined;
  for (let index = 0; ; index++) {
    const j = await judge('output', input, text, deps);
    criticTokens += j.tokens;
    const round = roundOf(index, index === 0 ? 'draft' : 'revision', text, j);
    if (pendingRevision) round.revision = pendingRevision;
    rounds.push(round);

    if (j.fault) return onError('critic', j.fault, j.violations);

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
    if (index > 0 && j.answersRequest === false)
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
        text,
        violations: j.violations,
      });
    }
    if (!round.failedRevision) base = round;
    if (index >= constitution.critic.max_revisions) break;

    const from = base ?? (rounds[0] as Round);
    const started = deps.now();
    let revised: ModelReply;
    try {
      revised = await deps.revise(
        revisionMessages(
          input.conversation,
          from.text,
          from.violations.filter((v) => v.action === 'revise'),
          principles,
        ),
      );
    } catch (err) {
      const message = `the revision call failed: ${err instanceof Error ? err.message : String(err)}`;
      return onError('revision', { code: 'critic_unavailable', message }, from.violations);
    }
    revisionUsage = addUsage(revisionUsage, revised.usage);
    pendingRevision = { latencyMs: deps.now() - started, usage: revised.usage };
    text = revised.content;
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
