// Reads a stream's events without a JSON parse each when they repeat one shape around their text delta.

type Path = (string | number)[];

/** A string no upstream sends: it marks where the text sits while the shape is learnt. */
const marker = '\u0000tenet:text\u0000';
/** A string body that is not the text as written: an escape, a quote (the string would end there), a control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what JSON strings may not hold.
const notPlain = /["\\\u0000-\u001f]/;
/** How often a stream's shape is learnt again after its events stopped matching it (then: parsed, each one). */
const maxLearns = 4;

type Container = Record<string | number, unknown>;

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
 * An upstream streams most of an answer as events alike but for their text delta
 * (`{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"…"},"finish_reason":null}]}`). Once such an event
 * was parsed, `learn` keeps the bytes before and after its text. An event with the same bytes around another JSON
 * string is then read as a copy of the learnt one with that text in place: the objects on the way to the text
 * are copied, the rest is shared (readers must not change what they did not copy: TextSlot.set changes only the
 * text's own object). Any other event is parsed. The same bytes around one string are the same JSON tree, so the
 * result is what JSON.parse would give; it costs a few string comparisons instead of a parse, where the parse
 * was most of what relaying a stream cost.
 */
export class EventShape {
  #prefix = '';
  #suffix = '';
  #name: string | undefined;
  #path: Path = [];
  #root: Container | undefined;
  #learns = 0;
  /** The last event parsed whole around one text (its name): the next like it is worth learning. */
  #candidate: string | undefined | null = null;

  /** The event's data as JSON (throws as JSON.parse does); `matched` says whether the learnt shape read it. */
  read(data: string, name: string | undefined): { json: unknown; matched: boolean } {
    const json = this.#root && name === this.#name ? this.#match(data) : undefined;
    if (json === undefined) return { json: JSON.parse(data), matched: false };
    this.#candidate = null;
    return { json, matched: true };
  }

  /**
   * Learns the shape of an event just parsed whole: `text` is its one text delta, and `set` puts another text in
   * its place (the codec's slot). Kept only when the event's bytes are exactly its JSON around that text. Learnt
   * from the second such event in a row (same name), not the first: a stream's first event (a role, a block's
   * start) and its last (a finish) are of shapes that do not repeat, and after events the learnt shape read, the
   * one that did not match is most often the last.
   */
  learn(
    data: string,
    name: string | undefined,
    json: Container,
    text: string,
    set: (text: string) => void,
  ): void {
    const second = this.#candidate === name;
    this.#candidate = name;
    if (!second || this.#learns >= maxLearns) return;
    this.#learns++;
    this.#root = undefined;
    set(marker);
    let written: string;
    let path: Path | undefined;
    try {
      written = JSON.stringify(json);
      path = pathTo(json, marker, []);
    } finally {
      set(text);
    }
    const literal = JSON.stringify(marker);
    const at = written.indexOf(literal);
    if (!path || path.length === 0 || at === -1) return;
    const prefix = written.slice(0, at);
    const suffix = written.slice(at + literal.length);
    if (prefix + JSON.stringify(text) + suffix !== data) return;
    this.#prefix = prefix;
    this.#suffix = suffix;
    this.#name = name;
    this.#path = path;
    this.#root = json;
  }

  #match(data: string): unknown {
    const start = this.#prefix.length;
    const end = data.length - this.#suffix.length;
    if (end < start + 2 || data.charCodeAt(start) !== 34 || data.charCodeAt(end - 1) !== 34) return undefined;
    if (data.slice(0, start) !== this.#prefix || data.slice(end) !== this.#suffix) return undefined;
    const body = data.slice(start + 1, end - 1);
    let text = body;
    if (notPlain.test(body)) {
      // Escapes (a newline, a quote): read as JSON; a body that is not one string (a quote ends it early) is not
      // this shape, and the event is parsed whole.
      try {
        text = JSON.parse(`"${body}"`) as string;
      } catch {
        return undefined;
      }
    }
    return this.#withText(text);
  }

  /** The learnt event with `text` at its path: every object on the way copied, the rest shared. */
  #withText(text: string): Container {
    const root = this.#root as Container;
    const copy = (v: Container): Container => (Array.isArray(v) ? [...v] : { ...v }) as Container;
    const out = copy(root);
    let from = root;
    let to = out;
    const last = this.#path.length - 1;
    for (let i = 0; i < last; i++) {
      const key = this.#path[i] as string | number;
      const child = from[key] as Container;
      const own = copy(child);
      to[key] = own;
      from = child;
      to = own;
    }
    to[this.#path[last] as string | number] = text;
    return out;
  }
}
