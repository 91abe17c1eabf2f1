// Evidence marks: a located quote is marked where the critic found it; an unlocated one wherever it occurs.
import { describe, expect, it } from 'vitest';
import { quoteSpans } from './text-marks.tsx';

describe('quoteSpans', () => {
  const text = 'Refunds take ten days. Really: refunds take ten days.';
  const quote = 'refunds take ten days';

  it('marks only the recorded occurrence of a located quote', () => {
    const start = text.lastIndexOf(quote);
    expect(quoteSpans(text, [{ text: quote, label: 'p', target: 'v', start }])).toEqual([
      { start, end: start + quote.length, labels: ['p'], target: 'v' },
    ]);
  });

  it('marks every occurrence when the position is unknown or no longer holds (a masked text)', () => {
    const spans = (start?: number) =>
      quoteSpans(text.toLowerCase(), [{ text: quote, label: 'p', target: 'v', start }]).map((s) => s.start);
    expect(spans()).toEqual([0, 31]);
    expect(spans(5)).toEqual([0, 31]);
  });
});
