// What a revision changed: a word-level diff of two texts (LCS), coarsening to lines when the texts are long.

export interface DiffSegment {
  op: 'same' | 'add' | 'del';
  text: string;
}

/** The largest LCS table (cells) computed before falling back to a coarser diff: ~5 MB, a few ms. */
const maxCells = 2_500_000;

/** Words, whitespace runs and single other characters: joined back they are exactly the text. */
const wordPattern = /[\p{L}\p{N}_'’-]+|\s+|[^\p{L}\p{N}_\s]/gu;

const wordsOf = (text: string): string[] => text.match(wordPattern) ?? [];

/** Lines with their line breaks. */
const linesOf = (text: string): string[] => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/**
 * The segments that turn `before` into `after`: `same` text is in both, `del` only in `before`,
 * `add` only in `after`; the `same` and `del` texts joined give `before`, the `same` and `add` ones `after`.
 */
export function diffTexts(before: string, after: string): DiffSegment[] {
  const out: DiffSegment[] = [];
  const words = diffTokens(wordsOf(before), wordsOf(after), out);
  if (!words) {
    out.length = 0;
    // Too long for a word diff: lines, and if even that is too big, the whole text replaced.
    if (!diffTokens(linesOf(before), linesOf(after), out)) {
      out.length = 0;
      push(out, 'del', before);
      push(out, 'add', after);
    }
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

/** Appends the diff of token lists `a` → `b` to `out`; false (and nothing useful in `out`) when too big. */
function diffTokens(a: string[], b: string[], out: DiffSegment[]): boolean {
  // The common head and tail need no table: revisions usually change the middle of a text.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const n = x.length;
  const m = y.length;
  if ((n + 1) * (m + 1) > maxCells) return false;

  push(out, 'same', a.slice(0, head).join(''));
  // lcs[i * (m + 1) + j]: the length of the longest common subsequence of x[i..] and y[j..].
  const width = m + 1;
  const lcs = new Uint16Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        x[i] === y[j]
          ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      push(out, 'same', x[i++] ?? '');
      j++;
    } else if (j >= m || (i < n && (lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0))) {
      push(out, 'del', x[i++] ?? '');
    } else {
      push(out, 'add', y[j++] ?? '');
    }
  }
  push(out, 'same', a.slice(a.length - tail).join(''));
  return true;
}
