// Parses a JavaScript regular expression into a small tree with character sets, for the regex safety analysis.

/** A set of code points as sorted, disjoint, inclusive ranges `[lo, hi, lo, hi, …]`. */
export type CharSet = number[];

export type RegexNode =
  | { type: 'char'; set: CharSet; start: number; end: number }
  | { type: 'seq'; items: RegexNode[]; start: number; end: number }
  | { type: 'alt'; options: RegexNode[]; start: number; end: number }
  | { type: 'group'; body: RegexNode; index?: number; start: number; end: number }
  | { type: 'repeat'; body: RegexNode; min: number; max: number; start: number; end: number }
  /** Zero-width: `^ $ \b \B` (no body) and lookarounds (with a body, matched on their own). */
  | { type: 'assert'; body?: RegexNode; behind: boolean; start: number; end: number }
  | { type: 'backref'; ref: number | string; start: number; end: number };

const maxCodePoint = 0x10ffff;

export function normalise(ranges: number[]): CharSet {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i] as number, ranges[i + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) out[last] = Math.max(out[last] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

export function complement(set: CharSet): CharSet {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < set.length; i += 2) {
    if ((set[i] as number) > next) out.push(next, (set[i] as number) - 1);
    next = (set[i + 1] as number) + 1;
  }
  if (next <= maxCodePoint) out.push(next, maxCodePoint);
  return out;
}

export function intersect(a: CharSet, b: CharSet): CharSet {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i] as number, b[j] as number);
    const hi = Math.min(a[i + 1] as number, b[j + 1] as number);
    if (lo <= hi) out.push(lo, hi);
    if ((a[i + 1] as number) < (b[j + 1] as number)) i += 2;
    else j += 2;
  }
  return out;
}

const cp = (s: string) => s.codePointAt(0) as number;
const digit: CharSet = [48, 57];
const word: CharSet = normalise([48, 57, 65, 90, 95, 95, 97, 122]);
// JavaScript's \s: ASCII white space, line ends and the Unicode space separators.
const space: CharSet = normalise([
  9, 13, 32, 32, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f,
  0x3000, 0x3000, 0xfeff, 0xfeff,
]);
const lineEnds: CharSet = normalise([10, 10, 13, 13, 0x2028, 0x2029]);

const propertyCache = new Map<string, CharSet>();

/** The exact set of a `\p{…}`, found by asking the engine about every code point (once per property). */
function property(name: string): CharSet {
  const cached = propertyCache.get(name);
  if (cached) return cached;
  const re = new RegExp(`^\\p{${name}}$`, 'u');
  const out: number[] = [];
  let from = -1;
  for (let c = 0; c <= maxCodePoint + 1; c++) {
    const inside = c <= maxCodePoint && !(c >= 0xd800 && c <= 0xdfff) && re.test(String.fromCodePoint(c));
    if (inside && from < 0) from = c;
    if (!inside && from >= 0) {
      out.push(from, c - 1);
      from = -1;
    }
  }
  propertyCache.set(name, out);
  return out;
}

/** Adds the other case of every letter (ASCII exactly; other scripts by the engine's case mapping). */
function foldCase(set: CharSet): CharSet {
  const extra: number[] = [];
  for (let i = 0; i < set.length; i += 2) {
    const lo = set[i] as number;
    const hi = Math.min(set[i + 1] as number, lo + 4096);
    for (let c = lo; c <= hi; c++) {
      const s = String.fromCodePoint(c);
      for (const t of [s.toLowerCase(), s.toUpperCase()]) {
        if ([...t].length === 1 && t !== s) extra.push(cp(t), cp(t));
      }
    }
  }
  return extra.length ? normalise([...set, ...extra]) : set;
}

export class RegexSyntaxError extends Error {}

/** Parses `source` (already accepted by `new RegExp(source, flags)`) into a tree. */
export function parseRegex(source: string, flags: string): { root: RegexNode; groups: number } {
  const unicode = flags.includes('u');
  const ignoreCase = flags.includes('i');
  const dotAll = flags.includes('s');
  let at = 0;
  let groups = 0;
  const fail = (why: string): never => {
    throw new RegexSyntaxError(`${why} at position ${at}`);
  };
  const set = (s: CharSet) => (ignoreCase ? foldCase(s) : s);
  const peek = () => source[at];

  function readHex(n: number): number | undefined {
    const h = source.slice(at, at + n);
    if (h.length === n && /^[0-9a-fA-F]+$/.test(h)) {
      at += n;
      return Number.parseInt(h, 16);
    }
    return undefined;
  }

  /** After a backslash: a set of characters, or a non-character meaning for the caller. */
  function readEscape(inClass: boolean): CharSet | { assert: true } | { ref: number | string } {
    const c = source[at++];
    if (c === undefined) return fail('a pattern cannot end with a backslash');
    switch (c) {
      case 'd':
        return digit;
      case 'D':
        return complement(digit);
      case 'w':
        return word;
      case 'W':
        return complement(word);
      case 's':
        return space;
      case 'S':
        return complement(space);
      case 'b':
        return inClass ? [8, 8] : { assert: true };
      case 'B':
        return inClass ? [cp('B'), cp('B')] : { assert: true };
      case 't':
        return [9, 9];
      case 'n':
        return [10, 10];
      case 'v':
        return [11, 11];
      case 'f':
        return [12, 12];
      case 'r':
        return [13, 13];
      case 'c': {
        const l = source[at];
        if (l && /[A-Za-z]/.test(l)) {
          at++;
          return [cp(l) % 32, cp(l) % 32];
        }
        return [92, 92, cp('c'), cp('c')];
      }
      case 'x': {
        const v = readHex(2);
        return v === undefined ? [cp('x'), cp('x')] : [v, v];
      }
      case 'u': {
        if (unicode && peek() === '{') {
          const close = source.indexOf('}', at);
          const v = Number.parseInt(source.slice(at + 1, close), 16);
          at = close + 1;
          return [v, v];
        }
        const v = readHex(4);
        return v === undefined ? [cp('u'), cp('u')] : [v, v];
      }
      case 'p':
      case 'P': {
        if (!unicode || peek() !== '{') return [cp(c), cp(c)];
        const close = source.indexOf('}', at);
        const s = property(source.slice(at + 1, close));
        at = close + 1;
        return c === 'p' ? s : complement(s);
      }
      case 'k': {
        if (!inClass && peek() === '<' && (unicode || /\(\?<[^=!]/.test(source))) {
          const close = source.indexOf('>', at);
          const name = source.slice(at + 1, close);
          at = close + 1;
          return { ref: name };
        }
        return [cp('k'), cp('k')];
      }
      default:
        if (/[1-9]/.test(c) && !inClass) {
          const digits = c + (/^\d*/.exec(source.slice(at))?.[0] ?? '');
          at += digits.length - 1;
          return { ref: Number(digits) };
        }
        if (/[0-7]/.test(c)) {
          // \0 (or a legacy octal escape outside unicode mode)
          const octal = unicode ? '0' : c + (/^[0-7]{0,2}/.exec(source.slice(at))?.[0] ?? '');
          at += octal.length - 1;
          const v = Number.parseInt(octal, 8);
          return [v, v];
        }
        return [cp(c), cp(c)];
    }
  }

  function charClass(start: number): RegexNode {
    at++; // [
    const negated = peek() === '^';
    if (negated) at++;
    const ranges: number[] = [];
    const item = (): CharSet | undefined => {
      const c = source[at];
      if (c === undefined) return fail('unterminated character class');
      if (c === '\\') {
        at++;
        const e = readEscape(true);
        return Array.isArray(e) ? e : fail('unexpected escape in a class');
      }
      const ch = String.fromCodePoint(source.codePointAt(at) as number);
      at += unicode ? ch.length : 1;
      const v = unicode ? cp(ch) : (source.charCodeAt(at - 1) as number);
      return [v, v];
    };
    while (peek() !== ']') {
      const lo = item() as CharSet;
      if (peek() === '-' && source[at + 1] !== ']' && source[at + 1] !== undefined) {
        at++;
        const hi = item() as CharSet;
        if (lo.length === 2 && hi.length === 2 && lo[0] === lo[1] && hi[0] === hi[1]) {
          ranges.push(lo[0] as number, hi[0] as number);
        } else {
          ranges.push(...lo, 45, 45, ...hi); // `\d-x`: a literal dash outside unicode mode
        }
      } else {
        ranges.push(...lo);
      }
    }
    at++; // ]
    const s = set(normalise(ranges));
    return { type: 'char', set: negated ? complement(s) : s, start, end: at };
  }

  function atom(): RegexNode | undefined {
    const start = at;
    const c = source[at];
    if (c === undefined || c === '|' || c === ')') return undefined;
    if (c === '^' || c === '$') {
      at++;
      return { type: 'assert', behind: false, start, end: at };
    }
    if (c === '.') {
      at++;
      return { type: 'char', set: dotAll ? [0, maxCodePoint] : complement(lineEnds), start, end: at };
    }
    if (c === '[') return charClass(start);
    if (c === '(') {
      at++;
      let look: 'ahead' | 'behind' | undefined;
      let index: number | undefined;
      if (source.startsWith('?:', at)) at += 2;
      else if (source.startsWith('?=', at) || source.startsWith('?!', at)) {
        at += 2;
        look = 'ahead';
      } else if (source.startsWith('?<=', at) || source.startsWith('?<!', at)) {
        at += 3;
        look = 'behind';
      } else if (source.startsWith('?<', at)) {
        at = source.indexOf('>', at) + 1;
        index = ++groups;
      } else if (c === '(' && peek() === '?') fail('unknown group kind');
      else index = ++groups;
      const body = alternation();
      if (peek() !== ')') fail('unterminated group');
      at++;
      if (look) return { type: 'assert', body, behind: look === 'behind', start, end: at };
      return index === undefined
        ? { type: 'group', body, start, end: at }
        : { type: 'group', body, index, start, end: at };
    }
    if (c === '\\') {
      at++;
      const e = readEscape(false);
      if (Array.isArray(e)) return { type: 'char', set: set(e), start, end: at };
      if ('assert' in e) return { type: 'assert', behind: false, start, end: at };
      return { type: 'backref', ref: e.ref, start, end: at };
    }
    if ((c === '*' || c === '+' || c === '?') && at === start) fail('nothing to repeat');
    const ch = String.fromCodePoint(source.codePointAt(at) as number);
    at += unicode ? ch.length : 1;
    const v = unicode ? cp(ch) : source.charCodeAt(start);
    return { type: 'char', set: set([v, v]), start, end: at };
  }

  function quantifier(): { min: number; max: number } | undefined {
    const c = peek();
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Number.POSITIVE_INFINITY };
    else if (c === '+') q = { min: 1, max: Number.POSITIVE_INFINITY };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) at++;
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
      if (!m) return undefined; // a literal `{` outside unicode mode
      at += m[0].length;
      const min = Number(m[1]);
      q = { min, max: m[2] === undefined ? min : m[3] ? Number(m[3]) : Number.POSITIVE_INFINITY };
    }
    if (q && peek() === '?') at++; // lazy: the same paths, tried in another order
    return q;
  }

  function sequence(): RegexNode {
    const start = at;
    const items: RegexNode[] = [];
    for (;;) {
      const a = atom();
      if (!a) break;
      const q = quantifier();
      items.push(q ? { type: 'repeat', body: a, ...q, start: a.start, end: at } : a);
    }
    return { type: 'seq', items, start, end: at };
  }

  function alternation(): RegexNode {
    const start = at;
    const options = [sequence()];
    while (peek() === '|') {
      at++;
      options.push(sequence());
    }
    return options.length === 1 ? (options[0] as RegexNode) : { type: 'alt', options, start, end: at };
  }

  const root = alternation();
  if (at < source.length) fail('unexpected )');
  return { root, groups };
}
