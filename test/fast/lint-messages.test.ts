// `tenet lint`'s report on broken fixtures, in-process: the exact messages and positions a policy owner sees, and
// the exit code. test/node/lint.test.ts runs the command itself.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintCommand } from '../../src/cli/lint.ts';

const root = new URL('../..', import.meta.url).pathname;
const dir = 'test/fixtures/broken';

/** The report and exit code of `tenet lint …args`, run from the project root as the command is. */
async function lint(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const code = await lintCommand(args, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  } finally {
    process.chdir(cwd);
  }
}

describe('tenet lint reports', () => {
  const fixtures = readdirSync(`${root}/${dir}`).filter((f) => f.endsWith('.yaml'));

  it.each(fixtures)('%s: exactly the expected errors and warnings', async (name) => {
    const expected = readFileSync(`${root}/${dir}/${name.replace(/\.yaml$/, '.expected')}`, 'utf8');
    const { code, out } = await lint([`${dir}/${name}`]);
    expect(out).toBe(expected);
    const summary = expected.trim().split('\n').at(-1) ?? '';
    expect(code).toBe(summary.startsWith('0 errors') ? 0 : 1);
  });

  it('every error at once, each as file:line:col path: message', async () => {
    const { out } = await lint([`${dir}/bad-values.yaml`]);
    expect(out).toContain(
      'test/fixtures/broken/bad-values.yaml:9:15 principles[0].severity: must be one of minor, major, critical (got "high")',
    );
    expect(out.trim().split('\n')).toHaveLength(7);
  });

  it('patterns that could stall the proxy, at the pattern, saying what to change', async () => {
    const name = 'test/fixtures/lint/slow-patterns';
    const { code, out } = await lint([`${name}.yaml`]);
    expect(out).toBe(readFileSync(`${root}/${name}.expected`, 'utf8'));
    expect(code).toBe(1);
    expect(out).toContain(
      `${name}.yaml:8:16 principles[0].check.pattern: can take exponential time on text like "AAAAAAAAAAAA…"`,
    );
    expect(out).toContain(`${name}.yaml:12:23 principles[1].check.pattern: can take polynomial time`);
    expect(out).toContain('with the lookbehind "(?<![a-z])" in front');
    expect(out).not.toContain('principles[3]'); // an ordinary pattern passes
  });
});
