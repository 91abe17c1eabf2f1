// Static check that a constitution's regex cannot stall the proxy: exponential, polynomial and quadratic backtracking.
//
// JavaScript has no regex timeout, so a pattern is judged before it runs. The pattern becomes a position
// (Glushkov) automaton whose edges count how many ways the syntax produces them; then, as in Weideman et al.
// and recheck, three searches over products of that automaton:
// - exponential: a repetition that can read some text in two different ways and come back to where it
//   started, e.g. `(a+)+`, `(a|aa)+`, `(\w+\s?)*` (each extra character doubles the work);
// - polynomial: two repetitions in a row that can read the same text, with something after them that can
//   still fail, e.g. `\d+\d+$` (with the search's own retry at every position: cubic);
// - quadratic: a pattern that can start with a repetition of a character and then fail, retried by the
//   search at every position of a long run, e.g. `[a-z]+@` on a long word.
// The analysis is conservative: assertions and lookarounds are assumed to let everything through (their bodies
// are checked on their own), a back-reference is treated as a copy of its group, and a count above 10 as
// unbounded. Anything too big to analyse is refused rather than guessed.
//
// Why by hand and not a library: recheck 4.5 (pure-JS build, 2.8 MB) took 1–10 s a pattern on this project's
// own safe examples (one timed out at 10 s), answered differently from run to run where it fuzzes, and accepts
// `(a+)+`, `(\w|\d)+`; scslre 0.3 (regexpp-based, fast) misses ambiguous alternatives (`(a|aa)+b`,
// `(["'])(?:\1|.)*x`) and any attack on a run of a word. So the parsing is regexpp's (regex-syntax.ts) and the
// search over the automaton stays here.
import { type CharSet, intersect, parseRegex, type RegexNode, RegexSyntaxError } from './regex-syntax.ts';

/** Longest pattern accepted, in characters. */
export const maxPatternLength = 1000;

const maxPositions = 3000;
const maxSteps = 2_000_000;
/** Counted repetitions up to this are unrolled exactly; above it they are analysed as unbounded. */
const maxUnrolled = 10;

class TooComplex extends Error {}

interface Piece {
  first: number[];
  last: number[];
  /** Positions after which the rest can match nothing without any assertion: the match cannot fail there. */
  lastSure: number[];
  /** First positions reachable without crossing an assertion (`^`, `\b`, a lookbehind guard the start). */
  firstOpen: number[];
  nullable: boolean;
  sure: boolean;
}

const empty = (sure: boolean): Piece => ({
  first: [],
  last: [],
  lastSure: [],
  firstOpen: [],
  nullable: true,
  sure,
});

const isLoop = (n: RegexNode): n is Extract<RegexNode, { type: 'repeat' }> =>
  n.type === 'repeat' && n.max > 1;

function positionsIn(n: RegexNode): number {
  switch (n.type) {
    case 'char':
      return 1;
    case 'seq':
      return n.items.reduce((s, i) => s + positionsIn(i), 0);
    case 'alt':
      return n.options.reduce((s, i) => s + positionsIn(i), 0);
    case 'group':
      return positionsIn(n.body);
    case 'repeat':
      return positionsIn(n.body) * Math.min(n.max, 2);
    default:
      return 1;
  }
}

/** The automaton: a character set per position and the edges between positions, with multiplicity (1 or 2). */
class Automaton {
  sets: CharSet[] = [];
  owner: Array<RegexNode | undefined> = [];
  next: Array<Map<number, number>> = [];
  private groups = new Map<number | string, RegexNode>();

  /**
   * @param everyCountALoop analyse `x{2,3}` like `x+`: for the exponential search, where an exact unrolling
   *   hides ambiguity that multiplies per copy (`(?:(?:\w|.){1,3}){1,3}`: 4^9 ways at every character).
   */
  constructor(
    root: RegexNode,
    source: string,
    private everyCountALoop = false,
  ) {
    const walk = (n: RegexNode) => {
      if (n.type === 'group' && n.index !== undefined) {
        this.groups.set(n.index, n);
        const name = /^\(\?<([^>=!]+)>/.exec(source.slice(n.start))?.[1];
        if (name) this.groups.set(name, n);
      }
      for (const c of children(n)) walk(c);
    };
    walk(root);
  }

  private link(from: number[], to: number[]) {
    for (const p of from) {
      const out = this.next[p] as Map<number, number>;
      for (const q of to) out.set(q, Math.min((out.get(q) ?? 0) + 1, 2));
    }
  }

  private concat(a: Piece, b: Piece): Piece {
    this.link(a.last, b.first);
    return {
      first: a.nullable ? [...a.first, ...b.first] : a.first,
      last: b.nullable ? [...b.last, ...a.last] : b.last,
      lastSure: b.sure ? [...b.lastSure, ...a.lastSure] : b.lastSure,
      firstOpen: a.sure ? [...a.firstOpen, ...b.firstOpen] : a.firstOpen,
      nullable: a.nullable && b.nullable,
      sure: a.sure && b.sure,
    };
  }

  build(n: RegexNode, owner?: RegexNode, depth = 0): Piece {
    switch (n.type) {
      case 'char': {
        const p = this.sets.length;
        if (p >= maxPositions) throw new TooComplex();
        this.sets.push(n.set);
        this.owner.push(owner);
        this.next.push(new Map());
        return { first: [p], last: [p], lastSure: [p], firstOpen: [p], nullable: false, sure: false };
      }
      case 'seq':
        return n.items.reduce((acc, i) => this.concat(acc, this.build(i, owner, depth)), empty(true));
      case 'alt': {
        const parts = n.options.map((o) => this.build(o, owner, depth));
        return {
          first: parts.flatMap((p) => p.first),
          last: parts.flatMap((p) => p.last),
          lastSure: parts.flatMap((p) => p.lastSure),
          firstOpen: parts.flatMap((p) => p.firstOpen),
          nullable: parts.some((p) => p.nullable),
          sure: parts.some((p) => p.sure),
        };
      }
      case 'group':
        return this.build(n.body, owner, depth);
      case 'assert':
        return empty(false);
      case 'backref': {
        // Over-approximated by another copy of its group: at least every path the engine can take.
        const g = this.groups.get(n.ref);
        if (!g || depth > 2 || (n.start >= g.start && n.end <= g.end)) return empty(false);
        return { ...this.build(g, owner, depth + 1), sure: false };
      }
      case 'repeat': {
        if (n.max === 0) return empty(true);
        const bounded = !this.everyCountALoop && n.max <= maxUnrolled && positionsIn(n.body) * n.max <= 200;
        let acc = empty(true);
        if (bounded) {
          for (let i = 0; i < n.min; i++) acc = this.concat(acc, this.build(n.body, owner, depth));
          // x{2,4} as xx(x(x)?)?: the optional copies nested, so they add no ambiguity of their own.
          const optional: Piece[] = [];
          for (let i = n.min; i < n.max; i++) optional.push(this.build(n.body, owner, depth));
          let tail = empty(true);
          for (const piece of optional.reverse()) {
            tail = { ...this.concat(piece, tail), nullable: true, sure: true };
          }
          return this.concat(acc, tail);
        }
        for (let i = 1; i < Math.min(n.min, 4); i++) acc = this.concat(acc, this.build(n.body, owner, depth));
        const loop = this.build(n.body, n, depth);
        this.link(loop.last, loop.first);
        const piece = n.min === 0 ? { ...loop, nullable: true, sure: true } : loop;
        return this.concat(acc, piece);
      }
    }
  }
}

function children(n: RegexNode): RegexNode[] {
  switch (n.type) {
    case 'seq':
      return n.items;
    case 'alt':
      return n.options;
    case 'group':
    case 'repeat':
      return [n.body];
    case 'assert':
      return n.body ? [n.body] : [];
    default:
      return [];
  }
}

const overlap = (a: CharSet, b: CharSet) => intersect(a, b).length > 0;

/** A readable character of a set, for the example text in messages. */
function sample(set: CharSet): string {
  for (const c of 'aA0_.-x ') {
    const v = c.codePointAt(0) as number;
    for (let i = 0; i < set.length; i += 2)
      if (v >= (set[i] as number) && v <= (set[i + 1] as number)) return c;
  }
  for (let i = 0; i < set.length; i += 2) {
    if ((set[i + 1] as number) >= 0x21) return String.fromCodePoint(Math.max(set[i] as number, 0x21));
  }
  return String.fromCodePoint(set[0] ?? 0x61);
}

/** A piece of the pattern as the policy owner wrote it (no JSON escaping of backslashes). */
const quote = (s: string) => `"${s}"`;

const example = (w: string) =>
  JSON.stringify(`${w.repeat(Math.ceil(12 / Math.max(w.length, 1))).slice(0, 12)}…`);

/** Two different paths reading the same text from a position back to itself: the word they read, if any. */
function exponentialWitness(a: Automaton): string | undefined {
  const n = a.sets.length;
  const key = (p: number, q: number) => p * n + q;
  const edges = new Map<number, Array<{ to: number; divergent: boolean; c: CharSet }>>();
  const stack: number[] = [];
  for (let p = 0; p < n; p++) {
    edges.set(key(p, p), []);
    stack.push(key(p, p));
  }
  let steps = 0;
  const seen = new Set(stack);
  while (stack.length) {
    const u = stack.pop() as number;
    const p = Math.floor(u / n);
    const q = u % n;
    const list = edges.get(u) ?? [];
    for (const [p2, mp] of a.next[p] as Map<number, number>) {
      for (const [q2] of a.next[q] as Map<number, number>) {
        if (++steps > maxSteps) throw new TooComplex();
        const c = intersect(a.sets[p2] as CharSet, a.sets[q2] as CharSet);
        if (!c.length) continue;
        const v = key(p2, q2);
        list.push({ to: v, divergent: p !== q || p2 !== q2 || mp === 2, c });
        if (!seen.has(v)) {
          seen.add(v);
          edges.set(v, []);
          stack.push(v);
        }
      }
    }
    edges.set(u, list);
  }
  const comp = stronglyConnected([...seen], (u) => (edges.get(u) ?? []).map((e) => e.to));
  const withDiagonal = new Set<number>();
  for (const u of seen) if (Math.floor(u / n) === u % n) withDiagonal.add(comp.get(u) as number);
  for (const [u, list] of edges) {
    for (const e of list) {
      const k = comp.get(u) as number;
      if (!e.divergent || comp.get(e.to) !== k || !withDiagonal.has(k)) continue;
      // The word: from a diagonal node of the component to u, the divergent step, and back.
      const inside = (x: number) => comp.get(x) === k;
      const d = [...seen].find((x) => inside(x) && Math.floor(x / n) === x % n) as number;
      const step = (x: number) => (edges.get(x) ?? []).filter((f) => inside(f.to));
      return pathWord(d, u, step) + sample(e.c) + pathWord(e.to, d, step);
    }
  }
  return undefined;
}

/** The characters along a shortest path from `from` to `to` (both in one component). */
function pathWord(from: number, to: number, step: (x: number) => Array<{ to: number; c: CharSet }>): string {
  const parent = new Map<number, { from: number; ch: string }>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length && !seen.has(to)) {
    const x = queue.shift() as number;
    for (const e of step(x)) {
      if (seen.has(e.to)) continue;
      seen.add(e.to);
      parent.set(e.to, { from: x, ch: sample(e.c) });
      queue.push(e.to);
    }
  }
  let word = '';
  for (let x = to; x !== from; ) {
    const p = parent.get(x);
    if (!p) break;
    word = p.ch + word;
    x = p.from;
  }
  return word;
}

/** Tarjan's algorithm, iterative: the component id of every node. */
function stronglyConnected(nodes: number[], succ: (u: number) => number[]): Map<number, number> {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const comp = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  let counter = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: Array<{ u: number; i: number; out: number[] }> = [{ u: root, i: 0, out: succ(root) }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1] as { u: number; i: number; out: number[] };
      if (top.i < top.out.length) {
        const v = top.out[top.i++] as number;
        if (!index.has(v)) {
          index.set(v, counter);
          low.set(v, counter++);
          stack.push(v);
          onStack.add(v);
          work.push({ u: v, i: 0, out: succ(v) });
        } else if (onStack.has(v)) {
          low.set(top.u, Math.min(low.get(top.u) as number, index.get(v) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.u, Math.min(low.get(parent.u) as number, low.get(top.u) as number));
      if (low.get(top.u) === index.get(top.u)) {
        for (;;) {
          const x = stack.pop() as number;
          onStack.delete(x);
          comp.set(x, top.u);
          if (x === top.u) break;
        }
      }
    }
  }
  return comp;
}

/** Two repetitions p then q that read the same text, q able to fail after: the pair and the word. */
function polynomialWitness(
  a: Automaton,
  mayFail: (q: number) => boolean,
): { p: number; q: number; word: string } | undefined {
  const comp = stronglyConnected(
    a.sets.map((_, i) => i),
    (u) => [...(a.next[u] as Map<number, number>).keys()],
  );
  const size = new Map<number, number>();
  for (const c of comp.values()) size.set(c, (size.get(c) ?? 0) + 1);
  const cyclic = a.sets
    .map((_, i) => i)
    .filter((i) => (size.get(comp.get(i) as number) ?? 0) > 1 || a.next[i]?.has(i));
  let steps = 0;
  for (const p of cyclic) {
    for (const q of cyclic) {
      if (p === q || comp.get(p) === comp.get(q) || !mayFail(q)) continue;
      // Three readers of one text: p→p, p→q, q→q. A breadth-first search over their joint positions.
      const start = [p, p, q];
      const parent = new Map<string, { from: string; ch: string }>();
      const seen = new Set([start.join()]);
      const queue = [start];
      const goal = [p, q, q].join();
      while (queue.length) {
        const [x, y, z] = queue.shift() as number[];
        for (const x2 of (a.next[x as number] as Map<number, number>).keys()) {
          for (const y2 of (a.next[y as number] as Map<number, number>).keys()) {
            const xy = intersect(a.sets[x2] as CharSet, a.sets[y2] as CharSet);
            if (!xy.length) continue;
            for (const z2 of (a.next[z as number] as Map<number, number>).keys()) {
              if (++steps > maxSteps) throw new TooComplex();
              const c = intersect(xy, a.sets[z2] as CharSet);
              const k = [x2, y2, z2].join();
              if (!c.length || seen.has(k)) continue;
              seen.add(k);
              parent.set(k, { from: [x, y, z].join(), ch: sample(c) });
              if (k === goal) {
                let word = '';
                for (let at = k; at !== start.join(); ) {
                  const step = parent.get(at) as { from: string; ch: string };
                  word = step.ch + word;
                  at = step.from;
                }
                return { p, q, word };
              }
              queue.push([x2, y2, z2]);
            }
          }
        }
      }
    }
  }
  return undefined;
}

/** A character c and a repetition q the search can enter on a run of c, stay in, and fail after. */
function quadraticWitness(a: Automaton, whole: Piece): { q: number; c: string } | undefined {
  const sure = new Set(whole.lastSure);
  const points = new Set<number>();
  for (const s of a.sets) for (let i = 0; i < s.length; i += 2) points.add(s[i] as number);
  let steps = 0;
  const along = (from: number[], c: number) => {
    const seen = new Set(from);
    const queue = [...from];
    while (queue.length) {
      const x = queue.pop() as number;
      for (const y of (a.next[x] as Map<number, number>).keys()) {
        if (++steps > maxSteps) throw new TooComplex();
        if (seen.has(y) || intersect(a.sets[y] as CharSet, [c, c]).length === 0) continue;
        seen.add(y);
        queue.push(y);
      }
    }
    return seen;
  };
  for (let q = 0; q < a.sets.length; q++) {
    if (!a.next[q]?.has(q) || sure.has(q)) continue;
    for (const c of points) {
      if (intersect(a.sets[q] as CharSet, [c, c]).length === 0) continue;
      if ([...along([q], c)].some((x) => sure.has(x))) continue;
      const starts = whole.firstOpen.filter((s) => intersect(a.sets[s] as CharSet, [c, c]).length > 0);
      if (along(starts, c).has(q)) return { q, c: String.fromCodePoint(c) };
    }
  }
  return undefined;
}

/** Most ways a fully counted repetition may split a text before it is treated as a loop for the exponential search. */
const maxBoundedWays = 5_000;

/** An upper bound on the ways `n` can read a text (Infinity past a million or for an unbounded repetition). */
function waysOf(n: RegexNode): number {
  const capped = (x: number) => (x > 1_000_000 ? Number.POSITIVE_INFINITY : x);
  switch (n.type) {
    case 'seq':
      return capped(n.items.reduce((w, i) => w * waysOf(i), 1));
    case 'alt':
      return capped(n.options.reduce((w, i) => w + waysOf(i), 0));
    case 'group':
      return waysOf(n.body);
    case 'repeat': {
      if (n.max === Number.POSITIVE_INFINITY) return n.max;
      const body = waysOf(n.body);
      let total = 0;
      for (let k = n.min; k <= n.max && total !== Number.POSITIVE_INFINITY; k++)
        total = capped(total + body ** k);
      return total;
    }
    default:
      return 1;
  }
}

/**
 * The outermost counted repetition around `loop` when every repetition from it up to the root has a maximum:
 * then the work at each start is bounded by its ways (`(?:\d{1,3}[ .-]?){2,4}`: 1,548), however long the text.
 */
function boundedAround(root: RegexNode, loop: RegexNode): RegexNode | undefined {
  const path: RegexNode[] = [];
  const find = (n: RegexNode): boolean => {
    path.push(n);
    if (n === loop || children(n).some(find)) return true;
    path.pop();
    return false;
  };
  find(root);
  const repeats = path.filter((n) => n.type === 'repeat');
  if (repeats.some((n) => n.type === 'repeat' && n.max === Number.POSITIVE_INFINITY)) return undefined;
  return repeats[0];
}

/**
 * The multi-character form of `quadraticWitness`: a shortest cycle q → … → q of two or more positions that reads a
 * word w (`(?:ab)+c`: "ab"), where reading w again and again from q never reaches a position after which the match is
 * sure, and the search can enter the cycle from its start on the same run of w.
 */
function quadraticCycleWitness(a: Automaton, whole: Piece): { q: number; c: string } | undefined {
  const sure = new Set(whole.lastSure);
  const has = (p: number, ch: string) => {
    const v = ch.codePointAt(0) as number;
    return intersect(a.sets[p] as CharSet, [v, v]).length > 0;
  };
  let steps = 0;
  /** The (position, offset in w) pairs reached reading w cyclically from `from` (entered at offset `at`). */
  const run = (from: number[], w: string[], at: number) => {
    const key = (p: number, i: number) => p * w.length + i;
    const seen = new Set(from.map((p) => key(p, at)));
    const queue = from.map((p) => [p, at] as const);
    while (queue.length) {
      const [p, i] = queue.pop() as readonly [number, number];
      const j = (i + 1) % w.length;
      for (const y of (a.next[p] as Map<number, number>).keys()) {
        if (++steps > maxSteps) throw new TooComplex();
        if (!has(y, w[j] as string) || seen.has(key(y, j))) continue;
        seen.add(key(y, j));
        queue.push([y, j]);
      }
    }
    return seen;
  };
  for (let q = 0; q < a.sets.length; q++) {
    if (a.next[q]?.has(q) || sure.has(q)) continue;
    // The shortest way back to q (breadth first), as the positions on it.
    const parent = new Map<number, number>();
    const queue = [q];
    for (let k = 0; k < queue.length && !parent.has(q); k++) {
      const x = queue[k] as number;
      for (const y of (a.next[x] as Map<number, number>).keys()) {
        if (++steps > maxSteps) throw new TooComplex();
        if (parent.has(y)) continue;
        parent.set(y, x);
        queue.push(y);
      }
    }
    if (!parent.has(q)) continue;
    const back: number[] = [];
    for (let x = parent.get(q) as number; x !== q; x = parent.get(x) as number) back.unshift(x);
    const cycle = [q, ...back];
    // w[0] is read at q, then the rest of the cycle in order.
    const w = cycle.map((p) => sample(a.sets[p] as CharSet));
    const key = (p: number, i: number) => p * w.length + i;
    if ([...run([q], w, 0)].some((k) => sure.has(Math.floor(k / w.length)))) continue;
    for (let i = 0; i < w.length; i++) {
      const starts = whole.firstOpen.filter((p) => has(p, w[i] as string));
      if (run(starts, w, i).has(key(q, 0))) return { q, c: [...w.slice(i), ...w.slice(0, i)].join('') };
    }
  }
  return undefined;
}

function firstChars(n: RegexNode): CharSet[] {
  const a = new Automaton(n, '');
  return a.build(n).first.map((p) => a.sets[p] as CharSet);
}

function exponentialMessage(source: string, loop: RegexNode, word: string): string {
  const text = (n: RegexNode) => quote(source.slice(n.start, n.end));
  const head = `can take exponential time on text like ${example(word)} that does not match in the end`;
  const inner: RegexNode[] = [];
  const findInner = (n: RegexNode) => {
    for (const c of children(n)) {
      if (c.type === 'assert') continue;
      if (isLoop(c)) inner.push(c);
      findInner(c);
    }
  };
  findInner(loop);
  if (inner[0]) {
    return (
      `${head}: the repetition ${text(inner[0])} is repeated again by ${text(loop)}, and the two can split ` +
      'the same text in many ways. Keep one repetition (e.g. "a+" rather than "(a+)+"), or make each round ' +
      'of the outer one end with something the inner one cannot match (e.g. "(?:\\w+\\s)*" rather than "(?:\\w+\\s?)*")'
    );
  }
  const alts: Array<Extract<RegexNode, { type: 'alt' }>> = [];
  const findAlt = (n: RegexNode) => {
    if (n.type === 'alt') alts.push(n);
    for (const c of children(n)) if (c.type !== 'assert') findAlt(c);
  };
  findAlt(loop);
  for (const alt of alts) {
    const firsts = alt.options.map(firstChars);
    for (let i = 0; i < alt.options.length; i++) {
      for (let j = i + 1; j < alt.options.length; j++) {
        if (!firsts[i]?.some((x) => firsts[j]?.some((y) => overlap(x, y)))) continue;
        return (
          `${head}: the alternatives ${text(alt.options[i] as RegexNode)} and ${text(alt.options[j] as RegexNode)} ` +
          `can match the same text, and ${text(loop)} repeats them. Make the alternatives exclusive ` +
          '(e.g. "a+" rather than "(a|aa)+", "\\w+" rather than "(\\w|\\d)+")'
        );
      }
    }
  }
  return `${head}: ${text(loop)} can match the same text in more than one way; make each repeated part match it in only one way`;
}

/**
 * Why `source` (a valid JavaScript regex with `flags`) could stall the proxy, in words for a policy owner,
 * or undefined when it is safe. Never throws.
 */
export function regexRisk(source: string, flags = ''): string | undefined {
  if (source.length > maxPatternLength) {
    return `is ${source.length} characters long, more than the limit of ${maxPatternLength}: split it into several principles`;
  }
  let root: RegexNode;
  try {
    const parsed = parseRegex(source, flags);
    root = parsed.root;
  } catch (err) {
    if (!(err instanceof RegexSyntaxError)) throw err;
    return `cannot be checked for safety (${err.message}): write it more simply`;
  }
  const text = (n: RegexNode | undefined) => quote(n ? source.slice(n.start, n.end) : source);
  try {
    const loops: RegexNode[] = [];
    const bodies: Array<{ node: RegexNode; behind: boolean }> = [{ node: root, behind: false }];
    const walk = (n: RegexNode) => {
      for (const c of children(n)) walk(c);
      if (isLoop(n)) loops.push(n);
      if (n.type === 'assert' && n.body) bodies.push({ node: n.body, behind: n.behind });
    };
    walk(root);
    // Innermost first, so the message names the smallest culprit.
    for (const loop of loops) {
      const top = boundedAround(root, loop);
      if (top && waysOf(top) <= maxBoundedWays) continue;
      const a = new Automaton(root, source, true);
      a.build(loop);
      const word = exponentialWitness(a);
      if (word !== undefined) return exponentialMessage(source, loop, word);
    }
    for (const { node, behind } of bodies) {
      const a = new Automaton(root, source);
      const whole = a.build(node);
      const sure = new Set(whole.lastSure);
      // A lookbehind is matched backwards, so where it can fail is not known: assume anywhere.
      const found = polynomialWitness(a, (q) => behind || !sure.has(q));
      if (found) {
        return (
          `can take polynomial time (minutes on a few thousand characters) on text like ${example(found.word)} ` +
          `that does not match in the end: ${text(a.owner[found.p])} and ${text(a.owner[found.q])} can match ` +
          'the same text, and the pattern can still fail after them. Merge them (e.g. "\\d{2,}" rather than ' +
          '"\\d+\\d+") or put something between them that the first one cannot match'
        );
      }
      if (node !== root) continue;
      const slow = quadraticWitness(a, whole) ?? quadraticCycleWitness(a, whole);
      if (slow) {
        const loop = a.owner[slow.q];
        const body = loop?.type === 'repeat' ? source.slice(loop.body.start, loop.body.end) : undefined;
        const guard =
          body && /^(?:\[[^\]]*\]|\\[dwsDWS]|\\[pP]\{[^}]+\}|[\w-])$/.test(body) ? `(?<!${body})` : '(?<!…)';
        return (
          `can take quadratic time (minutes on a long text) on a long run like ${example(slow.c)} that does not ` +
          `match: the search retries ${text(loop)} from every character of the run. Start the pattern where ` +
          `such a run starts, e.g. with the lookbehind "${guard}" in front, or with \\b or ^`
        );
      }
    }
  } catch (err) {
    if (!(err instanceof TooComplex)) throw err;
    return 'is too complex to check for safety: split it into several simpler principles';
  }
  return undefined;
}
