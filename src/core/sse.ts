// Server-sent events: splitting a byte stream into whole events, and writing the events Tenet sends.
import type { OpenAIErrorBody } from './errors.ts';
import type { SseEvent } from './exchange/protocol.ts';

const LF = 10;
const CR = 13;

/** Where the last event boundary (a blank line) in `bytes` ends, or -1. Works on bytes: no decoding. */
function lastBoundaryEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= 1; i--) {
    if (bytes[i] !== LF) continue;
    if (bytes[i - 1] === LF) return i + 1;
    if (bytes[i - 1] === CR && bytes[i - 2] === LF) return i + 1;
  }
  return -1;
}

/**
 * Accumulates bytes and hands out whole events only, so a stream cut mid-event never forwards half
 * an event. `push` returns the complete events' bytes (the input itself when it ends on a boundary).
 */
export class SseFramer {
  #pending: Uint8Array | undefined;

  push(chunk: Uint8Array): Uint8Array | undefined {
    let buf = chunk;
    if (this.#pending) {
      buf = new Uint8Array(this.#pending.length + chunk.length);
      buf.set(this.#pending);
      buf.set(chunk, this.#pending.length);
      this.#pending = undefined;
    }
    const end = lastBoundaryEnd(buf);
    if (end === -1) {
      this.#pending = buf;
      return undefined;
    }
    if (end < buf.length) this.#pending = buf.slice(end);
    return end === buf.length ? buf : buf.subarray(0, end);
  }

  /** Bytes received after the last complete event (non-zero means the stream stopped mid-event). */
  get pendingBytes(): number {
    return this.#pending?.length ?? 0;
  }
}

/**
 * Whole events' bytes (what SseFramer hands out) as text, chunk by chunk. A framed chunk ends at a blank line, so
 * never inside a character: each is decoded alone. (A decoder given `{ stream: true }` even once leaves Node 20's
 * UTF-8 fast path for good and decodes through ICU, about five times slower.) The stream's first chunk loses a
 * byte-order mark, as a streaming decoder's would; later ones keep what they hold.
 */
export class EventsDecoder {
  static readonly #first = new TextDecoder();
  static readonly #later = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  #started = false;

  decode(events: Uint8Array): string {
    const decoder = this.#started ? EventsDecoder.#later : EventsDecoder.#first;
    this.#started = true;
    return decoder.decode(events);
  }
}

const done = [91, 68, 79, 78, 69, 93]; // [DONE]
const dataField = [100, 97, 116, 97, 58]; // data:

/** True when `events` holds a `data: [DONE]` line (not merely the text [DONE] inside some content). */
export function containsDone(events: Uint8Array): boolean {
  // From the end: a stream's [DONE] is its last event.
  for (let at = events.lastIndexOf(91); at !== -1; at = at === 0 ? -1 : events.lastIndexOf(91, at - 1)) {
    if (!bytesAt(events, at, done)) continue;
    let start = at - 1;
    if (events[start] === 32) start--; // the optional space after `data:`
    const field = start - dataField.length + 1;
    const atLineStart = field === 0 || events[field - 1] === LF || events[field - 1] === CR;
    const next = events[at + done.length];
    if (atLineStart && bytesAt(events, field, dataField) && (next === LF || next === CR)) return true;
  }
  return false;
}

/** Whether `bytes` holds `expected` at `at`. */
function bytesAt(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  for (let k = 0; k < expected.length; k++) if (bytes[at + k] !== expected[k]) return false;
  return true;
}

/** The `data:` payloads of complete SSE events, in order (comments and other fields skipped). */
export function sseData(events: string): string[] {
  return parseSse(events).map((e) => e.data);
}

/** An error event the official SDKs raise as an `APIError` (they throw on a `data` object with `error`). */
export function sseError(body: OpenAIErrorBody): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** The events of a piece of SSE text holding whole events: their names and data (comments skipped). */
export function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block === '') continue;
    const data: string[] = [];
    let event: string | undefined;
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      else if (line.startsWith('event:')) event = line.slice(6).trim();
    }
    if (data.length > 0) out.push({ event, data: data.join('\n') });
  }
  return out;
}
