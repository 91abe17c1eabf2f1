// One exchange through the proxy, in any protocol: judge the input, get the draft, hold it to the constitution, answer.
import type { Constitution } from '../constitution/schema.ts';
import { TenetError } from '../errors.ts';
import type { PendingRecord, RequestRecord } from '../log-record.ts';
import type { Logger } from '../logger.ts';
import type { LoopDeps, StageResult } from '../loop.ts';
import type { Redactor } from '../redact.ts';
import { mayHoldSecret, StreamScrubber, scrubJson } from '../secret-scrub.ts';
import { EventsDecoder, parseSse } from '../sse.ts';
import { principlesFor } from '../verdict.ts';
import { criticMessages, type Draft, type Usage } from './conversation.ts';
import { deferredSse, type JudgedStream, type Reply, sseHeaders } from './deferred-sse.ts';
import { type Enforcement, finalText } from './enforce.ts';
import { combineOutcome, inputOutcome, judgeInputStage, judgeOutputStage, type Outcome } from './judge.ts';
import { enforcementOf, type ProgressiveResult, progressiveEvents } from './progressive.ts';
import type { AnyProtocol, ParsedRequest, StreamAssembler } from './protocol.ts';
import { buildRecord, type DraftCall, partsWeight, type RecordInput, shadowRecordOf } from './record.ts';
import { judgeShadow, type ShadowJudgement } from './shadow.ts';
import { type RelayOutcome, SseRelay, type StreamSource, UpstreamEvents } from './sse-relay.ts';
import { eventTap } from './tap.ts';
import { verdictHeaders } from './verdict-headers.ts';

export type { Reply };

/** An upstream answer with a 2xx status (the port turns any other into the TenetError the client gets). */
export interface DraftReply extends StreamSource {
  /** Its headers as the client may see them (hop-by-hop and the upstream's cookies already dropped). */
  headers: Record<string, string>;
  status: number;
  bytes(): Promise<Uint8Array>;
}

/** What one exchange needs from the world: the HTTP layer binds these to the request; tests script them. */
export interface ExchangePorts {
  /** Tenet's own id: the record's id. */
  requestId: string;
  /** The client's own id for the request (stored apart, never the record's id). */
  clientRequestId?: string | undefined;
  keyId: string;
  constitution: Constitution;
  /** Shadow mode's candidate, when the constitution names one. */
  shadow?: Constitution | undefined;
  /** Sends the client's raw body to the protocol's upstream. */
  sendUpstream(body: string, signal: AbortSignal): Promise<DraftReply>;
  /** The loop's model calls judged by `constitution`'s critic, aborted by `signal` (none: runs to its end). */
  loopDeps(constitution: Constitution, signal: AbortSignal | undefined): LoopDeps;
  /** The critic model a constitution uses for this request (for the record). */
  criticModel(constitution: Constitution): string;
  /** Writes a record after the response (the log writer), or builds it first (a PendingRecord). */
  record(record: RequestRecord | PendingRecord): Promise<void>;
  /** Keeps work alive after the response (Workers' waitUntil). */
  background(work: Promise<unknown>): void;
  /**
   * Settles when the request's after-work (its verdict line, its record) may run: once the answer is on its way,
   * and on Node a little later, so a client's next request is not queued behind this one's record.
   */
  afterResponse(): Promise<void>;
  logger: Logger;
  redact: Redactor;
  /** The client's signal: aborted when it goes away. */
  signal: AbortSignal;
  logEnabled: boolean;
  streamIdleTimeoutMs: number;
  streamKeepAliveMs: number;
  /** Configured secrets no answer may carry (see scrubbable). */
  secrets: readonly string[];
}

/** What a failed request's client got (or, gone, did not wait for): the record's `error`. */
export function failureOf(
  err: unknown,
  clientGone: boolean,
): { code: string; status: number; message: string } {
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
  return e.choices.map((ch) => ch.result?.reason ?? 'not critiqued: an empty answer').join('; ');
}

/**
 * Whether the draft is asked for while the input is judged: only when an input principle needs the critic (checks
 * alone take no time), and by the constitution's `draft_with_input` (auto: answers not relayed as they come).
 */
function draftWithInput(constitution: Constitution, request: ParsedRequest): boolean {
  const when = constitution.draft_with_input;
  // auto: answers judged before they go out (JSON, progressive streams), not those relayed as they come.
  const relayed = request.stream && constitution.stream !== 'progressive';
  if (when === 'never' || (when === 'auto' && relayed)) return false;
  return principlesFor(constitution, 'input').some((p) => p.critique !== undefined);
}

/** The draft asked for alongside the input: its reply when the input passes, or cancelled when it is blocked. */
interface EarlyDraft {
  sent: number;
  reply: Promise<DraftReply>;
  /** Stops the call (or, when its JSON answer is already in, reads its tokens): what it cost, for the record. */
  cancel(protocol: AnyProtocol): Promise<DraftCall>;
  /** Stops the call without waiting (the request failed before the draft was needed). */
  abort(): void;
}

function startDraft(ports: ExchangePorts, rawBody: string): EarlyDraft {
  const sent = Date.now();
  const controller = new AbortController();
  const stop = () => controller.abort(ports.signal.reason);
  if (ports.signal.aborted) stop();
  else ports.signal.addEventListener('abort', stop, { once: true });
  let settled: DraftReply | undefined;
  const reply = ports.sendUpstream(rawBody, controller.signal).then((r) => {
    settled = r;
    return r;
  });
  // Awaited later when the input passes; a failure meanwhile is that await's to report.
  reply.catch(() => {});
  const abort = () => {
    ports.signal.removeEventListener('abort', stop);
    controller.abort(new Error('the input was blocked'));
    settled?.abort();
  };
  return {
    sent,
    reply,
    abort,
    async cancel(protocol) {
      const done = settled;
      const isJson = done && !(done.headers['content-type'] ?? '').includes('text/event-stream');
      if (done && isJson) {
        // The whole answer is already here (a JSON answer comes complete): its tokens were spent.
        try {
          const draft = protocol.draftOf(protocol.readAnswer(new TextDecoder().decode(await done.bytes())));
          return { latencyMs: Date.now() - sent, usage: draft.usage, withInput: true };
        } catch {
          // unreadable: counted as unknown below
        }
      }
      abort();
      return { latencyMs: Date.now() - sent, usage: null, withInput: true, cancelled: true };
    },
  };
}

interface Finish {
  enforcement?: Enforcement | undefined;
  draft?: Draft | undefined;
  final?: string | null | undefined;
  reason: string;
  cutShort?: string;
  error?: { code: string; status: number; message: string };
}

/**
 * Serves one parsed request: input principles before the draft (a blocked input never reaches the upstream), the
 * draft from the upstream in the client's protocol, output principles on every choice (JSON, a buffered stream, or
 * a relayed stream audited after), then the answer in the protocol's shapes and one record per request.
 */
export async function serveExchange(
  protocol: AnyProtocol,
  request: ParsedRequest,
  rawBody: string,
  ports: ExchangePorts,
): Promise<Reply> {
  const { constitution, signal, logger, requestId } = ports;
  const spec = {
    constitution,
    conversation: request.conversation,
    mode: 'enforce' as const,
    contract: request.contract,
  };
  const started = Date.now();
  let draftCall: DraftCall | null = null;
  // The draft alongside the input (draft_with_input): a clean answer then takes max(input, draft) + output.
  const early = draftWithInput(constitution, request) ? startDraft(ports, rawBody) : undefined;
  let input: StageResult;
  try {
    input = await judgeInputStage(spec, () => ports.loopDeps(constitution, signal));
  } catch (err) {
    early?.abort();
    throw err;
  }
  const fromInput = inputOutcome(input);

  let recorded = false;
  /** Logs the verdict and queues the request's record, both once the answer is on its way (see afterResponse). */
  const finish = (outcome: Outcome, parts: Finish) => {
    // One record per request, whatever happens after (a block sent as an error is recorded before it is thrown).
    if (recorded) return;
    recorded = true;
    const candidate = ports.logEnabled && !parts.error && !parts.cutShort ? ports.shadow : undefined;
    recordLater(ports, {
      requestId,
      constitution,
      outcome,
      reason: parts.reason,
      // TENET_LOG=off: no record to build, and no shadow judgement that nobody would see.
      record: ports.logEnabled
        ? {
            id: requestId,
            clientRequestId: ports.clientRequestId,
            time: started,
            keyId: ports.keyId,
            protocol: protocol.id,
            constitution,
            model: request.model,
            criticModel: outcome.criticTokens > 0 ? ports.criticModel(constitution) : null,
            stream: request.stream,
            latencyMs: Date.now() - started,
            verdict: outcome.verdict,
            prompt: input.text,
            input,
            draft: parts.draft,
            draftCall,
            enforcement: parts.enforcement,
            final: parts.final,
            redact: ports.redact,
            cutShort: parts.cutShort,
            error: parts.error,
            serverSideHistory: request.conversation.serverSideHistory,
          }
        : undefined,
      // Shadow mode: the candidate judges the same input and draft after the response; the record waits for it.
      shadow: candidate && {
        judge: () =>
          judgeShadow(
            {
              candidate,
              conversation: request.conversation,
              draft: parts.draft,
              primary: { input, enforcement: parts.enforcement },
            },
            constitution,
            ports.loopDeps(candidate, undefined),
          ),
      },
    });
  };
  /** A request that fails before its answer is recorded (verdict `error`, with what the client got), then fails. */
  const failed = (err: unknown): never => {
    const error = failureOf(err, signal.aborted);
    finish({ ...fromInput, verdict: 'error' }, { reason: `${error.code}: ${error.message}`, error });
    throw err;
  };
  /** In error mode a block is an HTTP error; in message mode (default) it is a normal answer that refuses. */
  const blockedError = (outcome: Outcome): TenetError | undefined =>
    constitution.on_block.mode === 'error'
      ? new TenetError('content_blocked', constitution.on_block.message, {
          status: constitution.on_block.status,
          headers: verdictHeaders(constitution, outcome),
        })
      : undefined;

  /** A stream cut short (the upstream broke off, or the client left): recorded as far as it went. */
  const endedEarly = (
    end: Exclude<RelayOutcome, { kind: 'done' }>,
    parts: Pick<Finish, 'draft' | 'final' | 'enforcement'>,
    what: string,
  ) => {
    const why = end.kind === 'broken' ? `upstream stream broken (${end.error.code})` : 'client disconnected';
    if (end.kind === 'broken')
      logger.warn('upstream stream broken', { request_id: requestId, code: end.error.code });
    const cutShort = `${what}: ${why} mid-stream`;
    if (end.kind === 'client_gone')
      return finish(combineOutcome(input, undefined), { ...parts, reason: cutShort, cutShort });
    // The client got the events so far and then an error event: the request failed.
    const error = failureOf(end.error, false);
    return finish(
      { ...combineOutcome(input, undefined), verdict: 'error' },
      { ...parts, reason: cutShort, cutShort, error },
    );
  };

  try {
    if (input.verdict === 'blocked') {
      // A draft asked for alongside the input never goes out: stopped, and what it cost recorded.
      if (early) draftCall = await early.cancel(protocol);
      const refusal = protocol.refusal(request, constitution.on_block.message);
      finish(fromInput, { final: constitution.on_block.message, reason: input.reason });
      const blocked = blockedError(fromInput);
      if (blocked) throw blocked;
      const headers = verdictHeaders(constitution, fromInput);
      if (request.stream)
        return {
          status: 200,
          headers: { ...sseHeaders, ...headers },
          body: protocol.toSse(refusal, request),
        };
      return {
        status: 200,
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(refusal),
      };
    }

    // The client's bytes are forwarded as sent: every field, known or not, reaches the upstream intact.
    const sent = early?.sent ?? Date.now();
    const reply = await (early?.reply ?? ports.sendUpstream(rawBody, signal));
    const withInput = early ? { withInput: true } : {};
    /** The draft call as the record keeps it, once its answer is in (or as far as a stream went). */
    const drafted = (usage: Usage | null) => {
      draftCall = { latencyMs: Date.now() - sent, usage, ...withInput };
    };
    const headers = { ...reply.headers };
    const judgesOutput = principlesFor(constitution, 'output').length > 0;
    const enforce = (draft: Draft, mode: 'enforce' | 'audit', abort: AbortSignal | undefined) =>
      judgeOutputStage({ ...spec, mode }, draft, ports.loopDeps(constitution, abort));
    const isSse = (headers['content-type'] ?? '').includes('text/event-stream');
    const secrets = ports.secrets;

    if (request.stream && isSse) {
      const events = new UpstreamEvents(reply, ports.streamIdleTimeoutMs, protocol.streamEnded);
      if (!judgesOutput || constitution.stream === 'audit') {
        // Nothing to hold back (or audit mode): relay chunk by chunk, as the upstream sends them, assembling a
        // copy for the record (and, in audit mode, for the critic after the fact).
        const copy = protocol.assembler();
        // With no record to write, nothing to audit and no secret to keep out, the events are not even decoded.
        const needsCopy = judgesOutput || ports.logEnabled;
        const scrubber = secrets.length > 0 ? new StreamScrubber(secrets) : undefined;
        const body = new SseRelay(events, {
          tap:
            needsCopy || scrubber
              ? eventTap(needsCopy ? copy : undefined, scrubber && { scrubber, codec: protocol.deltaCodec() })
              : undefined,
          abort: () => reply.abort(),
          errorEvent: (err) => protocol.sseError(err),
          onEnd: (end) => {
            const draft = draftFrom(protocol, copy);
            drafted(draft?.usage ?? null);
            const final = draft?.choices[0]?.text ?? null;
            if (end.kind !== 'done')
              return endedEarly(end, { draft, final }, judgesOutput ? 'not audited' : 'not judged');
            if (!judgesOutput || !draft)
              return finish(combineOutcome(input, undefined), { draft, final, reason: input.reason });
            // Audit: judged after the fact, outside the request (the client already has the answer).
            const judged = enforce(draft, 'audit', undefined).then(
              (e) =>
                finish(combineOutcome(input, e), {
                  enforcement: e,
                  draft,
                  final,
                  reason: `audit: ${e ? reasonOf(e) : 'no output principles'}`,
                }),
              (err: unknown) => {
                logger.error('audit failed', { request_id: requestId, error: String(err) });
                const cutShort = `not audited: the audit failed (${failureOf(err, false).message})`;
                finish(combineOutcome(input, undefined), { draft, final, reason: cutShort, cutShort });
              },
            );
            ports.background(judged);
          },
        });
        const streamHeaders = judgesOutput
          ? { 'x-tenet-mode': 'audit', 'x-tenet-constitution': `${constitution.name}@${constitution.hash}` }
          : verdictHeaders(constitution, combineOutcome(input, undefined));
        return { status: 200, headers: { ...headers, ...sseHeaders, ...streamHeaders }, body };
      }

      if (constitution.stream === 'progressive' && request.choices === 1) {
        // Progressive: released window by window as each passes; nothing unjudged goes out.
        const copy = protocol.assembler();
        let result: ProgressiveResult | undefined;
        const judged = progressiveEvents(events, {
          protocol,
          request,
          constitution,
          conversation: criticMessages(request.conversation),
          deps: ports.loopDeps(constitution, signal),
          keepAliveMs: ports.streamKeepAliveMs,
          stopUpstream: () => reply.abort(),
          copy,
          onResult: (r) => {
            result = r;
          },
        });
        const scrubber = secrets.length > 0 ? new StreamScrubber(secrets) : undefined;
        const body = new SseRelay(judged, {
          tap: scrubber && eventTap(undefined, { scrubber, codec: protocol.deltaCodec() }),
          abort: () => reply.abort(),
          errorEvent: (err) => protocol.sseError(err),
          onEnd: (end) => {
            const draft = draftFrom(protocol, copy);
            drafted(draft?.usage ?? null);
            const enforcement = result && enforcementOf(result);
            const final = result?.final ?? null;
            if (end.kind !== 'done' || !enforcement)
              return endedEarly(
                end.kind === 'done' ? { kind: 'client_gone' } : end,
                { draft, final, enforcement },
                'not all judged',
              );
            finish(combineOutcome(input, enforcement), {
              enforcement,
              draft,
              final,
              reason: reasonOf(enforcement),
            });
          },
        });
        const streamHeaders = {
          'x-tenet-mode': 'progressive',
          'x-tenet-constitution': `${constitution.name}@${constitution.hash}`,
        };
        return { status: 200, headers: { ...headers, ...sseHeaders, ...streamHeaders }, body };
      }

      // Buffer: the whole answer is judged (and revised) before a byte of it goes out.
      const judged = (async (): Promise<JudgedStream> => {
        let raw = '';
        const decoder = new EventsDecoder();
        const assembler = protocol.assembler();
        for await (const bytes of events) {
          const chunk = decoder.decode(bytes);
          raw += chunk;
          for (const event of parseSse(chunk)) assembler.add(event);
        }
        const answer = assembler.result();
        const draft = protocol.draftOf(answer);
        drafted(draft.usage);
        const enforcement = (await enforce(draft, 'enforce', signal)) as Enforcement;
        const outcome = combineOutcome(input, enforcement);
        finish(outcome, {
          enforcement,
          draft,
          final: finalText(draft, enforcement.finals),
          reason: reasonOf(enforcement),
        });
        const blocked = enforcement.verdict === 'blocked' ? blockedError(outcome) : undefined;
        if (blocked) throw blocked;
        // Unchanged: the upstream's own bytes go out. Changed: the final answer, streamed as proper events.
        const final = enforcement.changed
          ? protocol.applyFinal(answer, enforcement.finals, enforcement.revisionUsage, request)
          : answer;
        const scrubbed =
          enforcement.changed || mayHoldSecret(raw, secrets) ? scrubJson(final, secrets) : undefined;
        const sse = enforcement.changed || scrubbed ? protocol.toSse(scrubbed ?? final, request) : raw;
        return { headers: { ...headers, ...verdictHeaders(constitution, outcome) }, sse };
      })().catch((err: unknown) => failed(err));
      return deferredSse(judged, {
        keepAliveMs: ports.streamKeepAliveMs,
        onCancel: () => reply.abort(),
        errorEvent: (err) => protocol.sseError(err),
      });
    }

    // The bytes go back as they came (no re-encoding) when nothing changes; the text is parsed to check them.
    const body = await reply.bytes();
    const raw = new TextDecoder().decode(body);
    const answer = protocol.readAnswer(raw);
    const draft = protocol.draftOf(answer);
    drafted(draft.usage);
    headers['content-type'] = 'application/json';
    const enforcement = judgesOutput ? await enforce(draft, 'enforce', signal) : undefined;
    const outcome = combineOutcome(input, enforcement);
    finish(outcome, {
      enforcement,
      draft,
      final: finalText(draft, enforcement?.finals),
      reason: enforcement ? reasonOf(enforcement) : input.reason,
    });
    const blocked = enforcement?.verdict === 'blocked' ? blockedError(outcome) : undefined;
    if (blocked) throw blocked;
    const outHeaders = { ...headers, ...verdictHeaders(constitution, outcome) };
    const changed = enforcement?.changed === true;
    const final = changed
      ? protocol.applyFinal(answer, enforcement.finals, enforcement.revisionUsage, request)
      : answer;
    const scrubbed = changed || mayHoldSecret(raw, secrets) ? scrubJson(final, secrets) : undefined;
    if (!changed && !scrubbed) return { status: reply.status, headers: outHeaders, body };
    return { status: 200, headers: outHeaders, body: JSON.stringify(scrubbed ?? final) };
  } catch (err) {
    return failed(err);
  }
}

/** The draft a stream spelled out, as far as it went (undefined when it cannot be read at all). */
function draftFrom(protocol: AnyProtocol, copy: StreamAssembler<unknown>): Draft | undefined {
  try {
    return protocol.draftOf(copy.result());
  } catch {
    return undefined;
  }
}

/** What a finished request leaves for its after-work: plain values, nothing else of the request. */
interface AfterWork {
  requestId: string;
  constitution: Constitution;
  outcome: Outcome;
  reason: string;
  /** The record's parts (none when TENET_LOG=off). */
  record: RecordInput | undefined;
  /** Shadow mode: the candidate's judgement, which the record waits for. */
  shadow: { judge(): Promise<ShadowJudgement> } | undefined;
}

/**
 * A request's after-work, once the answer is on its way: its verdict line, then its record queued for the log
 * writer. Out here, not in serveExchange, and given only the record's parts: a callback made inside the exchange
 * would keep the request's whole scope alive (its parsed body, the upstream reply, the HTTP context behind the
 * ports) until the record is written, and under load every request then survives a young-generation collection or
 * two (`npm run bench`: a third of the CPU that logging cost a streamed answer). `ports`' after-work members
 * (afterResponse, background, record, logger) are the app's, not the request's.
 */
function recordLater(
  ports: Pick<ExchangePorts, 'afterResponse' | 'background' | 'record' | 'logger' | 'redact'>,
  work: AfterWork,
): void {
  // Read out of `ports` here: the callbacks below hold these, and not the request's ports object.
  const { record: queue, logger, redact } = ports;
  const { record: parts, outcome, shadow, requestId } = work;
  const done = ports
    .afterResponse()
    .then(() => {
      if (outcome.verdict !== 'pass' || outcome.criticTokens > 0) logVerdict(logger, work);
      if (!parts) return;
      // Built by the writer, with the other records of its batch (see PendingRecord).
      if (!shadow) return queue({ id: parts.id, bytes: partsWeight(parts), build: () => buildRecord(parts) });
      const record = buildRecord(parts);
      return shadow
        .judge()
        .then(
          (j) => ({ ...record, shadow: shadowRecordOf(j, parts.constitution.logging.content, redact) }),
          (err: unknown) => {
            logger.error('shadow judging failed', { request_id: requestId, error: String(err) });
            return record;
          },
        )
        .then((r) => queue(r));
    })
    .catch((err: unknown) => {
      logger.error('recording the request failed', { request_id: requestId, error: String(err) });
    });
  ports.background(done);
}

/** One line per judged request (the full record goes to the log store): what was decided and why. */
function logVerdict(logger: Logger, { outcome, reason, requestId, constitution }: AfterWork): void {
  logger.info('verdict', {
    request_id: requestId,
    constitution: `${constitution.name}@${constitution.hash}`,
    verdict: outcome.verdict,
    violations: [...new Set(outcome.violations.map((v) => v.principle))].join(','),
    revisions: outcome.revisions,
    critic_tokens: outcome.criticTokens,
    critic_error: outcome.criticError,
    reason,
  });
}

export type { StageResult };
