// `tenet lint [files…]`: compiler-style errors and warnings for constitution files; exit 1 on any error.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { readConstitutionFiles } from '../adapters/constitution-files.ts';
import { formatProblem } from '../core/constitution/load.ts';
import { buildConstitutionSet, type SourceFile } from '../core/constitution/set.ts';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where the report goes: stdout and stderr, unless a caller (a test) collects it. */
export interface LintOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: LintOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export async function lintCommand(args: string[], output: LintOutput = processOutput): Promise<number> {
  const asked = args.filter((a) => !a.startsWith('-'));
  const targets = asked.length > 0 ? asked : readConstitutionFiles('constitutions').map((f) => f.file);
  const missing = targets.filter((f) => !existsSync(f));
  for (const f of missing) output.err(`${f}: no such file\n`);
  if (missing.length > 0) return 1;

  // `extends` reaches across files: load every constitution beside the asked ones, report only the asked ones.
  const byPath = new Map<string, SourceFile>();
  for (const dir of new Set(targets.map((f) => dirname(resolve(f))))) {
    for (const f of readConstitutionFiles(relative(process.cwd(), dir) || '.'))
      byPath.set(resolve(f.file), f);
  }
  for (const f of targets) {
    const key = resolve(f);
    if (!byPath.has(key))
      byPath.set(key, { file: relative(process.cwd(), key), text: readFileSync(f, 'utf8') });
  }
  const set = await buildConstitutionSet([...byPath.values()]);
  const wanted = new Set(targets.map((f) => relative(process.cwd(), resolve(f))));
  const problems = set.problems.filter((p) => wanted.has(p.file));

  for (const p of problems) output.out(`${formatProblem(p)}\n`);
  const errors = problems.filter((p) => p.level === 'error').length;
  const warnings = problems.length - errors;
  const versions = [...set.constitutions.values()]
    .filter((c) => [...wanted].some((f) => f.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/, '') === c.name))
    .map((c) => `${c.name}@${c.hash}`);
  output.out(
    `${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(wanted.size, 'file')}` +
      (versions.length > 0 ? ` (${versions.join(', ')})` : '') +
      '\n',
  );
  return errors > 0 ? 1 : 0;
}
