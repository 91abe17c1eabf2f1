// A JavaScript regular expression as a small tree with character sets, for the regex safety analysis. The parsing is
// regexpp's (the parser ESLint uses); what is here turns its tree into the sets of code points the analysis compares.
import { type AST, RegExpParser, RegExpSyntaxError } from '@eslint-community/regexpp';

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

type Branches = readonly AST.Alternative[];

/** Parses `source` (already accepted by `new RegExp(source, flags)`) into a tree. */
export function parseRegex(source: string, flags: string): { root: RegexNode; groups: number } {
  const unicode = flags.includes('u');
  const ignoreCase = flags.includes('i');
  const dotAll = flags.includes('s');
  let pattern: AST.Pattern;
  try {
    pattern = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(source, 0, source.length, { unicode });
  } catch (err) {
    if (err instanceof RegExpSyntaxError) throw new RegexSyntaxError(err.message);
    throw err;
  }
  let groups = 0;
  const fold = (s: CharSet) => (ignoreCase ? foldCase(s) : s);

  const escapeSet = (e: AST.EscapeCharacterSet | AST.UnicodePropertyCharacterSet): CharSet => {
    const s =
      e.kind === 'property'
        ? property(e.value === null ? e.key : `${e.key}=${e.value}`)
        : e.kind === 'digit'
          ? digit
          : e.kind === 'word'
            ? word
            : space;
    return e.negate ? complement(s) : s;
  };

  const classItem = (e: AST.CharacterClassElement): number[] => {
    switch (e.type) {
      case 'Character':
        return [e.value, e.value];
      case 'CharacterClassRange':
        return [e.min.value, e.max.value];
      case 'CharacterSet':
        return escapeSet(e as AST.EscapeCharacterSet | AST.UnicodePropertyCharacterSet);
      default:
        throw new RegexSyntaxError(`unsupported class element ${e.raw}`);
    }
  };

  const alternation = (branches: Branches, start: number, end: number): RegexNode => {
    const options = branches.map(
      (b): RegexNode => ({ type: 'seq', items: b.elements.map(element), start: b.start, end: b.end }),
    );
    return options.length === 1 ? (options[0] as RegexNode) : { type: 'alt', options, start, end };
  };

  /** A group's branches span its parentheses less the opening (`(`, `(?:`, `(?<name>`) and `)`. */
  const inner = (n: { alternatives: Branches; start: number; end: number }) =>
    alternation(n.alternatives, n.alternatives[0]?.start ?? n.start, n.end - 1);

  function element(e: AST.Element): RegexNode {
    const { start, end } = e;
    switch (e.type) {
      case 'Character':
        return { type: 'char', set: fold([e.value, e.value]), start, end };
      case 'CharacterSet':
        if (e.kind === 'any') {
          return { type: 'char', set: dotAll ? [0, maxCodePoint] : complement(lineEnds), start, end };
        }
        return { type: 'char', set: fold(escapeSet(e as AST.EscapeCharacterSet)), start, end };
      case 'CharacterClass': {
        const s = fold(normalise(e.elements.flatMap(classItem)));
        return { type: 'char', set: e.negate ? complement(s) : s, start, end };
      }
      case 'Group':
        return { type: 'group', body: inner(e), start, end };
      case 'CapturingGroup': {
        const index = ++groups;
        return { type: 'group', body: inner(e), index, start, end };
      }
      case 'Quantifier': {
        const body = element(e.element);
        return { type: 'repeat', body, min: e.min, max: e.max, start, end };
      }
      case 'Assertion':
        if (e.kind === 'lookahead' || e.kind === 'lookbehind') {
          return { type: 'assert', body: inner(e), behind: e.kind === 'lookbehind', start, end };
        }
        return { type: 'assert', behind: false, start, end };
      case 'Backreference':
        return { type: 'backref', ref: e.ref, start, end };
      default:
        throw new RegexSyntaxError(`unsupported ${e.type} at position ${start}`);
    }
  }

  const root = alternation(pattern.alternatives, 0, source.length);
  return { root, groups };
}
