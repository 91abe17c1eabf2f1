// The regex safety check: which patterns are refused (and how it is said), and that what it accepts runs fast.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConstitutionFile } from './load.ts';
import { maxPatternLength, regexRisk } from './regex-safety.ts';

const dangerous: Array<[pattern: string, flags: string, kind: RegExp]> = [
  ['(a+)+$', '', /exponential.*"a\+" is repeated again by "\(a\+\)\+"/],
  ['(a+)+', '', /exponential/],
  ['(a*)*', '', /exponential/],
  ['(a|aa)+b', '', /exponential.*alternatives "a" and "aa"/],
  ['(\\w+\\s?)*$', '', /exponential.*"\\w\+" is repeated again/],
  ['(\\w|\\d)+', '', /exponential.*alternatives "\\w" and "\\d"/],
  ['^(\\d+)*$', '', /exponential/],
  ['(?:[a-z]|[A-Z])+!', 'i', /exponential/], // the two classes overlap once case is ignored
  ['(a|aa){1,50}b', '', /exponential/], // a large count is as bad as +
  // Small counts multiply: 4^9 ways at every character (found by the property test below).
  ['(?:(?:(?:\\w|.)(?:.|\\w)){1,3}){1,3}$', '', /exponential/],
  ['(?=(a+)+b)', '', /exponential/], // inside a lookahead too
  ['(["\'])(?:\\1|.)*x', '', /exponential/], // a back-reference counted as a copy of its group
  ['\\d+\\d+$', '', /polynomial.*"\\d\+" and "\\d\+"/],
  ['\\w+\\s*\\w+x', '', /polynomial/],
  ['.*a.*b', 's', /polynomial/],
  ['[a-z]+@', '', /quadratic.*"\(\?<!\[a-z\]\)"/],
  ['\\s+$', '', /quadratic/],
  ['[A-Z]{2,}\\d', '', /quadratic/],
  // A run of a word rather than of a character: "abab…" is retried from every "a" (a miss of the first analyser).
  ['(?:ab)+c', '', /quadratic.*on a long run like "ababab/],
];

const safe: Array<[pattern: string, flags: string]> = [
  ['\\b(?:guarantee|promise)d?\\b', 'i'],
  ['[A-Z]{2}\\d{6}', ''],
  ['(?:\\+?\\d[\\d\\s-]{7,}\\d)', ''],
  ['[A-Z]{8,}', ''],
  ['sk-[A-Za-z0-9]{20,}', ''],
  ['https?://[a-z.-]*internal\\.acme\\.example', 'i'],
  ['https?://(?:[a-z0-9-]+\\.)*internal\\.acme\\.example\\b', 'i'],
  ['(ab+)+', ''], // each round starts with the a the inner + cannot match
  ['\\d+\\d+', ''], // nothing after the repetitions can fail
  ['(?<![a-z])[a-z]+@', ''],
  ['\\b\\w+@example\\.com\\b', ''],
  ['^\\s+$', 'm'],
  ['(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}', ''],
  ['(?<!\\d)(?:\\d[ -]?){12,18}\\d(?!\\d)', ''],
  ['(["\'])(?:(?!\\1).)*\\1', ''],
  ['\\p{Lu}{3,}', 'u'],
  ['-----BEGIN [A-Z ]*PRIVATE KEY-----', ''],
  // Every repetition counted: at most 1,548 ways at each start, however long the text (once refused as exponential).
  ['(?:\\d{1,3}[ .-]?){2,4}', ''],
  ['(?:\\d{1,3}[ .-]?){2,4}x', ''],
];

describe('regexRisk', () => {
  it.each(dangerous)('refuses %s (flags "%s")', (pattern, flags, kind) => {
    const risk = regexRisk(pattern, flags);
    expect(risk).toMatch(kind);
    expect(risk).toMatch(/on (?:a long run|text) like "/); // an example a policy owner can try
  });

  it.each(safe)('accepts %s (flags "%s")', (pattern, flags) => {
    expect(regexRisk(pattern, flags)).toBeUndefined();
  });

  it('refuses patterns longer than the limit', () => {
    expect(regexRisk('a'.repeat(maxPatternLength + 1))).toMatch(/more than the limit of 1000/);
    expect(regexRisk('a'.repeat(maxPatternLength))).toBeUndefined();
  });

  it('says what to change', () => {
    expect(regexRisk('(a+)+$')).toContain('Keep one repetition (e.g. "a+" rather than "(a+)+")');
    expect(regexRisk('(a|aa)+b')).toContain('Make the alternatives exclusive');
    expect(regexRisk('\\d+\\d+$')).toContain('Merge them (e.g. "\\d{2,}" rather than "\\d+\\d+")');
  });
});

describe('a constitution with a dangerous pattern', () => {
  it('does not load, with the error at the pattern', () => {
    const loaded = loadConstitutionFile(
      'c/slow.yaml',
      'name: slow\nprinciples:\n  - id: no-runs\n    action: flag\n    check:\n      pattern: "(a+)+$"\n',
    );
    expect(loaded.spec).toBeUndefined();
    expect(loaded.problems).toEqual([
      expect.objectContaining({
        line: 6,
        column: 16,
        path: 'principles[0].check.pattern',
        level: 'error',
        message: expect.stringMatching(/^can take exponential time on text like "aaaaaaaaaaaa…"/),
      }),
    ]);
  });
});

// Small regexes over a two-letter alphabet: nested repetitions and overlapping alternatives come up often.
const atom = fc.constantFrom('a', 'b', '[ab]', '\\w', '\\d', '.', 'a?', '\\s');
const regex: fc.Arbitrary<string> = fc
  .letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      fc.tuple(tie('node'), tie('node')).map(([x, y]) => x + y),
      fc.tuple(tie('node'), tie('node')).map(([x, y]) => `(?:${x}|${y})`),
      fc.tuple(tie('node'), fc.constantFrom('*', '+', '?', '{1,3}', '{2,}')).map(([x, q]) => `(?:${x})${q}`),
    ),
  }))
  .node.map((r) => `${r}$`);

const adversarial = ['a', 'b', 'ab', '0', ' ', 'a0'].map(
  (run) => `${run.repeat(Math.ceil(5000 / run.length))}!`,
);

describe('patterns the check accepts', () => {
  it('run on 5,000-character adversarial texts in well under a second each', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(regex, (source) => {
        if (regexRisk(source) !== undefined) {
          refused++;
          return;
        }
        accepted++;
        const re = new RegExp(source);
        for (const text of adversarial) {
          const started = performance.now();
          re.exec(text);
          // Linear or nearly so takes a few ms; what the check must catch takes minutes. Generous for a busy CI.
          expect(
            performance.now() - started,
            `${source} on ${JSON.stringify(text.slice(0, 6))}…`,
          ).toBeLessThan(2000);
        }
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(30);
    expect(refused).toBeGreaterThan(30);
  }, 120_000);
});
