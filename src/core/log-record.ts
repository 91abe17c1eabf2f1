// The log record of one request: what was asked, every round and verdict, calls and tokens — texts per the content setting.
import { z } from 'zod';
import { actions, severities, stages } from './constitution/schema.ts';
import { protocolIds } from './exchange/protocol.ts';

/** A request's verdict: a stage's verdict, or `error` for a request that failed before an answer. */
export const verdicts = ['pass', 'revised', 'flagged', 'blocked', 'error'] as const;
const stageVerdicts = ['pass', 'revised', 'flagged', 'blocked'] as const;

export const violationRecordSchema = z.object({
  id: z.string(),
  stage: z.enum(stages),
  choice: z.number().int(),
  round: z.number().int(),
  principle: z.string(),
  severity: z.enum(severities),
  action: z.enum(actions),
  source: z.enum(['rule', 'critic']),
  /** null when the constitution logs no content. */
  evidence: z.string().nullable(),
  critique: z.string(),
  /** Where the evidence is: the answer's part (`text`, `tool_call:N`) and the offset in it (absent before 0010). */
  at: z.object({ part: z.string(), start: z.number().int() }).optional(),
});

const usage = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
});

export const roundRecordSchema = z.object({
  index: z.number().int(),
  kind: z.enum(['input', 'draft', 'revision']),
  text: z.string().nullable(),
  violations: z.array(z.string()),
  critic: z.array(
    z.object({
      attempt: z.number().int(),
      latencyMs: z.number(),
      tokens: z.number(),
      /** Prompt tokens and those the critic's provider served from its cache (when it reports them). */
      promptTokens: z.number().optional(),
      cachedTokens: z.number().optional(),
      cached: z.boolean(),
      /** The window of a long answer this call judged (absent when the answer fit one call). */
      window: z.number().int().optional(),
      fault: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
  revision: z.object({ latencyMs: z.number(), usage }).optional(),
  answersRequest: z.boolean().nullable(),
  failedRevision: z.string().optional(),
  /** Not every character was judged (over critic.max_judged_chars, on_overflow: flag). */
  truncated: z.boolean(),
  unjudgedChars: z.number().int().optional(),
  /** The answer's tool calls this round judged (texts per the content setting). */
  toolCalls: z.array(z.object({ name: z.string(), arguments: z.string().nullable() })).optional(),
  /** A long answer's windows: per critic call, the slices of each part it read. */
  windows: z
    .array(z.array(z.object({ part: z.string(), start: z.number().int(), end: z.number().int() })))
    .optional(),
  /** stream: progressive: the window this round judged (its text part, offsets) and whether it was released. */
  span: z
    .object({ key: z.string(), start: z.number().int(), end: z.number().int(), released: z.boolean() })
    .optional(),
});

export const stageRecordSchema = z.object({
  stage: z.enum(stages),
  choice: z.number().int(),
  verdict: z.enum(stageVerdicts),
  reason: z.string(),
  chosen: z.number().int(),
  criticFault: z.string().optional(),
  rounds: z.array(roundRecordSchema),
});

export const requestRecordSchema = z.object({
  id: z.string(),
  time: z.number(),
  keyId: z.string(),
  /** The client's own id for the request (`x-client-request-id`); never the record's id (absent before 0008). */
  clientRequestId: z.string().nullable().optional(),
  /** The client-facing API (absent in records older than migration 0007: chat completions). */
  protocol: z.enum(protocolIds).default('chat'),
  constitution: z.string(),
  constitutionHash: z.string(),
  model: z.string(),
  criticModel: z.string().nullable(),
  verdict: z.enum(verdicts),
  stream: z.boolean(),
  rounds: z.number().int(),
  revisions: z.number().int(),
  latencyMs: z.number(),
  modelTokens: z.number(),
  criticTokens: z.number(),
  criticError: z.string().nullable(),
  reason: z.string(),
  prompt: z.string().nullable(),
  draft: z.string().nullable(),
  final: z.string().nullable(),
  content: z.enum(['full', 'redacted', 'none']),
  /** The upstream draft call. */
  draftCall: z
    .object({
      latencyMs: z.number(),
      usage: usage.nullable(),
      /** Asked for while the input was judged (draft_with_input). */
      withInput: z.boolean().optional(),
      /** Cancelled when the input was blocked (its tokens not known). */
      cancelled: z.boolean().optional(),
    })
    .nullable(),
  /** Shadow mode: what the candidate constitution would have done with the same input and draft. */
  shadow: z
    .object({
      constitution: z.string(),
      verdict: z.enum(stageVerdicts),
      primaryVerdict: z.enum(stageVerdicts),
      violations: z.array(violationRecordSchema.omit({ id: true, round: true })),
      onlyShadow: z.array(z.string()),
      onlyPrimary: z.array(z.string()),
      disagrees: z.boolean(),
      criticTokens: z.number(),
      criticError: z.string().nullable(),
      latencyMs: z.number(),
    })
    .nullable()
    .optional(),
  /** Verdict `error`: what the client got instead of an answer (absent in records older than migration 0004). */
  error: z.object({ code: z.string(), status: z.number().int(), message: z.string() }).nullable().optional(),
  stages: z.array(stageRecordSchema),
  violations: z.array(violationRecordSchema),
});

export type ViolationRecord = z.infer<typeof violationRecordSchema>;
export type RoundRecord = z.infer<typeof roundRecordSchema>;
export type StageRecord = z.infer<typeof stageRecordSchema>;
export type RequestRecord = z.infer<typeof requestRecordSchema>;
export type LoggedVerdict = (typeof verdicts)[number];
export type ShadowRecord = NonNullable<RequestRecord['shadow']>;

/**
 * A record its writer builds when it writes it. Node's writer builds a batch's records together, just before
 * writing them: built one at a time, 25 ms after each answer and between other requests, a record cost several
 * times the CPU (its code and data gone cold by then; `npm run bench`, a streamed answer). `bytes`: its estimated
 * weight in memory (recordWeight), for the writer's bound on what it keeps while the store is down.
 */
export interface PendingRecord {
  id: string;
  bytes: number;
  build(): RequestRecord;
}

/** A record as its writer stores it: built now if it was pending. */
export const builtRecord = (record: RequestRecord | PendingRecord): RequestRecord =>
  'build' in record ? record.build() : record;

/** A record's estimated weight in memory: its texts (`chars`, UTF-16) plus an allowance per object (`parts`). */
export const recordWeight = (chars: number, parts: number) => 2 * chars + 1024 + 256 * parts;
