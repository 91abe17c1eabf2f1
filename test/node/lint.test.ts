// `tenet lint` as a policy owner runs it: the report on stdout, missing files on stderr, the exit code. The
// messages for each broken fixture are checked in-process (test/fast/lint-messages.test.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliBundle } from '../cli-bundle.ts';

const root = new URL('../..', import.meta.url).pathname;

function lint(args: string[]) {
  const r = spawnSync(process.execPath, [cliBundle, 'lint', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('tenet lint', () => {
  it('prints a broken file’s errors and exits 1', () => {
    const name = 'test/fixtures/broken/bad-values';
    const { code, out } = lint([`${name}.yaml`]);
    expect(out).toBe(readFileSync(`${root}/${name}.expected`, 'utf8'));
    expect(code).toBe(1);
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
