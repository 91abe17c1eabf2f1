// Builds the log record of a request from what the pipeline returned, applying the constitution's content setting.
import type { Constitution } from '../constitution/schema.ts';
import { detectors } from '../constitution/schema.ts';
import { maskDetected } from '../detectors.ts';
import {
  type LoggedVerdict,
  type RequestRecord,
  type RoundRecord,
  recordWeight,
  type ShadowRecord,
  type StageRecord,
  type ViolationRecord,
} from '../log-record.ts';
import type { Round, StageResult } from '../loop.ts';
import type { Redactor } from '../redact.ts';
import { principlesFor } from '../verdict.ts';
import type { Draft, Usage } from './conversation.ts';
import type { Enforcement } from './enforce.ts';
import type { ProtocolId } from './protocol.ts';
import type { ShadowJudgement } from './shadow.ts';

/** The upstream draft call, for the record: its time, its tokens, and whether Tenet cancelled it. */
export interface DraftCall {
  latencyMs: number;
  usage: Usage | null;
  /** Asked for while the input was judged (draft_with_input). */
  withInput?: boolean;
  /** Asked for alongside the input and cancelled when the input was blocked (its tokens then unknown). */
  cancelled?: boolean;
}

export interface RecordInput {
  id: string;
  /** The client's own id for the request, if it sent one. */
  clientRequestId?: string | undefined;
  time: number;
  keyId: string;
  /** The client-facing API the request came in on. */
  protocol: ProtocolId;
  constitution: Constitution;
  model: string;
  criticModel: string | null;
  stream: boolean;
  latencyMs: number;
  verdict: LoggedVerdict;
  prompt: string;
  input: StageResult | undefined;
  /** The upstream's answer (absent when the input was blocked or the upstream failed). */
  draft: Draft | undefined;
  draftCall: DraftCall | null;
  enforcement: Enforcement | undefined;
  /** The text the first choice went out with (the draft's, the revision, or the refusal). */
  final: string | null | undefined;
  /** Earlier turns kept by the upstream (`previous_response_id`), not seen or judged by Tenet. */
  serverSideHistory?: string | undefined;
  /** Scrubs configured secrets (always applied, whatever the content setting). */
  redact: Redactor;
  /** Why the answer stopped early (a stream broken off or left by the client): kept in the reason. */
  cutShort?: string | undefined;
  /** Verdict `error`: the error the client got instead of an answer. */
  error?: { code: string; status: number; message: string } | undefined;
}

/** Longest text kept per field: a record must fit a D1 row (about 1 MB) with every round in it. */
export const maxStoredChars = 32_768;

/** The content setting applied to one text: as is, personal data and keys masked, or not kept at all. */
export function contentOf(
  text: string | null | undefined,
  setting: Constitution['logging']['content'],
  redact: Redactor,
) {
  if (text === null || text === undefined || setting === 'none') return null;
  const scrubbed = redact(text);
  const kept = setting === 'redacted' ? maskDetected(scrubbed, detectors) : scrubbed;
  if (kept.length <= maxStoredChars) return kept;
  return `${kept.slice(0, maxStoredChars)}\n[… ${kept.length - maxStoredChars} more characters not stored]`;
}

/** A shadow judgement as the record keeps it: evidence per the primary's content setting, secrets scrubbed. */
export function shadowRecordOf(
  j: ShadowJudgement,
  setting: Constitution['logging']['content'],
  redact: Redactor,
): ShadowRecord {
  return {
    ...j,
    violations: j.violations.map((v) => ({
      ...v,
      evidence: contentOf(v.evidence, setting, redact),
      critique: redact(v.critique),
    })),
  };
}

/** The estimated weight of the record `r` builds, without building it (see PendingRecord). */
export function partsWeight(r: RecordInput): number {
  let chars = r.prompt.length + (r.final?.length ?? 0) + (r.error?.message.length ?? 0);
  let parts = 1;
  for (const choice of r.draft?.choices ?? []) chars += choice.text?.length ?? 0;
  const stages = [r.input, ...(r.enforcement?.choices ?? []).map((c) => c.result)];
  for (const stage of stages) {
    for (const round of stage?.rounds ?? []) {
      chars += round.text.length;
      parts++;
      for (const v of round.violations) {
        chars += (v.evidence?.length ?? 0) + v.critique.length;
        parts++;
      }
    }
  }
  return recordWeight(chars, parts);
}

export function buildRecord(r: RecordInput): RequestRecord {
  const setting = r.constitution.logging.content;
  const text = (t: string | null | undefined) => contentOf(t, setting, r.redact);
  const violations: ViolationRecord[] = [];
  const stageRecord = (result: StageResult, choice: number): StageRecord => {
    const rounds = result.rounds.map((round: Round): RoundRecord => {
      const ids = round.violations.map((v, n) => {
        const id = `${r.id}:${choice}:${round.index}:${n}`;
        violations.push({
          id,
          stage: result.stage,
          choice,
          round: round.index,
          principle: v.principle,
          severity: v.severity,
          action: v.action,
          source: v.source,
          evidence: text(v.evidence),
          critique: r.redact(v.critique),
          ...(v.at ? { at: v.at } : {}),
        });
        return id;
      });
      return {
        index: round.index,
        kind: round.kind,
        text: text(round.text),
        violations: ids,
        ...(round.toolCalls.length > 0
          ? {
              toolCalls: round.toolCalls.map((t) => ({
                name: r.redact(t.name),
                arguments: text(t.arguments),
              })),
            }
          : {}),
        critic: round.critic.map((c) => ({
          attempt: c.attempt,
          latencyMs: c.latencyMs,
          tokens: c.tokens,
          ...(c.promptTokens !== undefined ? { promptTokens: c.promptTokens } : {}),
          ...(c.cachedTokens !== undefined ? { cachedTokens: c.cachedTokens } : {}),
          ...(c.window !== undefined ? { window: c.window } : {}),
          cached: c.cached,
          ...(c.fault ? { fault: { code: c.fault.code, message: r.redact(c.fault.message) } } : {}),
        })),
        ...(round.revision
          ? { revision: { latencyMs: round.revision.latencyMs, usage: round.revision.usage } }
          : {}),
        answersRequest: round.answersRequest,
        ...(round.failedRevision ? { failedRevision: round.failedRevision } : {}),
        truncated: round.truncated,
        ...(round.unjudgedChars > 0 ? { unjudgedChars: round.unjudgedChars } : {}),
        ...(round.windows ? { windows: round.windows } : {}),
        ...(round.span ? { span: round.span } : {}),
      };
    });
    return {
      stage: result.stage,
      choice,
      verdict: result.verdict,
      reason: result.reason,
      chosen: result.chosen,
      ...(result.criticFault ? { criticFault: result.criticFault.code } : {}),
      rounds,
    };
  };

  const stages: StageRecord[] = [];
  // The input stage is kept when the constitution judges inputs at all.
  if (r.input && principlesFor(r.constitution, 'input').length > 0) stages.push(stageRecord(r.input, -1));
  for (const c of r.enforcement?.choices ?? []) if (c.result) stages.push(stageRecord(c.result, c.choice));

  const outputs = stages.filter((s) => s.stage === 'output');
  const criticFault = stages.find((s) => s.criticFault)?.criticFault ?? null;
  const reasons = stages.map((s) => (s.stage === 'input' ? `input: ${s.reason}` : s.reason));
  if (r.enforcement?.choices.some((c) => !c.result)) reasons.push('not critiqued: an empty answer');
  if (r.serverSideHistory) reasons.push(r.serverSideHistory);
  if (r.draftCall?.withInput && r.input?.verdict === 'blocked')
    reasons.push(
      r.draftCall.cancelled
        ? 'the draft asked for alongside the input was cancelled (its tokens are not known)'
        : `the draft asked for alongside the input was not sent (${r.draftCall.usage?.total_tokens ?? 0} tokens spent)`,
    );
  if (r.cutShort) reasons.push(r.cutShort);
  if (r.error) reasons.push(`failed (${r.error.code}, HTTP ${r.error.status}): ${r.redact(r.error.message)}`);
  const draftUsage = r.draftCall?.usage?.total_tokens ?? 0;
  const revisionTokens = outputs
    .flatMap((s) => s.rounds)
    .reduce((sum, round) => sum + (round.revision?.usage.total_tokens ?? 0), 0);
  const criticTokens = stages
    .flatMap((s) => s.rounds)
    .reduce((sum, round) => sum + round.critic.reduce((a, c) => a + c.tokens, 0), 0);
  const draftText = r.draft?.choices[0]?.text;
  const draft = text(draftText);

  return {
    id: r.id,
    time: r.time,
    keyId: r.keyId,
    clientRequestId: r.clientRequestId ?? null,
    protocol: r.protocol,
    constitution: r.constitution.name,
    constitutionHash: r.constitution.hash,
    model: r.model,
    criticModel: r.criticModel,
    verdict: r.verdict,
    stream: r.stream,
    rounds: Math.max(0, ...outputs.map((s) => s.rounds.length)),
    revisions: r.enforcement?.revisions ?? 0,
    latencyMs: Math.round(r.latencyMs),
    modelTokens: draftUsage + revisionTokens,
    criticTokens,
    criticError: criticFault,
    reason: reasons.join('; ') || 'no principles judged this request',
    prompt: text(r.prompt),
    draft,
    // Usually the final is the draft itself: scrubbed and masked once.
    final: r.final === draftText ? draft : text(r.final),
    content: setting,
    draftCall: r.draftCall,
    error: r.error ? { ...r.error, message: r.redact(r.error.message) } : null,
    stages,
    violations,
  };
}
