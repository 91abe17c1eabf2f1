// stream: progressive — the upstream's answer read as it comes, judged window by window, and released to the
// client only once a window passes: nothing unjudged is ever sent.
import type { Constitution } from '../constitution/schema.ts';
import type { ChatMessage } from '../critique.ts';
import { TenetError } from '../errors.ts';
import { type Judgement, judgeAnswer, type LoopDeps, type ModelReply } from '../judge-answer.ts';
import { type Round, type StageResult, weightOf } from '../loop.ts';
import { addedByRevision, continuationMessages } from '../revise.ts';
import { EventsDecoder, parseSse } from '../sse.ts';
import { principlesFor, type Verdict, type Violation } from '../verdict.ts';
import { addUsage, type ToolCallPart, type Usage, zeroUsage } from './conversation.ts';
import type { Enforcement } from './enforce.ts';
import type { AnyProtocol, DeltaCodec, ParsedRequest, StreamAssembler, StreamEnding } from './protocol.ts';
import type { EventChunks } from './sse-relay.ts';
import { assemble } from './tap.ts';

/** Where a sentence or a line ends (the whitespace after it belongs to the window before). */
const boundary = /[.!?…。！？]["'”’)\]]*\s+|\n\s*/g;

/**
 * How many characters of `pending` (text received and not yet judged) the next window takes: up to the last
 * sentence or line end once there are `chars` of them (at least a third of a window, so one long sentence still
 * waits), a word end when twice that came without any; all of it when nothing more will come. 0: not yet.
 */
export function windowCut(pending: string, chars: number, last: boolean): number {
  if (pending.length === 0) return 0;
  if (last) return pending.length;
  if (pending.length < chars) return 0;
  let end = 0;
  for (const m of pending.matchAll(boundary)) end = m.index + m[0].length;
  if (end >= chars / 3) return end;
  if (pending.length < 2 * chars) return 0;
  const space = pending.lastIndexOf(' ');
  return space > 0 ? space + 1 : pending.length;
}

/** A window as the record keeps it: where its text sits in its part, and whether the client got it. */
export interface WindowSpan {
  /** The text part (the protocol's delta key: a choice, a content part). */
  key: string;
  start: number;
  end: number;
  released: boolean;
}

/** What a progressive answer came to, for the record and the verdict headers. */
export interface ProgressiveResult {
  /** One round per window judged (the draft's windows, then each continuation's), in order. */
  stage: StageResult;
  /** The text the client got (every part joined), refusal included. */
  final: string;
  /** How the stream ended: the upstream's own end, a continuation's, or the refusal. */
  ending: 'upstream' | 'continuation' | 'refused';
  /** Continuation revisions asked for. */
  revisions: number;
}

export interface ProgressiveSpec {
  protocol: AnyProtocol;
  request: ParsedRequest;
  constitution: Constitution;
  /** The request's conversation as the critic reads it. */
  conversation: readonly ChatMessage[];
  deps: LoopDeps;
  keepAliveMs: number;
  /** Stops the upstream call: a continuation took over, or the rest is refused. */
  stopUpstream(): void;
  /** The record's copy of the upstream's answer: every upstream event goes into it (its tool calls are read back). */
  copy: StreamAssembler<unknown>;
  /** Called once when the stream is over (not when the client left or the upstream broke). */
  onResult(result: ProgressiveResult): void;
}

type Json = Record<string, unknown>;

/** A text delta of a held event: where it sits in its part's text, and how much of it went out. */
interface HeldText {
  key: string;
  start: number;
  text: string;
  set(text: string): void;
  sent: number;
}

/** An upstream event waiting for the text before it (or in it) to pass. */
interface Held {
  name: string | undefined;
  data: string;
  json: Json | undefined;
  texts: HeldText[];
  /** Part of a tool call: held until the calls are complete and judged. */
  tool: boolean;
  /** Already sent in part (the rest of its text then goes out in carrier events). */
  started: boolean;
}

/** One text part of the answer: what came (upstream, then continuations), what passed, what went out. */
interface Part {
  key: string;
  text: string;
  judged: number;
  released: number;
  sent: number;
  /** No more text will come for it. */
  closed: boolean;
}

/** Wakes whoever waits for something to change (new text, a verdict). */
class Signal {
  #waiters: Array<() => void> = [];
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
  /** Resolves true on the next notify, false after `ms`. */
  wait(ms = Number.POSITIVE_INFINITY): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(done);
      if (Number.isFinite(ms))
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== done);
          resolve(false);
        }, ms);
    });
  }
}

const encoder = new TextEncoder();
const keepAlive = encoder.encode(': keep-alive\n\n');
/** The part already shown, as the critic's context: its end (the critic reads context turns up to 2,000 chars). */
const shownChars = 1_800;

/**
 * The client's stream of a progressive answer. Reads the upstream's events as they come; the answer's text is cut
 * into windows (about `window.chars`, at sentence or line ends), each judged with the text released so far as
 * context, one after another while the upstream keeps streaming. A window that passes goes out (in the
 * upstream's own events); the events around the text follow in order, tool calls only once complete and judged.
 * A window that breaks a `revise` principle stops the upstream: a continuation revision writes the rest from the
 * released text, judged window by window the same way. A `block`, or revisions exhausted, ends the stream with the
 * constitution's refusal and the protocol's content-filter finish. Keep-alive comments go out while nothing else
 * does.
 */
export async function* progressiveEvents(
  upstream: EventChunks,
  spec: ProgressiveSpec,
): AsyncGenerator<Uint8Array> {
  const { constitution, deps, protocol } = spec;
  const codec: DeltaCodec = protocol.deltaCodec();
  const ending: StreamEnding = protocol.streamEnding(spec.request);
  const principles = principlesFor(constitution, 'output');
  const chars = constitution.window.chars;
  const cap = constitution.critic.max_judged_chars;
  const changed = new Signal();

  const queue: Held[] = [];
  const parts = new Map<string, Part>();
  let upstreamDone = false;
  let upstreamFailure: unknown;
  /** The upstream was stopped on purpose: what it sends (or fails with) after that is not the answer. */
  let stopped = false;
  let toolsJudged = false;
  let outbox = '';
  let over = false;
  let failure: unknown;

  const rounds: Round[] = [];
  const spans: WindowSpan[] = [];
  let criticTokens = 0;
  let revisionUsage: Usage = zeroUsage();
  let revisions = 0;
  let judgedChars = 0;
  let verdict: Verdict = 'pass';
  let reason = '';
  let criticFault: StageResult['criticFault'];
  let endedAs: ProgressiveResult['ending'] = 'upstream';
  let refusalText: string | undefined;

  const partOf = (key: string): Part => {
    let p = parts.get(key);
    if (!p) {
      p = { key, text: '', judged: 0, released: 0, sent: 0, closed: false };
      parts.set(key, p);
    }
    return p;
  };
  const shownText = () => [...parts.values()].map((p) => p.text.slice(0, p.released)).join('');

  /** Queues one upstream event: its answer text goes to its part, the event waits for it to pass. */
  const take = (event: { event?: string | undefined; data: string }) => {
    assemble(spec.copy, event);
    let json: Json | undefined;
    if (event.data !== '[DONE]') {
      try {
        const parsed = JSON.parse(event.data) as unknown;
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) json = parsed as Json;
      } catch {
        // not JSON: relayed in order as it is
      }
    }
    const held: Held = { name: event.event, data: event.data, json, texts: [], tool: false, started: false };
    if (json) {
      for (const slot of codec.texts(json, event.event)) {
        if (slot.tool) {
          held.tool = true;
          continue;
        }
        const part = partOf(slot.key);
        held.texts.push({ key: slot.key, start: part.text.length, text: slot.text, set: slot.set, sent: 0 });
        part.text += slot.text;
      }
      if (codec.toolEvent(json, event.event)) held.tool = true;
      const closes = codec.closes(json, event.event);
      for (const p of closes === 'all' ? parts.values() : closes.map(partOf)) p.closed = true;
    }
    queue.push(held);
  };

  /** Sends what may go out now: held events in order, as far as their text passed. */
  const flush = () => {
    while (queue.length > 0) {
      const held = queue[0] as Held;
      if (held.tool && !toolsJudged) return;
      let whole = true;
      let any = false;
      for (const t of held.texts) {
        const part = parts.get(t.key) as Part;
        const can = Math.max(0, Math.min(t.text.length, part.released - t.start));
        if (can < t.text.length) whole = false;
        if (can > t.sent) any = true;
      }
      if (!whole && !any) return;
      if (!held.started) {
        // The event itself, with as much of its text as passed (the rest follows in carrier events).
        let data = held.data;
        if (!whole) {
          for (const t of held.texts) {
            const part = parts.get(t.key) as Part;
            t.sent = Math.max(0, Math.min(t.text.length, part.released - t.start));
            t.set(t.text.slice(0, t.sent));
          }
          data = JSON.stringify(held.json);
        } else for (const t of held.texts) t.sent = t.text.length;
        for (const t of held.texts) (parts.get(t.key) as Part).sent = t.start + t.sent;
        if (held.json) ending.saw(held.json, held.name);
        outbox += `${held.name ? `event: ${held.name}\n` : ''}data: ${data}\n\n`;
        held.started = true;
      } else {
        for (const t of held.texts) {
          const part = parts.get(t.key) as Part;
          const can = Math.max(0, Math.min(t.text.length, part.released - t.start));
          if (can > t.sent) outbox += codec.carrier(t.key, t.text.slice(t.sent, can));
          t.sent = can;
          part.sent = t.start + can;
        }
      }
      if (held.texts.some((t) => t.sent < t.text.length)) return;
      queue.shift();
    }
    // Text no upstream event carries (a continuation's) goes out in carrier events.
    for (const part of parts.values()) {
      if (part.released > part.sent) {
        outbox += codec.carrier(part.key, part.text.slice(part.sent, part.released));
        part.sent = part.released;
      }
    }
  };

  const readUpstream = async () => {
    const decoder = new EventsDecoder();
    try {
      for await (const bytes of upstream) {
        if (stopped) break;
        for (const event of parseSse(decoder.decode(bytes))) take(event);
        // Events before any unjudged text (the role, the response's start) go out at once.
        flush();
        changed.notify();
      }
      if (!stopped) upstreamDone = true;
    } catch (err) {
      if (!stopped) upstreamFailure = err;
    }
    changed.notify();
  };

  /** Stops the upstream (a continuation takes over, or the rest is refused): what it had not sent is dropped. */
  const stopUpstream = () => {
    if (stopped) return;
    stopped = true;
    if (!upstreamDone) spec.stopUpstream();
    flush();
    queue.length = 0;
    for (const part of parts.values()) {
      part.text = part.text.slice(0, part.released);
      part.judged = part.released;
      part.closed = true;
    }
  };

  const refuse = (why: string) => {
    stopUpstream();
    // A continuation still being written is not the answer any more: its text is no longer taken.
    continuation = undefined;
    verdict = 'blocked';
    reason = why;
    endedAs = 'refused';
    const shown = shownText();
    const sep = shown === '' || shown.endsWith('\n\n') ? '' : shown.endsWith('\n') ? '\n' : '\n\n';
    refusalText = sep + constitution.on_block.message;
  };

  /** The next window to judge: the first part with enough new text (or its last). */
  const nextWindow = (): { part: Part; text: string } | undefined => {
    for (const part of parts.values()) {
      const pending = part.text.slice(part.judged);
      const last = part.closed || (upstreamDone && !stopped);
      const cut = windowCut(pending, chars, last);
      if (cut > 0) return { part, text: pending.slice(0, cut) };
    }
    return undefined;
  };

  /** Judges one window; `before` is the answer up to it (released, or in windows still being judged). */
  const judgeWindow = async (text: string, before: string): Promise<Judgement> => {
    const shown = before;
    const context: ChatMessage[] = shown
      ? [
          ...spec.conversation,
          {
            role: 'assistant',
            content: shown.length > shownChars ? `[…] ${shown.slice(-shownChars)}` : shown,
          },
        ]
      : [...spec.conversation];
    return judgeAnswer(
      'output',
      { constitution, conversation: context, progressive: true },
      { text, toolCalls: [] },
      deps,
    );
  };

  /** A continuation revision being written: its part, what it replaces, its call. */
  interface Continuation {
    part: Part;
    /** Where its text starts in its part (the released text before it stays). */
    from: number;
    /** The window it replaces and what that window broke (a failed continuation is asked again for them). */
    window: string;
    fixing: Violation[];
    /** The answer it must not add links, contacts or code to: the shown text and the window it replaces. */
    base: string;
    started: number;
    /** How long its call took (once done). */
    latencyMs?: number;
    /** The first round judged from its text (its call's time and tokens are recorded there). */
    firstRound?: Round;
    done: boolean;
    reply?: ModelReply;
    error?: unknown;
  }
  const continuations: Continuation[] = [];
  let continuation: Continuation | undefined;

  /**
   * Starts a continuation revision: the upstream is stopped and the model writes the rest of the answer from the
   * released text, fixing what `window` broke. Streamed where the reviser can: its text is cut into windows and
   * judged as it is written, like the upstream's.
   */
  const startContinuation = (part: Part, window: string, fixing: Violation[]) => {
    stopUpstream();
    revisions++;
    const shown = shownText();
    part.text = part.text.slice(0, part.released);
    part.judged = part.released;
    part.closed = false;
    const c: Continuation = {
      part,
      from: part.released,
      window,
      fixing,
      base: shown + window,
      started: deps.now(),
      done: false,
    };
    continuation = c;
    continuations.push(c);
    // The rest starts where the shown text stops: a repeated separator is dropped.
    let leading = /\s$/.test(shown);
    const onText = (delta: string) => {
      if (continuation !== c) return;
      let text = delta;
      if (leading) {
        text = text.replace(/^\s+/, '');
        if (!text) return;
        leading = false;
      }
      part.text += text;
      changed.notify();
    };
    const messages = continuationMessages(spec.conversation, shown, window, fixing, principles, deps.nonce());
    const call = deps.reviseStream
      ? deps.reviseStream(messages, onText)
      : deps.revise(messages).then((reply) => {
          onText(reply.content);
          return reply;
        });
    call.then(
      (reply) => {
        c.done = true;
        c.reply = reply;
        c.latencyMs = deps.now() - c.started;
        revisionUsage = addUsage(revisionUsage, reply.usage);
        if (continuation === c) part.closed = true;
        changed.notify();
      },
      (err: unknown) => {
        c.done = true;
        c.error = err;
        changed.notify();
      },
    );
  };

  /** A window being judged: judged alongside the ones before it, decided in order. */
  interface Judging {
    part: Part;
    start: number;
    text: string;
    verdict: Promise<Judgement>;
    done?: Judgement;
  }

  /**
   * Cuts windows as the text comes and judges each at once, alongside those before it (with the answer up to it
   * as context), so the last window's verdict comes one critic call after the upstream's end; verdicts are
   * decided in order, and a window is released only when every window before it was.
   */
  const judgeAll = async () => {
    let judging: Judging[] = [];
    for (;;) {
      if (upstreamFailure !== undefined) return;
      if (continuation?.error !== undefined) {
        const err = continuation.error;
        criticFault = {
          code: 'critic_unavailable',
          message: `the revision call failed: ${err instanceof Error ? err.message : String(err)}`,
        };
        refuse('the continuation call failed; the rest was refused');
        break;
      }
      for (let next = nextWindow(); next; next = nextWindow()) {
        const { part, text } = next;
        const start = part.judged;
        part.judged += text.length;
        judgedChars += text.length;
        const pastCap = cap !== undefined && judgedChars > cap;
        const before = [...parts.values()]
          .map((p) => (p === part ? p.text.slice(0, start) : p.text.slice(0, p.released)))
          .join('');
        // on_overflow: flag — past the cap the policy owner lets text through unjudged (block is decided below).
        const judged: Promise<Judgement> = pastCap
          ? Promise.resolve({
              violations: [],
              answersRequest: null,
              calls: [],
              unjudgedChars: text.length,
              tokens: 0,
            })
          : judgeWindow(text, before);
        const entry: Judging = { part, start, text, verdict: judged };
        judged.then(
          (j) => {
            entry.done = j;
            changed.notify();
          },
          () => changed.notify(),
        );
        judging.push(entry);
      }
      const head = judging[0];
      if (!head) {
        // Over once the upstream (or the continuation being written) sent everything and all of it was judged.
        const settled =
          (upstreamDone || stopped) &&
          !(continuation && !continuation.done) &&
          [...parts.values()].every((p) => p.judged >= p.text.length);
        if (settled) break;
        await changed.wait();
        continue;
      }
      if (!head.done) {
        // A verdict, or more text to cut a window from (a judging failure rejects here).
        await Promise.race([head.verdict, changed.wait()]);
        continue;
      }
      judging.shift();
      const { part, start, text } = head;
      const j = head.done;
      if (j.unjudgedChars > 0 && constitution.critic.on_overflow === 'block') {
        refuse(`the answer went over critic.max_judged_chars ${cap} (on_overflow: block)`);
        break;
      }
      if (j.unjudgedChars > 0) {
        verdict = verdict === 'pass' ? 'flagged' : verdict;
        reason ||= 'characters over critic.max_judged_chars not judged (on_overflow: flag)';
      }
      criticTokens += j.tokens;
      const round: Round = {
        index: rounds.length,
        kind: revisions > 0 ? 'revision' : 'draft',
        text,
        toolCalls: [],
        violations: j.violations,
        critic: j.calls,
        answersRequest: null,
        truncated: j.unjudgedChars > 0,
        unjudgedChars: j.unjudgedChars,
        weight: weightOf(j.violations),
      };
      const from =
        continuation && continuation.part === part && start >= continuation.from ? continuation : undefined;
      if (from && !from.firstRound) from.firstRound = round;
      rounds.push(round);
      const span: WindowSpan = { key: part.key, start, end: start + text.length, released: false };
      spans.push(span);
      const release = () => {
        part.released = start + text.length;
        span.released = true;
        flush();
        changed.notify();
      };

      // A continuation that brings in links, contacts or code the answer did not have failed, whatever the critic
      // said: asked again while revisions remain, else the rest is refused.
      const added =
        from &&
        addedByRevision(
          { text, toolCalls: [] },
          { text: from.base, toolCalls: [] },
          spec.conversation,
          principles,
        );
      if (from && added) {
        round.failedRevision = added;
        judging = [];
        if (revisions >= constitution.critic.max_revisions) {
          refuse(`the continuation failed: ${added}`);
          break;
        }
        startContinuation(part, from.window, from.fixing);
        continue;
      }
      if (j.fault) {
        if (constitution.critic.on_error !== 'fail_open') {
          criticFault = j.fault;
          refuse('critic failed; on_error fail_closed refused the rest');
          break;
        }
        criticFault ??= j.fault;
        verdict = verdict === 'pass' ? 'flagged' : verdict;
        reason ||= 'critic failed; on_error fail_open let a window through';
        release();
        continue;
      }
      if (j.violations.some((v) => v.action === 'block')) {
        refuse('a window breaks a block principle');
        break;
      }
      const open = j.violations.filter((v) => v.action === 'revise');
      if (open.length === 0) {
        if (j.violations.length > 0 && verdict === 'pass') verdict = 'flagged';
        release();
        continue;
      }
      if (revisions >= constitution.critic.max_revisions) {
        if (constitution.critic.on_exhausted === 'best_round') {
          verdict = 'flagged';
          reason = 'revisions exhausted; on_exhausted best_round released the last window';
          release();
          continue;
        }
        refuse(`revisions exhausted after ${revisions} continuation${revisions === 1 ? '' : 's'}`);
        break;
      }
      // The windows after it were judged on text that will not go out: their verdicts are not waited for.
      judging = [];
      startContinuation(part, text, open);
      endedAs = 'continuation';
      if (verdict !== 'blocked') verdict = 'revised';
    }
    if (endedAs === 'refused' || upstreamFailure !== undefined) return;
    // Tool calls come whole: judged once the upstream sent them, before any of their events goes out.
    const calls = stopped ? [] : toolCallsOf(protocol, spec.copy);
    if (calls.length > 0) {
      const j = await judgeAnswer(
        'output',
        { constitution, conversation: spec.conversation },
        { text: '', toolCalls: calls },
        deps,
      );
      criticTokens += j.tokens;
      rounds.push({
        index: rounds.length,
        kind: 'draft',
        text: '',
        toolCalls: calls,
        violations: j.violations,
        critic: j.calls,
        answersRequest: null,
        truncated: false,
        unjudgedChars: 0,
        weight: weightOf(j.violations),
      });
      const broken = j.violations.filter((v) => v.action !== 'flag');
      if (j.fault && constitution.critic.on_error !== 'fail_open') {
        criticFault = j.fault;
        refuse('critic failed on the tool calls; on_error fail_closed refused them');
        return;
      }
      if (broken.length > 0) {
        refuse('a tool call breaks a principle (progressive streams do not re-ask tool calls)');
        return;
      }
      if (j.violations.length > 0 && verdict === 'pass') verdict = 'flagged';
    }
    toolsJudged = true;
  };

  const finishAll = () => {
    flush();
    if (endedAs !== 'upstream') {
      const texts = new Map([...parts.values()].map((p) => [p.key, p.text.slice(0, p.released)]));
      outbox += ending.end({ texts, refusal: refusalText, usage: revisionUsage });
    }
    // Each continuation's call (its time and tokens) is recorded on the first round judged from its text.
    for (const c of continuations) {
      const round = c.firstRound ?? rounds.at(-1);
      if (round && c.reply) round.revision = { latencyMs: c.latencyMs ?? 0, usage: c.reply.usage };
    }
    const final = shownText() + (refusalText ?? '');
    const violations = rounds.flatMap((r) => r.violations);
    if (!reason)
      reason =
        endedAs === 'continuation'
          ? `clean after ${revisions} continuation${revisions === 1 ? '' : 's'}`
          : violations.length > 0
            ? 'flag-only violations'
            : 'no violations';
    spec.onResult({
      stage: {
        stage: 'output',
        verdict,
        reason: `progressive: ${spans.filter((s) => s.released).length} of ${rounds.length} window${rounds.length === 1 ? '' : 's'} released; ${reason}`,
        rounds: rounds.map((r, i) => (spans[i] ? { ...r, span: spans[i] } : r)),
        chosen: endedAs === 'refused' ? -1 : rounds.length - 1,
        text: final,
        violations,
        ...(criticFault ? { criticFault } : {}),
        criticTokens,
        revisionUsage,
      },
      final,
      ending: endedAs,
      revisions,
    });
  };

  const reading = readUpstream();
  const judging = judgeAll().then(
    () => {
      if (upstreamFailure === undefined) finishAll();
      over = true;
      changed.notify();
    },
    (err: unknown) => {
      failure = err;
      over = true;
      changed.notify();
    },
  );
  let lastSent = Date.now();
  try {
    for (;;) {
      if (outbox) {
        const out = outbox;
        outbox = '';
        lastSent = Date.now();
        yield encoder.encode(out);
        continue;
      }
      if (upstreamFailure !== undefined) throw upstreamFailure;
      if (failure !== undefined) {
        throw failure instanceof TenetError
          ? failure
          : new TenetError('internal_error', 'The server had an error while judging the answer.', {
              cause: failure,
            });
      }
      if (over) break;
      const woke = await changed.wait(Math.max(0, spec.keepAliveMs - (Date.now() - lastSent)));
      if (!woke && !outbox) {
        lastSent = Date.now();
        yield keepAlive;
      }
    }
  } finally {
    if (!over) {
      // The client left (or the stream failed): stop reading; the judging stops with the request's signal.
      stopped = true;
      spec.stopUpstream();
    }
    void reading;
    void judging;
  }
}

/** The tool calls of the answer a stream spelled out (none when it cannot be read as one). */
function toolCallsOf(protocol: AnyProtocol, copy: StreamAssembler<unknown>): ToolCallPart[] {
  try {
    return protocol.draftOf(copy.result()).choices[0]?.toolCalls ?? [];
  } catch {
    return [];
  }
}

/** A progressive answer as the exchange's enforcement of its one choice (the record, the outcome, the headers). */
export function enforcementOf(result: ProgressiveResult): Enforcement {
  const { stage } = result;
  return {
    finals: [
      result.ending === 'upstream'
        ? { index: 0, kind: 'unchanged' }
        : { index: 0, kind: 'revised', text: result.final },
    ],
    verdict: stage.verdict,
    violations: stage.rounds.flatMap((r) => r.violations.map((v) => ({ ...v, choice: 0, round: r.index }))),
    revisions: result.revisions,
    changed: result.ending !== 'upstream',
    choices: [{ choice: 0, result: stage }],
    criticTokens: stage.criticTokens,
    revisionUsage: stage.revisionUsage,
  };
}
