// diffTexts: word-level changes between a draft and its revision, exact and fast even on long texts.
import { describe, expect, it } from 'vitest';
import { type DiffSegment, diffTexts } from './diff.ts';

const side = (segments: DiffSegment[], keep: 'add' | 'del') =>
  segments
    .filter((s) => s.op === 'same' || s.op === keep)
    .map((s) => s.text)
    .join('');

function expectExact(before: string, after: string): DiffSegment[] {
  const segments = diffTexts(before, after);
  expect(side(segments, 'del')).toBe(before);
  expect(side(segments, 'add')).toBe(after);
  for (const s of segments) expect(s.text).not.toBe('');
  for (let k = 1; k < segments.length; k++) expect(segments[k]?.op).not.toBe(segments[k - 1]?.op);
  return segments;
}

describe('diffTexts', () => {
  it('marks identical texts as one same segment, and empty texts as nothing', () => {
    expect(diffTexts('Paris.', 'Paris.')).toEqual([{ op: 'same', text: 'Paris.' }]);
    expect(diffTexts('', '')).toEqual([]);
    expect(diffTexts('', 'new')).toEqual([{ op: 'add', text: 'new' }]);
    expect(diffTexts('old', '')).toEqual([{ op: 'del', text: 'old' }]);
  });

  it('finds the changed words and keeps the rest, whitespace included', () => {
    const segments = expectExact(
      'Yes, it is clearly visible from the Moon!',
      'No, it is not visible from the Moon!',
    );
    expect(segments).toEqual([
      { op: 'del', text: 'Yes' },
      { op: 'add', text: 'No' },
      { op: 'same', text: ', it is ' },
      { op: 'del', text: 'clearly' },
      { op: 'add', text: 'not' },
      { op: 'same', text: ' visible from the Moon!' },
    ]);
  });

  it('shows neighbouring changed words as one replacement', () => {
    expect(expectExact('The cat sat.', 'A dog sat.')).toEqual([
      { op: 'del', text: 'The cat' },
      { op: 'add', text: 'A dog' },
      { op: 'same', text: ' sat.' },
    ]);
  });

  it('handles insertions, deletions, new lines and non-Latin text exactly', () => {
    expectExact('one two three', 'one three');
    expectExact('one three', 'one two three');
    expectExact('line one\nline two\n', 'line one\nline 2\nline three\n');
    expectExact('Привет, мир! 你好', 'Привет, друг! 你好吗');
    expectExact('  leading and trailing  ', 'leading and trailing');
  });

  it('stays exact and fast on long, very different texts by diffing lines instead', () => {
    const words = (seed: number, n: number) =>
      Array.from({ length: n }, (_, i) => `w${(i * seed) % 997}${i % 13 === 0 ? '\n' : ' '}`).join('');
    const before = words(7, 40_000);
    const after = words(11, 40_000);
    const started = performance.now();
    expectExact(before, after);
    expectExact(before, `${before}\nOne more line.`);
    // Every 40th word changed: too many words for a word table, so whole lines differ, the others are kept.
    const medium = words(7, 4_000);
    const edited = medium.replace(/w(\d+) /g, (w, n, at: number) => (at % 40 === 0 ? `v${n} ` : w));
    const lines = expectExact(medium, edited);
    expect(lines.filter((s) => s.op === 'same').length).toBeGreaterThan(10);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
