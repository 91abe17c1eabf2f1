// Keeps Tenet's configured secrets out of the answers it sends: whole answers, and streams split at any point.
import type { EventShape } from './event-shape.ts';
import type { DeltaCodec, SseEvent, TextSlot } from './exchange/protocol.ts';

/** What a secret becomes in an answer (the same marker the log uses). */
export const secretMask = '[redacted]';

/** The secrets worth scrubbing, longest first (a secret that contains another is replaced whole). */
export function scrubbable(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
}

function replaceAll(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(secretMask);
  return out;
}

/**
 * A whole JSON answer (any protocol's) without the secrets, or undefined when it has none. The check runs on
 * the serialized answer, so a secret written with JSON `\u` escapes by the upstream is found as well.
 */
export function scrubJson<T>(answer: T, secrets: readonly string[]): T | undefined {
  if (secrets.length === 0) return undefined;
  const json = JSON.stringify(answer);
  let out = json;
  for (const secret of secrets) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (out.includes(escaped)) out = out.split(escaped).join(secretMask);
  }
  return out === json ? undefined : (JSON.parse(out) as T);
}

/** True when raw answer text may hold a secret (as written, or hidden behind `\u` escapes). */
export function mayHoldSecret(raw: string, secrets: readonly string[]): boolean {
  if (secrets.length === 0) return false;
  if (raw.includes('\\u')) return true;
  for (const secret of secrets) if (raw.includes(secret)) return true;
  return false;
}

/**
 * Scrubs streamed texts (a choice's content, a content block, a tool call's arguments) delta by delta. A secret
 * split over any number of deltas never goes out: text that could be the start of a secret is held back until
 * the next delta shows whether it is (then it is masked) or not (then it goes out unchanged).
 */
export class StreamScrubber {
  private readonly held = new Map<string, string>();

  constructor(readonly secrets: readonly string[]) {}

  /** The text to send now for this delta of stream `key`. */
  push(key: string, delta: string): string {
    const held = this.held.size === 0 ? undefined : this.held.get(key);
    const text = replaceAll(held === undefined ? delta : held + delta, this.secrets);
    const keep = this.partialSuffix(text);
    if (keep === 0) {
      if (held !== undefined) this.held.delete(key);
      return text;
    }
    this.held.set(key, text.slice(text.length - keep));
    return text.slice(0, text.length - keep);
  }

  /**
   * Whether `text`, as the next deltas of stream `key` together, goes out as it is: nothing of the stream held
   * back, no secret in it, and its end no beginning of one. Then each of those deltas goes out unchanged, whatever
   * push() would have held back between them (it would only have sent the same text later), and nothing is held.
   */
  passes(key: string, text: string): boolean {
    if (this.held.size > 0 && this.held.has(key)) return false;
    for (const secret of this.secrets) if (text.includes(secret)) return false;
    return this.partialSuffix(text) === 0;
  }

  /** What is still held back for stream `key` at its end (the start of a secret that never came). */
  flush(key: string): string {
    const rest = this.held.get(key) ?? '';
    this.held.delete(key);
    return rest;
  }

  /** Keys that still hold text. */
  pending(): string[] {
    return [...this.held.keys()];
  }

  /** Whether any text is held back at all (the common case: none). */
  get holding(): boolean {
    return this.held.size > 0;
  }

  /** The length of the longest end of `text` that is the beginning of a secret (0 when none). */
  private partialSuffix(text: string): number {
    let longest = 0;
    for (const secret of this.secrets) {
      const first = secret.charCodeAt(0);
      for (let k = Math.min(secret.length - 1, text.length); k > longest; k--) {
        if (text.charCodeAt(text.length - k) === first && text.endsWith(secret.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}

/**
 * `text.split(/(\r?\n\r?\n)/)` without the regular expression: the events (even places) and the blank-line
 * separators between them (odd places), so joining the parts gives the text back.
 */
export function splitEvents(text: string): string[] {
  if (text.includes('\r')) return text.split(/(\r?\n\r?\n)/);
  const parts: string[] = [];
  let from = 0;
  for (let at = text.indexOf('\n\n'); at !== -1; at = text.indexOf('\n\n', from)) {
    parts.push(text.slice(from, at), '\n\n');
    from = at + 2;
  }
  parts.push(text.slice(from));
  return parts;
}

/** Shared empty lists for the common event (one data line, no text or one): never written to. */
const noSlots: readonly TextSlot[] = [];
const noTexts: readonly string[] = [];

const ignore = () => {};
const noneClosed = (closes: string[] | 'all') => closes !== 'all' && closes.length === 0;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Scrubs the events of a piece of SSE text (whole events only), in any protocol: `codec` says where its text
 * deltas are and where they end. Every event is also handed to `seen` (parsed, before scrubbing) so a caller that
 * assembles the answer parses it once. Returns the text to send: the input itself when nothing changed, rewritten
 * events where a secret was masked or held back. Text still held when its text ends goes out in an extra event
 * just before the one that ends it. `shape` (one per stream) reads events alike but for their text without a
 * JSON parse each; where `appender` (the assembler's, see StreamAssembler.appender) can add such an event's text
 * alone, those events are not even built: their text is added, scrubbed, and written back only if it changed.
 */
export function scrubSseEvents(
  text: string,
  scrubber: StreamScrubber,
  codec: DeltaCodec,
  seen?: (event: SseEvent) => void,
  shape?: EventShape,
  appender?: (event: SseEvent, key: string) => ((text: string) => void) | undefined,
): string {
  // What goes out: the input's bytes up to `copied`, then `pieces`; built only once an event changes.
  const pieces: string[] = [];
  let copied = 0;
  const replace = (start: number, end: number, block: string) => {
    pieces.push(text.slice(copied, start), block);
    copied = end;
  };
  // Events are cut at blank lines (`\n\n`, or with `\r`: then all at once, as the regular expression does).
  const parts = text.includes('\r') ? splitEvents(text) : undefined;
  let part = 0;
  /** A run of the lane's events that needs reading event by event (a secret in it) ends here. */
  let byEvent = 0;
  for (let next = 0; next !== -1; ) {
    const start = next;
    let end: number;
    if (parts) {
      if (part >= parts.length) break;
      end = start + (parts[part] as string).length;
      const separator = parts[part + 1];
      next = separator === undefined ? -1 : end + separator.length;
      part += 2;
    } else {
      const at = text.indexOf('\n\n', start);
      end = at === -1 ? text.length : at;
      next = at === -1 ? -1 : at + 2;
    }
    const lane = shape?.lane;
    if (lane && !parts && start >= byEvent) {
      // The lane's events in a row, taken together: when their texts together hold no secret and end in no
      // beginning of one, they go out as they came, and the stream's copy takes their texts at once.
      const run = shape.run(text, start);
      if (run) {
        if (scrubber.passes(lane.key, run.text)) {
          lane.add(run.text);
          next = run.end;
          continue;
        }
        byEvent = run.end;
      }
    }
    const block = text.slice(start, end);
    // An event's other fields (id:, event:, comments) stay as they are; its data lines are read as one. The common
    // event is one `data:` line alone: read without splitting it into lines.
    const single = block.startsWith('data:') && !block.includes('\n');
    if (lane && single) {
      // The learnt shape's lane: an event like the one it was learnt from but for its text differs from it in
      // nothing else (no secret outside the text, no text it ends), so its text is all there is to read.
      const at = block[5] === ' ' ? 6 : 5;
      const delta = shape.textOf(block.slice(at), undefined);
      if (delta !== undefined) {
        lane.add(delta);
        const out = scrubber.push(lane.key, delta);
        if (out !== delta) {
          replace(start, end, block.slice(0, at) + shape.dataWith(out));
        }
        continue;
      }
    }
    const lines = single ? [block] : block.split(/\r?\n/);
    const dataLines = single ? lines : lines.filter((l) => l.startsWith('data:'));
    if (dataLines.length === 0) {
      // A comment or a field without data: nothing to assemble, but no secret goes out in it either.
      if (!mayHoldSecret(block, scrubber.secrets)) continue;
      const masked = replaceAll(block, scrubber.secrets);
      if (masked !== block) {
        replace(start, end, masked);
      }
      continue;
    }
    const data = single
      ? block.slice(block[5] === ' ' ? 6 : 5)
      : dataLines.map((l) => l.slice(l[5] === ' ' ? 6 : 5)).join('\n');
    const nameLine = single ? undefined : lines.find((l) => l.startsWith('event:'));
    const name = nameLine === undefined ? undefined : nameLine.slice(6).trim();
    let event: Record<string, unknown> | '[DONE]';
    let matched = false;
    if (data === '[DONE]') event = '[DONE]';
    else {
      let json: unknown;
      try {
        ({ json, matched } = shape ? shape.read(data, name) : { json: JSON.parse(data), matched: false });
      } catch {
        seen?.({ event: name, data });
        // Not JSON: the client sees it as the upstream sent it, but for the secrets.
        const masked = replaceAll(block, scrubber.secrets);
        if (masked !== block) {
          replace(start, end, masked);
        }
        continue;
      }
      seen?.({ event: name, data, json });
      if (!isObject(json)) continue;
      event = json;
    }
    // No secret and no `\u` escape in the event: none of its texts needs a second look as a whole (its deltas are
    // still scrubbed, since a secret can be split over several of them). An event its shape read differs from the
    // one the shape was learnt from (an event without any) in its text alone: nothing else to look at.
    const clean = (matched && single && shape?.textOnly === true) || !mayHoldSecret(block, scrubber.secrets);
    let rewritten = false;
    const slots = event === '[DONE]' ? noSlots : codec.texts(event, name);
    // An event parsed whole around one text: its shape may read the events like it (learnt before any scrub, and
    // only from an event with nothing to mask outside its text, which the events it reads then share).
    const only = slots.length === 1 ? slots[0] : undefined;
    if (shape && only && !matched && clean && event !== '[DONE]') {
      shape.learn(data, name, event, only);
      // A shape of one text, learnt from an event that ends no text: its like may take the lane (see above),
      // where the stream's copy, if any, can take their text alone.
      if (shape.textOnly && single && noneClosed(codec.closes(event, name))) {
        const add = seen ? appender?.({ event: name, data, json: event }, only.key) : ignore;
        if (add) shape.lane = { key: only.key, add };
      }
    }
    const sent: string[] = [];
    for (const slot of slots) {
      const out = scrubber.push(slot.key, slot.text);
      sent.push(out);
      if (out !== slot.text) {
        slot.set(out);
        rewritten = true;
      }
    }
    // Text ending with this event: what is still held goes out with it (in its own delta when it has one, else
    // in an event of its own just before it).
    let carriers = '';
    if (scrubber.holding) {
      const closes = codec.closes(event, name);
      const pending = scrubber.pending();
      const keys = closes === 'all' ? pending : closes.filter((k) => pending.includes(k));
      for (const key of keys) {
        const rest = scrubber.flush(key);
        const at = slots.findIndex((slot) => slot.key === key);
        const own = slots[at];
        if (own) {
          own.set((sent[at] ?? '') + rest);
          rewritten = true;
        } else if (rest) carriers += codec.carrier(key, rest);
      }
    }
    // Whole texts outside the deltas (a `*.done` event, the final response, an error) are masked as they are.
    let payload = rewritten && event !== '[DONE]' ? JSON.stringify(event) : data;
    if (event !== '[DONE]' && (rewritten || !clean) && mayHoldSecret(payload, scrubber.secrets)) {
      const masked = scrubJson(JSON.parse(payload) as unknown, scrubber.secrets);
      if (masked !== undefined) {
        payload = JSON.stringify(masked);
        rewritten = true;
      }
    }
    // Comments and other fields of the event (`event:`, `id:`, `: …`) keep no secret either.
    const fields = single ? noTexts : lines.filter((l) => !l.startsWith('data:'));
    const others = fields.length === 0 || clean ? fields : fields.map((l) => replaceAll(l, scrubber.secrets));
    const fieldsChanged = others !== fields && others.some((l, k) => l !== fields[k]);
    if (!rewritten && !carriers && !fieldsChanged) continue;
    replace(start, end, carriers + [...others, `data: ${payload}`].join('\n'));
  }
  if (pieces.length === 0) return text;
  pieces.push(text.slice(copied));
  return pieces.join('');
}
