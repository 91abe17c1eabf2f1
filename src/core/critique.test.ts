// The critic's windows: every character of every judged part is in some window, and no window is over the limit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { critiqueLimits, critiqueWindows, type Segment, segmentsOf } from './critique.ts';

const segments = (lengths: number[]): Segment[] =>
  segmentsOf('output', {
    text: 'x'.repeat(lengths[0] ?? 0),
    toolCalls: lengths.slice(1).map((n) => ({ name: 'f', arguments: 'y'.repeat(n) })),
  });

describe('critiqueWindows', () => {
  it('covers every character of every part, within the window size, with overlapping slices of a long part', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60_000 }), { minLength: 1, maxLength: 4 }),
        (lengths) => {
          const parts = segments(lengths);
          const windows = critiqueWindows(parts);
          for (const w of windows) {
            const size = w.pieces.reduce((n, p) => n + p.end - p.start, 0);
            expect(size).toBeLessThanOrEqual(critiqueLimits.windowChars);
          }
          parts.forEach((part, i) => {
            const slices = windows.flatMap((w) => w.pieces.filter((p) => p.segment === i));
            let covered = 0;
            for (const s of slices) {
              // Each slice starts inside what the previous covered, far enough back to hold a whole quote.
              expect(s.start).toBeLessThanOrEqual(covered);
              if (covered > 0) expect(covered - s.start).toBeGreaterThanOrEqual(critiqueLimits.overlapChars);
              covered = Math.max(covered, s.end);
            }
            expect(covered).toBe(part.content.length);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps an answer that fits one window in one window, its parts whole', () => {
    const windows = critiqueWindows(segments([12_000, 500, 500]));
    expect(windows).toHaveLength(1);
    expect(windows[0]?.pieces.map((p) => [p.segment, p.start])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
  });
});
