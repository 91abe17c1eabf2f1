// POST /v1/chat/completions: judges the input, gets the draft upstream, holds it to the constitution, returns it.
import type { Context } from 'hono';
import { buildRecord, shadowRecordOf } from '../core/build-record.ts';
import { parseChatRequest } from '../core/chat-request.ts';
import { ChunkAssembler, type Completion, completionToSse, refusalCompletion } from '../core/completion.ts';
import { type Config, secretsOf } from '../core/config.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { type ChoiceViolation, type Enforcement, enforceOutput, worse } from '../core/enforce.ts';
import { TenetError } from '../core/errors.ts';
import type { LoggedVerdict } from '../core/log-record.ts';
import { judgeInput, type StageResult } from '../core/loop.ts';
import {
  mayHoldSecret,
  StreamScrubber,
  scrubbable,
  scrubCompletion,
  scrubSseEvents,
} from '../core/secret-scrub.ts';
import { judgeShadow } from '../core/shadow.ts';
import { sseData } from '../core/sse.ts';
import { lastUserText, principlesFor } from '../core/verdict.ts';
import type { AppEnv } from './app-env.ts';
import { deferredSse, type JudgedStream, sseHeaders } from './deferred-sse.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { conversationOf, loopDepsFor } from './loop-deps.ts';
import { relaySse, upstreamEvents } from './sse-relay.ts';
import { upstreamFailure } from './upstream-failure.ts';

interface Outcome {
  verdict: LoggedVerdict;
  violations: ChoiceViolation[];
  revisions: number;
  criticTokens: number;
  criticError?: string | undefined;
}

/** The x-tenet-* headers of DESIGN.md for an outcome. */
export function verdictHeaders(constitution: Constitution, outcome: Outcome): Record<string, string> {
  return {
    'x-tenet-verdict': outcome.verdict,
    'x-tenet-violations': [...new Set(outcome.violations.map((v) => v.principle))].join(','),
    'x-tenet-revisions': String(outcome.revisions),
    'x-tenet-constitution': `${constitution.name}@${constitution.hash}`,
    'x-tenet-critic-tokens': String(outcome.criticTokens),
    ...(outcome.criticError ? { 'x-tenet-critic-error': outcome.criticError } : {}),
  };
}

function parseCompletion(text: string): Completion {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && Array.isArray((json as { choices?: unknown }).choices)) {
      return json as Completion;
    }
  } catch {
    // fall through
  }
  throw new TenetError(
    'upstream_invalid_response',
    'The upstream model sent an answer that is not a chat completion.',
  );
}

/** In error mode a block is an HTTP error; in message mode (default) it is a normal answer that refuses. */
function blockedError(constitution: Constitution, outcome: Outcome): TenetError | undefined {
  if (constitution.on_block.mode !== 'error') return undefined;
  return new TenetError('content_blocked', constitution.on_block.message, {
    status: constitution.on_block.status,
    headers: verdictHeaders(constitution, outcome),
  });
}

const inputViolations = (result: StageResult): ChoiceViolation[] =>
  result.violations.map((v) => ({ ...v, choice: -1, round: 0 }));

export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const { upstream, config, redact, logger } = c.var.deps;
  const secrets = answerSecrets(config);
  const constitution = c.var.constitution;
  const requestId = c.var.requestId;
  const text = await c.req.text();
  const request = parseChatRequest(text);
  // Built first: headers the upstream would refuse are the client's error, before any critic call is spent.
  const upstreamHeaders = toUpstreamHeaders(c.req.raw.headers);
  const stream = request.stream === true;
  const includeUsage = request.stream_options?.include_usage === true;
  const conversation = conversationOf(request);
  const signal = c.req.raw.signal;
  const started = Date.now();
  let draftCall: { latencyMs: number; usage: Completion['usage'] | null } | null = null;

  // Input principles are judged before the draft: a blocked input never reaches the upstream.
  const input = await judgeInput(
    { constitution, conversation: conversation.slice(0, -1), text: lastUserText(request.messages) },
    loopDepsFor(c, request, signal),
  );
  const fromInput: Outcome = {
    verdict: input.verdict,
    violations: inputViolations(input),
    revisions: 0,
    criticTokens: input.criticTokens,
    criticError: input.criticFault?.code,
  };
  /** Logs the verdict and queues the request's record (written after the response). */
  const finish = (
    outcome: Outcome,
    parts: {
      enforcement?: Enforcement;
      draft?: Completion;
      final?: Completion;
      reason: string;
      cutShort?: string;
      error?: { code: string; status: number; message: string };
    },
  ) => {
    // One record per request, whatever happens after (a block sent as an error is recorded before it is thrown).
    if (recorded) return;
    recorded = true;
    logVerdict(c, outcome, parts.reason);
    // TENET_LOG=off: no record to build, and no shadow judgement that nobody would see.
    if (!config.logEnabled) return;
    const record = buildRecord({
      id: requestId,
      time: started,
      keyId: c.var.clientKeyId,
      constitution,
      model: request.model,
      criticModel:
        outcome.criticTokens > 0 ? (constitution.critic.model ?? config.criticModel ?? request.model) : null,
      stream,
      latencyMs: Date.now() - started,
      verdict: outcome.verdict,
      prompt: lastUserText(request.messages),
      input,
      draft: parts.draft,
      draftCall: draftCall ? { latencyMs: draftCall.latencyMs, usage: draftCall.usage ?? null } : null,
      enforcement: parts.enforcement,
      final: parts.final,
      redact,
      cutShort: parts.cutShort,
      error: parts.error,
    });
    const { logWriter, constitutions } = c.var.deps;
    const candidate = constitution.shadow ? constitutions.get(constitution.shadow) : undefined;
    if (!candidate || parts.error || parts.cutShort) {
      waitUntil(c, logWriter.record(record));
      return;
    }
    // Shadow mode: the candidate judges the same input and draft after the response; the record waits for it.
    const shadowed = judgeShadow(
      {
        candidate,
        context: conversation.slice(0, -1),
        prompt: lastUserText(request.messages),
        conversation,
        draft: parts.draft,
        primary: { input, enforcement: parts.enforcement },
      },
      constitution,
      loopDepsFor(c, request, undefined, candidate),
    ).then(
      (j) => ({ ...record, shadow: shadowRecordOf(j, constitution.logging.content, redact) }),
      (err: unknown) => {
        logger.error('shadow judging failed', { request_id: requestId, error: String(err) });
        return record;
      },
    );
    waitUntil(
      c,
      shadowed.then((r) => logWriter.record(r)),
    );
  };
  let recorded = false;
  /** A request that fails before its answer is recorded (verdict `error`, with what the client got), then fails. */
  const failed = (err: unknown): never => {
    const error = failureOf(err, signal.aborted);
    finish({ ...fromInput, verdict: 'error' }, { reason: `${error.code}: ${error.message}`, error });
    throw err;
  };

  try {
    if (input.verdict === 'blocked') {
      const refusal = refusalCompletion(request.model, constitution.on_block.message, request.n ?? 1);
      finish(fromInput, { final: refusal, reason: input.reason });
      const blocked = blockedError(constitution, fromInput);
      if (blocked) throw blocked;
      const headers = verdictHeaders(constitution, fromInput);
      if (stream)
        return c.body(completionToSse(refusal, { includeUsage }), 200, { ...sseHeaders, ...headers });
      return c.json(refusal, 200, headers);
    }

    // The client's bytes are forwarded as sent: every field, known or not, reaches the upstream intact.
    const sent = Date.now();
    const reply = await upstream.send({
      method: 'POST',
      path: '/chat/completions',
      headers: upstreamHeaders,
      body: text,
      apiKey: c.var.upstreamKey,
      signal,
    });
    if (!reply.response.ok) throw await upstreamFailure(reply, redact);

    const headers = Object.fromEntries(toClientHeaders(reply.response.headers));
    const judgesOutput = principlesFor(constitution, 'output').length > 0;
    const combine = (e: Enforcement | undefined): Outcome => ({
      verdict: worse(input.verdict, e?.verdict ?? 'pass'),
      violations: [...fromInput.violations, ...(e?.violations ?? [])],
      revisions: e?.revisions ?? 0,
      criticTokens: fromInput.criticTokens + (e?.criticTokens ?? 0),
      criticError:
        fromInput.criticError ?? e?.choices.find((ch) => ch.result?.criticFault)?.result?.criticFault?.code,
    });
    const enforce = (completion: Completion, mode: 'enforce' | 'audit', abort: AbortSignal | undefined) =>
      enforceOutput(completion, constitution, { conversation, deps: loopDepsFor(c, request, abort), mode });
    const isSse = (reply.response.headers.get('content-type') ?? '').includes('text/event-stream');

    if (stream && isSse) {
      const events = upstreamEvents(reply, config.streamIdleTimeoutMs);
      if (!judgesOutput || constitution.stream === 'audit') {
        // Nothing to hold back (or audit mode): relay chunk by chunk, as the upstream sends them, assembling
        // a copy for the record (and, in audit mode, for the critic after the fact).
        const copy = new ChunkAssembler();
        // With no record to write, nothing to audit and no secret to keep out, the chunks are not even decoded.
        const needsCopy = judgesOutput || config.logEnabled;
        const scrubber = secrets.length > 0 ? new StreamScrubber(secrets) : undefined;
        const body = relaySse(
          needsCopy || scrubber ? tap(events, needsCopy ? copy : undefined, scrubber) : events,
          {
            abort: () => reply.abort(),
            onEnd: (end) => {
              const draft = copy.result();
              draftCall = { latencyMs: Date.now() - sent, usage: draft.usage ?? null };
              if (end.kind !== 'done') {
                // Cut short (upstream broke off, or the client left): recorded as far as it went, never judged.
                const why =
                  end.kind === 'broken'
                    ? `upstream stream broken (${end.error.code})`
                    : 'client disconnected';
                if (end.kind === 'broken')
                  logger.warn('upstream stream broken', { request_id: requestId, code: end.error.code });
                const cutShort = `${judgesOutput ? 'not audited' : 'not judged'}: ${why} mid-stream`;
                if (end.kind === 'client_gone')
                  return finish(combine(undefined), { draft, final: draft, reason: cutShort, cutShort });
                // The client got the chunks so far and then an error event: the request failed.
                const error = failureOf(end.error, false);
                return finish(
                  { ...combine(undefined), verdict: 'error' },
                  { draft, final: draft, reason: cutShort, cutShort, error },
                );
              }
              if (!judgesOutput)
                return finish(combine(undefined), { draft, final: draft, reason: input.reason });
              // Audit: judged after the fact, outside the request (the client already has the answer).
              const judged = enforce(draft, 'audit', undefined).then(
                (e) =>
                  finish(combine(e), {
                    enforcement: e,
                    draft,
                    final: draft,
                    reason: `audit: ${reasonOf(e)}`,
                  }),
                (err: unknown) => {
                  logger.error('audit failed', { request_id: requestId, error: String(err) });
                  const cutShort = `not audited: the audit failed (${failureOf(err, false).message})`;
                  finish(combine(undefined), { draft, final: draft, reason: cutShort, cutShort });
                },
              );
              waitUntil(c, judged);
            },
          },
        );
        const streamHeaders = judgesOutput
          ? { 'x-tenet-mode': 'audit', 'x-tenet-constitution': `${constitution.name}@${constitution.hash}` }
          : verdictHeaders(constitution, combine(undefined));
        return c.body(body, 200, { ...headers, ...sseHeaders, ...streamHeaders });
      }

      // Buffer: the whole answer is judged (and revised) before a byte of it goes out.
      const judged = (async (): Promise<JudgedStream> => {
        let raw = '';
        const decoder = new TextDecoder();
        const assembler = new ChunkAssembler();
        for await (const bytes of events) {
          const chunk = decoder.decode(bytes, { stream: true });
          raw += chunk;
          for (const data of sseData(chunk)) {
            if (data === '[DONE]') continue;
            try {
              assembler.add(JSON.parse(data));
            } catch {
              throw new TenetError(
                'upstream_invalid_response',
                'The upstream model sent a stream chunk that is not JSON.',
              );
            }
          }
        }
        const draft = assembler.result();
        draftCall = { latencyMs: Date.now() - sent, usage: draft.usage ?? null };
        const enforcement = await enforce(draft, 'enforce', signal);
        const outcome = combine(enforcement);
        finish(outcome, { enforcement, draft, final: enforcement.completion, reason: reasonOf(enforcement) });
        const blocked = enforcement.verdict === 'blocked' ? blockedError(constitution, outcome) : undefined;
        if (blocked) throw blocked;
        // Unchanged: the upstream's own bytes go out. Changed: the final answer, streamed as proper chunks.
        const scrubbed =
          enforcement.changed || mayHoldSecret(raw, secrets)
            ? scrubCompletion(enforcement.completion, secrets)
            : undefined;
        const sse =
          enforcement.changed || scrubbed
            ? completionToSse(scrubbed ?? enforcement.completion, { includeUsage })
            : raw;
        return { headers: { ...headers, ...verdictHeaders(constitution, outcome) }, sse };
      })().catch((err: unknown) => failed(err));
      return deferredSse(c, judged, config.streamKeepAliveMs, () => reply.abort());
    }

    // The bytes go back as they came (no re-encoding) when nothing changes; the text is parsed to check them.
    const body = await reply.bytes();
    const raw = new TextDecoder().decode(body);
    const completion = parseCompletion(raw);
    draftCall = { latencyMs: Date.now() - sent, usage: completion.usage ?? null };
    headers['content-type'] = 'application/json';
    if (!judgesOutput) {
      finish(combine(undefined), { draft: completion, final: completion, reason: input.reason });
      const scrubbed = mayHoldSecret(raw, secrets) ? scrubCompletion(completion, secrets) : undefined;
      return c.body(scrubbed ? JSON.stringify(scrubbed) : body, reply.response.status as 200, {
        ...headers,
        ...verdictHeaders(constitution, combine(undefined)),
      });
    }
    const enforcement = await enforce(completion, 'enforce', signal);
    const outcome = combine(enforcement);
    finish(outcome, {
      enforcement,
      draft: completion,
      final: enforcement.completion,
      reason: reasonOf(enforcement),
    });
    const blocked = enforcement.verdict === 'blocked' ? blockedError(constitution, outcome) : undefined;
    if (blocked) throw blocked;
    const outHeaders = { ...headers, ...verdictHeaders(constitution, outcome) };
    const scrubbed =
      enforcement.changed || mayHoldSecret(raw, secrets)
        ? scrubCompletion(enforcement.completion, secrets)
        : undefined;
    if (!enforcement.changed && !scrubbed) return c.body(body, reply.response.status as 200, outHeaders);
    return c.body(JSON.stringify(scrubbed ?? enforcement.completion), 200, outHeaders);
  } catch (err) {
    return failed(err);
  }
}

/** What a failed request's client got (or, gone, did not wait for): the record's `error`. */
function failureOf(err: unknown, clientGone: boolean): { code: string; status: number; message: string } {
  if (clientGone)
    return {
      code: 'client_disconnected',
      status: 499,
      message: 'The client disconnected before the answer.',
    };
  if (err instanceof TenetError)
    return { code: err.wireCode ?? err.code, status: err.status, message: err.message };
  return { code: 'internal_error', status: 500, message: err instanceof Error ? err.message : String(err) };
}

function reasonOf(e: Enforcement): string {
  return e.choices.map((ch) => ch.result?.reason ?? 'not critiqued: no text (tool calls only)').join('; ');
}

/** One line per judged request (the full record goes to the log store): what was decided and why. */
function logVerdict(c: Context<AppEnv>, outcome: Outcome, reason: string): void {
  if (outcome.verdict === 'pass' && outcome.criticTokens === 0) return;
  c.var.deps.logger.info('verdict', {
    request_id: c.var.requestId,
    constitution: `${c.var.constitution.name}@${c.var.constitution.hash}`,
    verdict: outcome.verdict,
    violations: [...new Set(outcome.violations.map((v) => v.principle))].join(','),
    revisions: outcome.revisions,
    critic_tokens: outcome.criticTokens,
    critic_error: outcome.criticError,
    reason,
  });
}

/** Keeps work alive after the response (Workers' waitUntil; Node simply lets the promise run). */
function waitUntil(c: Context<AppEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context (Node): the promise runs on its own.
  }
}

/**
 * Passes events through while feeding their chunks to `assembler` (the record; audit mode judges after the
 * fact), and keeps configured secrets out of them (`scrubber`), parsing each event once for both.
 */
async function* tap(
  events: AsyncGenerator<Uint8Array>,
  assembler: ChunkAssembler | undefined,
  scrubber: StreamScrubber | undefined,
): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const last = {};
  for await (const chunk of events) {
    const text = decoder.decode(chunk, { stream: true });
    if (scrubber) {
      const out = scrubSseEvents(text, scrubber, assembler && ((c) => assembler.add(c)), last);
      yield out === text ? chunk : encoder.encode(out);
      continue;
    }
    for (const data of sseData(text)) {
      if (data === '[DONE]' || !assembler) continue;
      try {
        assembler.add(JSON.parse(data));
      } catch {
        // An unparseable chunk is the client's to see; the audit judges what it can.
      }
    }
    yield chunk;
  }
}

/** The configured secrets kept out of answers, worked out once per configuration. */
const secretsByConfig = new WeakMap<Config, string[]>();
function answerSecrets(config: Config): string[] {
  let secrets = secretsByConfig.get(config);
  if (!secrets) {
    secrets = scrubbable(secretsOf(config));
    secretsByConfig.set(config, secrets);
  }
  return secrets;
}
