// Reads a stream's events without a JSON parse each when they repeat one shape around their text delta.
import type { TextSlot } from './exchange/protocol.ts';

type Path = (string | number)[];
type Container = Record<string | number, unknown>;

/** Strings no upstream sends: they mark where the varying strings sit while the shape is learnt. */
const markerOf = (i: number) => `\u0000tenet:hole:${i}\u0000`;
/** A string body that is not the text as written: an escape, a quote (the string would end there), a control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON strings may not hold.
const notPlain = /["\\\u0000-\u001f]/;
/** How often a stream's shape is learnt again after its events stopped matching it (then: parsed, each one). */
const maxLearns = 4;
/**
 * The most strings that may vary from one event of the shape to the next: the text, and what an upstream adds
 * per event (OpenAI's random `obfuscation` padding, unless the request's stream_options turn it off).
 */
const maxHoles = 3;

/** Where `target` sits in `value` (keys from the root), or undefined: `path` is the walk so far, reused. */
function pathTo(value: unknown, target: string, path: Path): Path | undefined {
  if (value === target) return [...path];
  if (typeof value !== 'object' || value === null) return undefined;
  const keys = Array.isArray(value) ? value.keys() : Object.keys(value);
  for (const key of keys) {
    path.push(key);
    const found = pathTo((value as Container)[key], target, path);
    path.pop();
    if (found) return found;
  }
  return undefined;
}

/**
 * The paths of the strings that differ between two trees of the same shape (same keys in the same order, same
 * numbers, booleans and nulls); undefined when their shapes differ.
 */
function differingStrings(a: unknown, b: unknown, path: Path, out: Path[]): Path[] | undefined {
  if (typeof a === 'string' && typeof b === 'string') {
    if (a !== b) out.push([...path]);
    return out;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return a === b ? out : undefined;
  if (Array.isArray(a) !== Array.isArray(b)) return undefined;
  const keys = Array.isArray(a) ? [...a.keys()] : Object.keys(a);
  const other = Array.isArray(b) ? [...b.keys()] : Object.keys(b);
  if (keys.length !== other.length) return undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string | number;
    if (key !== other[i]) return undefined;
    path.push(key);
    const found = differingStrings((a as Container)[key], (b as Container)[key], path, out);
    path.pop();
    if (!found) return undefined;
  }
  return out;
}

const copy = (v: Container): Container => (Array.isArray(v) ? [...v] : { ...v }) as Container;

const valueAt = (root: unknown, path: Path): unknown =>
  path.reduce<unknown>((v, key) => (v as Container)[key], root);

function setAt(root: Container, path: Path, value: unknown): void {
  const last = path.length - 1;
  (valueAt(root, path.slice(0, last)) as Container)[path[last] as string | number] = value;
}

/** The end of the JSON string whose opening quote is at `open` (the index of its closing quote), or -1. */
function stringEnd(data: string, open: number): number {
  for (let at = data.indexOf('"', open + 1); at !== -1; at = data.indexOf('"', at + 1)) {
    let slashes = 0;
    while (data.charCodeAt(at - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return at;
  }
  return -1;
}

/** A JSON string's body as written (between its quotes) read as the string, or undefined when it is not one. */
function jsonString(body: string): string | undefined {
  if (!notPlain.test(body)) return body;
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return undefined;
  }
}

/**
 * An upstream streams most of an answer as events alike but for their text delta (and, for some, a string of
 * their own each: OpenAI's `obfuscation`):
 * `{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"…"},"finish_reason":null}],"obfuscation":"…"}`.
 * From two such events in a row, `learn` keeps the bytes around the strings that vary (the text always among
 * them). An event with those same bytes around other JSON strings is then read as a copy of the learnt one with
 * those strings in place: the objects on the way to them are copied, the rest is shared (readers must not change
 * what they did not copy: TextSlot.set changes only the text's own object). Any other event is parsed. The same
 * bytes around JSON strings are the same JSON tree, so the result is what JSON.parse would give; it costs a few
 * string comparisons instead of a parse, where the parse was most of what relaying a stream cost.
 */
export class EventShape {
  /** The bytes between the varying strings: one more than there are strings. */
  #segments: string[] = [];
  /** The varying strings' paths, in the order they are written. */
  #holes: Path[] = [];
  #name: string | undefined;
  #root: Container | undefined;
  #learns = 0;
  /** The learnt one-text shape's bytes around a text as run() compares them, made once per shape. */
  #runBytes: { open: string; close: string; between: string } | undefined;
  /**
   * What the one reading the events (scrubSseEvents) does with an event of a learnt one-text shape instead of
   * reading it whole: its text key, and how the stream's copy takes the text alone. Set by that reader once a
   * shape is learnt; gone with the shape when another is learnt.
   */
  lane: { key: string; add(text: string): void } | undefined;
  /**
   * The event just learnt from: when the next event is parsed whole too (it did not keep the shape), the two are
   * compared for the other strings that vary. Forgotten once an event keeps the shape.
   */
  #candidate: { name: string | undefined; json: unknown } | undefined;

  /** Whether the learnt shape's events differ in their text alone (no other string varies). */
  get textOnly(): boolean {
    return this.#root !== undefined && this.#holes.length === 1;
  }

  /** The event's data as JSON (throws as JSON.parse does); `matched` says whether the learnt shape read it. */
  read(data: string, name: string | undefined): { json: unknown; matched: boolean } {
    const json = this.#root && name === this.#name ? this.#match(data) : undefined;
    if (json === undefined) return { json: JSON.parse(data), matched: false };
    this.#candidate = undefined;
    return { json, matched: true };
  }

  /**
   * Learns the shape of an event just parsed whole around its one text delta (`slot`, the codec's). Compared with
   * the event learnt from just before it (same name, same shape), the strings that differ between the two vary (the text, and what
   * an upstream adds per event); with no such event before it, the text alone does, learnt from the event itself
   * unless its text is empty (a stream's opening event most often: a role, a block's start, of a shape that does
   * not repeat). A shape that the next event then does not keep is learnt again from the two of them (only then
   * are two events compared). Kept only when the event's bytes are exactly its JSON around the varying strings.
   */
  learn(data: string, name: string | undefined, json: Container, slot: Pick<TextSlot, 'text' | 'set'>): void {
    const previous = this.#candidate;
    this.#candidate = undefined;
    if (this.#learns >= maxLearns) return;
    // (Compared as the previous event is now: a scrub may have changed its text, which is a varying string
    // anyway, and the shape is checked against this event's own bytes below.)
    const varying =
      previous && previous.name === name ? differingStrings(previous.json, json, [], []) : undefined;
    if (!varying && slot.text === '') return;
    this.#candidate = { name, json };
    const holes = varying ?? [];
    this.#learns++;
    this.#root = undefined;
    this.lane = undefined;
    // The text is one of them even when two deltas in a row are the same text.
    slot.set(markerOf(0));
    const textPath = pathTo(json, markerOf(0), []);
    slot.set(slot.text);
    if (!textPath) return;
    if (!holes.some((h) => h.length === textPath.length && h.every((k, i) => k === textPath[i])))
      holes.push(textPath);
    if (holes.length > maxHoles) return;
    if (holes.length === 1 && this.#learnText(data, name, json, slot.text, textPath)) return;
    const values = holes.map((h) => valueAt(json, h));
    if (values.some((v) => typeof v !== 'string')) return;
    let written: string;
    try {
      for (const [i, h] of holes.entries()) setAt(json, h, markerOf(i));
      written = JSON.stringify(json);
    } finally {
      for (const [i, h] of holes.entries()) setAt(json, h, values[i]);
    }
    // Cut the written event at its markers, in the order they appear.
    const found = holes
      .map((path, i) => {
        const literal = JSON.stringify(markerOf(i));
        return { path, value: values[i] as string, at: written.indexOf(literal), length: literal.length };
      })
      .sort((a, b) => a.at - b.at);
    if (found.some((f) => f.at === -1)) return;
    const segments: string[] = [];
    let from = 0;
    for (const f of found) {
      segments.push(written.slice(from, f.at));
      from = f.at + f.length;
    }
    segments.push(written.slice(from));
    const rebuilt =
      found.map((f, i) => `${segments[i]}${JSON.stringify(f.value)}`).join('') + segments.at(-1);
    if (rebuilt !== data) return;
    this.#keep(
      segments,
      found.map((f) => f.path),
      name,
      json,
    );
  }

  /**
   * The shape of an event whose text alone varies, learnt without markers: when its bytes are its compact JSON,
   * its text is written there as JSON.stringify writes it, and if those bytes occur there once, they are the
   * text's. False when they occur more than once (a text like another string of the event: learnt with markers).
   */
  #learnText(data: string, name: string | undefined, json: Container, text: string, path: Path): boolean {
    const literal = JSON.stringify(text);
    const at = data.indexOf(literal);
    if (at === -1 || data.indexOf(literal, at + 1) !== -1) return false;
    if (JSON.stringify(json) === data) {
      this.#keep([data.slice(0, at), data.slice(at + literal.length)], [path], name, json);
    }
    return true;
  }

  /** Keeps a learnt shape: the bytes between its varying strings, their paths, its event name, its tree. */
  #keep(segments: string[], holes: Path[], name: string | undefined, root: Container): void {
    this.#segments = segments;
    this.#holes = holes;
    this.#name = name;
    this.#root = root;
    // A one-text shape's event as a run reads it (see run): its start up to the text, its end after it.
    const [first, last] = segments;
    const open = `data: ${first}"`;
    const close = `"${last}\n\n`;
    this.#runBytes = holes.length === 1 ? { open, close, between: close + open } : undefined;
  }

  #match(data: string): unknown {
    const segments = this.#segments;
    const count = this.#holes.length;
    if (count === 1) {
      // The common shape: the text alone varies.
      const value = this.#onlyString(data);
      return value === undefined ? undefined : this.#withText(value);
    }
    // The bytes after the last string first: that string then ends just before them, with no search for its end.
    const last = segments[count] as string;
    const tail = data.length - last.length;
    if (tail < 0 || data.slice(tail) !== last) return undefined;
    const values: string[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const segment = segments[i] as string;
      if (data.slice(at, at + segment.length) !== segment) return undefined;
      const open = at + segment.length;
      const close = i === count - 1 ? tail - 1 : stringEnd(data, open);
      const value = this.#string(data, open, close);
      if (value === undefined) return undefined;
      values.push(value);
      at = close + 1;
    }
    return at === tail ? this.#withValues(values) : undefined;
  }

  /** The string of a one-string shape's event in `data`, or undefined when `data` is not such an event. */
  #onlyString(data: string): string | undefined {
    const [first, last] = this.#segments as [string, string];
    // The bytes after the string first: it then ends just before them, with no search for its end.
    const tail = data.length - last.length;
    if (tail < 0 || data.slice(tail) !== last || data.slice(0, first.length) !== first) return undefined;
    return this.#string(data, first.length, tail - 1);
  }

  /**
   * The text of an event of the learnt shape when only its text varies (see textOnly), without building the
   * event; undefined for any other event (then read it whole).
   */
  textOf(data: string, name: string | undefined): string | undefined {
    if (!this.textOnly || name !== this.#name) return undefined;
    const text = this.#onlyString(data);
    if (text !== undefined) this.#candidate = undefined;
    return text;
  }

  /**
   * The events of the learnt one-text shape in a row from `start` in `text` (each `data: ` and the learnt bytes
   * around its text, then a blank line: what textOf would read one by one), with their texts joined; undefined
   * when the event at `start` is not one. `end` is where the events after them begin. Each text ends at its
   * first unescaped quote, which must be followed by the learnt end and a blank line; the bytes between two such
   * events' texts (that end, the blank line, the next one's start) are compared in one go.
   */
  run(text: string, start: number): { end: number; text: string } | undefined {
    const bytes = this.#runBytes;
    if (!bytes || !this.textOnly || this.#name !== undefined) return undefined;
    const { open, close, between } = bytes;
    if (text.slice(start, start + open.length) !== open) return undefined;
    const texts: string[] = [];
    let end = start;
    for (let at = start + open.length; ; ) {
      const quote = stringEnd(text, at - 1);
      const value = quote === -1 ? undefined : jsonString(text.slice(at, quote));
      if (value === undefined) break;
      if (text.slice(quote, quote + between.length) === between) {
        texts.push(value);
        end = quote + close.length;
        at = end + open.length;
        continue;
      }
      if (text.slice(quote, quote + close.length) === close) {
        texts.push(value);
        end = quote + close.length;
      }
      break;
    }
    if (texts.length === 0) return undefined;
    this.#candidate = undefined;
    return { end, text: texts.length === 1 ? (texts[0] as string) : texts.join('') };
  }

  /** The data of the learnt one-text event with `text` in it: what JSON.stringify of that event would give. */
  dataWith(text: string): string {
    return `${this.#segments[0]}${JSON.stringify(text)}${this.#segments[1]}`;
  }

  /** The JSON string from the quote at `open` to the one at `close`, or undefined when that is not one string. */
  #string(data: string, open: number, close: number): string | undefined {
    if (close <= open || data.charCodeAt(open) !== 34 || data.charCodeAt(close) !== 34) return undefined;
    // Escapes (a newline, a quote) are read as JSON; a body that is not one string is not this shape.
    return jsonString(data.slice(open + 1, close));
  }

  /** The learnt event with `value` at its one hole: the objects on the way to it copied, the rest shared. */
  #withText(value: string): Container {
    const path = this.#holes[0] as Path;
    let from = this.#root as Container;
    const out = copy(from);
    let to = out;
    const last = path.length - 1;
    for (let i = 0; i < last; i++) {
      const key = path[i] as string | number;
      from = from[key] as Container;
      const own = copy(from);
      to[key] = own;
      to = own;
    }
    to[path[last] as string | number] = value;
    return out;
  }

  /** The learnt event with `values` at its holes: every object on the way copied (once), the rest shared. */
  #withValues(values: string[]): Container {
    const root = this.#root as Container;
    const out = copy(root);
    // The objects copied so far, as pairs (the holes' paths share most of their way).
    const originals: Container[] = [root];
    const copies: Container[] = [out];
    for (let h = 0; h < this.#holes.length; h++) {
      const path = this.#holes[h] as Path;
      let from = root;
      let to = out;
      const last = path.length - 1;
      for (let i = 0; i < last; i++) {
        const key = path[i] as string | number;
        const child = from[key] as Container;
        const seen = originals.indexOf(child);
        let own = seen === -1 ? undefined : copies[seen];
        if (!own) {
          own = copy(child);
          originals.push(child);
          copies.push(own);
          to[key] = own;
        }
        from = child;
        to = own;
      }
      to[path[last] as string | number] = values[h];
    }
    return out;
  }
}
