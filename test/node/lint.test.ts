// `tenet lint` on broken fixtures: the exact messages and positions a policy owner sees, and the exit code.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliBundle } from '../cli-bundle.ts';

const root = new URL('../..', import.meta.url).pathname;
const dir = 'test/fixtures/broken';

function lint(args: string[]) {
  const r = spawnSync(process.execPath, [cliBundle, 'lint', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('tenet lint', () => {
  const fixtures = readdirSync(`${root}/${dir}`).filter((f) => f.endsWith('.yaml'));

  it.each(fixtures)('%s: prints exactly the expected errors and warnings', (name) => {
    const expected = readFileSync(`${root}/${dir}/${name.replace(/\.yaml$/, '.expected')}`, 'utf8');
    const { code, out } = lint([`${dir}/${name}`]);
    expect(out).toBe(expected);
    const summary = expected.trim().split('\n').at(-1) ?? '';
    expect(code).toBe(summary.startsWith('0 errors') ? 0 : 1);
  });

  it('reports every error at once, each as file:line:col path: message', () => {
    const { out } = lint([`${dir}/bad-values.yaml`]);
    expect(out).toContain(
      'test/fixtures/broken/bad-values.yaml:9:15 principles[0].severity: must be one of minor, major, critical (got "high")',
    );
    expect(out.trim().split('\n')).toHaveLength(7);
  });

  it('refuses patterns that could stall the proxy, at the pattern, saying what to change', () => {
    const name = 'test/fixtures/lint/slow-patterns';
    const { code, out } = lint([`${name}.yaml`]);
    expect(out).toBe(readFileSync(`${root}/${name}.expected`, 'utf8'));
    expect(code).toBe(1);
    expect(out).toContain(
      `${name}.yaml:8:16 principles[0].check.pattern: can take exponential time on text like "AAAAAAAAAAAA…"`,
    );
    expect(out).toContain(`${name}.yaml:12:23 principles[1].check.pattern: can take polynomial time`);
    expect(out).toContain('with the lookbehind "(?<![a-z])" in front');
    expect(out).not.toContain('principles[3]'); // an ordinary pattern passes
  });

  it('lints every shipped constitution clean, with no warnings', () => {
    const { code, out } = lint([]);
    expect(code).toBe(0);
    expect(out).toMatch(/^0 errors, 0 warnings in \d+ files \(default@[0-9a-f]{12}, /);
  });

  it('exits 1 naming a file that does not exist', () => {
    const { code, err } = lint(['constitutions/nope.yaml']);
    expect(code).toBe(1);
    expect(err).toContain('constitutions/nope.yaml: no such file');
  });
});
