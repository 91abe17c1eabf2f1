// What a revision changed: a word-level diff of two texts (jsdiff's Myers diff), coarsening to lines when they differ a lot.
import { type ChangeObject, diffArrays, diffLines } from 'diff';

export interface DiffSegment {
  op: 'same' | 'add' | 'del';
  text: string;
}

/**
 * The work a diff may take (tokens × edits, Myers' cost) before it gives up for a coarser one: the same
 * budget as the 2.5 M-cell table of the hand-written LCS it replaced, a few ms.
 */
const maxWork = 2_500_000;

const editCap = (a: number, b: number) => Math.max(1, Math.floor(maxWork / Math.max(1, a + b)));

/** Words, whitespace runs and single other characters: joined back they are exactly the text. */
const wordPattern = /[\p{L}\p{N}_'’-]+|\s+|[^\p{L}\p{N}_\s]/gu;

const wordsOf = (text: string): string[] => text.match(wordPattern) ?? [];

/**
 * The segments that turn `before` into `after`: `same` text is in both, `del` only in `before`,
 * `add` only in `after`; the `same` and `del` texts joined give `before`, the `same` and `add` ones `after`.
 */
export function diffTexts(before: string, after: string): DiffSegment[] {
  const [a, b] = [wordsOf(before), wordsOf(after)];
  const words = diffArrays(a, b, { maxEditLength: editCap(a.length, b.length) });
  const lineCap = () => editCap(before.split('\n').length, after.split('\n').length);
  const changes: Array<ChangeObject<string | string[]>> | undefined =
    // Too many changed words: lines, and if even that is too much, the whole text replaced.
    words ?? diffLines(before, after, { maxEditLength: lineCap() });
  const out: DiffSegment[] = [];
  if (!changes) {
    push(out, 'del', before);
    push(out, 'add', after);
  }
  for (const c of changes ?? []) {
    const text = typeof c.value === 'string' ? c.value : c.value.join('');
    push(out, c.added ? 'add' : c.removed ? 'del' : 'same', text);
  }
  return coalesce(out);
}
/**
 * Folds whitespace kept between two changes into the change ("The cat" → "A dog" reads as one
 * replacement, not two), so each edit shows as one deleted and one added run.
 */
function coalesce(segments: DiffSegment[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  let del = '';
  let add = '';
  const flush = () => {
    push(out, 'del', del);
    push(out, 'add', add);
    del = '';
    add = '';
  };
  segments.forEach((s, k) => {
    const changedAround = (del !== '' || add !== '') && segments[k + 1] !== undefined;
    if (s.op === 'del') del += s.text;
    else if (s.op === 'add') add += s.text;
    else if (changedAround && /^\s+$/.test(s.text)) {
      del += s.text;
      add += s.text;
    } else {
      flush();
      push(out, 'same', s.text);
    }
  });
  flush();
  return out;
}

function push(out: DiffSegment[], op: DiffSegment['op'], text: string): void {
  if (text === '') return;
  const last = out.at(-1);
  if (last?.op === op) last.text += text;
  else out.push({ op, text });
}
