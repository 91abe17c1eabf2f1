// Logged text as escaped JSX: evidence quotes wrapped in <mark>, and word diffs as <ins>/<del>.
import type { FC } from 'hono/jsx';

export interface Quote {
  /** The verbatim evidence. */
  text: string;
  /** What the mark says on hover (principle id). */
  label: string;
  /** The violation's element id, so a mark links to its card. */
  target: string;
  /** Where the critic's quote is (recorded since migration 0010): only that occurrence is marked. */
  start?: number | undefined;
}

interface Span {
  start: number;
  end: number;
  labels: string[];
  target: string;
}

/**
 * The quotes' spans, overlapping ones merged into one: a located quote at its recorded position, one without a
 * position (older records, or a text the content setting masked so the position no longer holds) everywhere.
 */
export function quoteSpans(text: string, quotes: readonly Quote[]): Span[] {
  const found: Span[] = [];
  for (const q of quotes) {
    if (q.text === '') continue;
    if (q.start !== undefined && text.startsWith(q.text, q.start)) {
      found.push({ start: q.start, end: q.start + q.text.length, labels: [q.label], target: q.target });
      continue;
    }
    for (let at = text.indexOf(q.text); at !== -1; at = text.indexOf(q.text, at + q.text.length)) {
      found.push({ start: at, end: at + q.text.length, labels: [q.label], target: q.target });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const span of found) {
    const last = merged.at(-1);
    if (last && span.start < last.end) {
      last.end = Math.max(last.end, span.end);
      for (const l of span.labels) if (!last.labels.includes(l)) last.labels.push(l);
    } else {
      merged.push({ ...span, labels: [...span.labels] });
    }
  }
  return merged;
}

/** A round's text with its violations' evidence marked; every piece is a text node, so markup shows as text. */
export const MarkedText: FC<{ text: string; quotes: readonly Quote[] }> = ({ text, quotes }) => {
  const spans = quoteSpans(text, quotes);
  const pieces = [];
  let at = 0;
  for (const span of spans) {
    if (span.start > at) pieces.push(text.slice(at, span.start));
    pieces.push(
      <a href={`#${span.target}`} class="evidence">
        <mark title={span.labels.join(', ')} data-principles={span.labels.join(' ')}>
          {text.slice(span.start, span.end)}
        </mark>
      </a>,
    );
    at = span.end;
  }
  if (at < text.length) pieces.push(text.slice(at));
  return <div class="text">{pieces}</div>;
};

export interface DiffPart {
  op: 'same' | 'add' | 'del';
  text: string;
}

/** A word diff: removed words struck through in <del>, added ones in <ins>. */
export const DiffText: FC<{ parts: readonly DiffPart[] }> = ({ parts }) => (
  <div class="text diff">
    {parts.map((p) => (p.op === 'add' ? <ins>{p.text}</ins> : p.op === 'del' ? <del>{p.text}</del> : p.text))}
  </div>
);
