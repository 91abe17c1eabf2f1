// YAML indentation slips in a constitution: one error, at the line to fix, saying what it must line up with; no parser cascade.
import { describe, expect, it } from 'vitest';
import { formatProblem, loadConstitutionFile } from './load.ts';

const head = 'name: c\ndescription: x\nprinciples:\n';
const errorsOf = (body: string) =>
  loadConstitutionFile('c.yaml', head + body)
    .problems.filter((p) => p.level === 'error')
    .map(formatProblem);

describe('a YAML indentation slip', () => {
  it.each([
    [
      'a key one space short',
      '  - id: one\n    critique: Does it?\n   severity: major\n  - id: two\n    critique: Does it?\n',
      'c.yaml:6:4 YAML: check the indentation of line 6: `severity:` there starts at column 4, but must line up with `critique:` on line 5 (column 5)',
    ],
    [
      'a key indented under a value (reported by the parser on the line before)',
      '  - id: one\n    critique: Does it?\n      severity: major\n',
      'c.yaml:6:7 YAML: check the indentation of line 6: `severity:` there starts at column 7, but must line up with `critique:` on line 5 (column 5)',
    ],
    [
      'a list item out of line',
      '- id: one\n  critique: Does it?\n - id: two\n   critique: Does it?\n - id: three\n',
      'c.yaml:6:2 YAML: check the indentation of line 6: the `-` there starts at column 2, but must line up with the `-` on line 4 (column 1)',
    ],
    [
      "an item's key at the dash's column",
      '  - id: one\n    critique: Does it?\n  - id: two\n  critique: Does it?\n  severity: major\n  - id: three\n',
      'c.yaml:7:3 YAML: check the indentation of line 7: `critique:` there starts at column 3, but must line up with `id:` on line 6 (column 5)',
    ],
  ])('%s: reports the first error only, with the line to line up with', (_name, body, expected) => {
    const errors = errorsOf(body);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(expected);
    expect(errors[0]).toMatch(/\(the parser says: [^)]+\)$/);
  });

  it('says so when a line is indented with a tab', () => {
    expect(errorsOf('  - id: one\n\tcritique: tabbed\n')).toEqual([
      expect.stringMatching(/^c\.yaml:5:1 YAML: line 5 is indented with a tab: YAML needs spaces/),
    ]);
  });

  it('still lists every duplicate key of a well-formed file', () => {
    const errors = errorsOf('  - id: one\n    id: two\n    critique: a\n    critique: b\n');
    expect(errors.filter((e) => e.includes('appears twice'))).toHaveLength(2);
  });
});
