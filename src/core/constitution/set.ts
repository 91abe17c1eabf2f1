// Builds a whole constitution set from file texts: load each, lint each, resolve across them.
import { lintConstitutionFile } from './lint.ts';
import { loadConstitutionFile } from './load.ts';
import { type ConstitutionSet, resolveConstitutions } from './resolve.ts';
import type { Constitution } from './schema.ts';

export interface SourceFile {
  /** The path shown in messages, e.g. `constitutions/support-bot.yaml`. */
  file: string;
  text: string;
}

/** Loads, lints and resolves `files`; `problems` holds errors and warnings of all of them. */
export async function buildConstitutionSet(files: SourceFile[]): Promise<ConstitutionSet> {
  const loaded = files.map((f) => loadConstitutionFile(f.file, f.text));
  const set = await resolveConstitutions(loaded);
  const warnings = loaded.flatMap(lintConstitutionFile);
  return { constitutions: set.constitutions, problems: [...set.problems, ...warnings] };
}

/** What the proxy asks of its constitutions, however they were loaded (bundled, or files reloaded on change). */
export interface ConstitutionSource {
  get(name: string): Constitution | undefined;
  names(): string[];
  /** The errors of the latest load that are not (yet) in force; empty when all is well. */
  errors(): string[];
}

export function staticConstitutionSource(constitutions: Map<string, Constitution>): ConstitutionSource {
  const names = [...constitutions.keys()].sort();
  return { get: (name) => constitutions.get(name), names: () => names, errors: () => [] };
}
