// Node: constitutions read from a folder and reloaded on change; a broken edit keeps the last good version.
import { type FSWatcher, readdirSync, readFileSync, watch } from 'node:fs';
import { join, relative } from 'node:path';
import { formatProblem } from '../core/constitution/load.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { buildConstitutionSet, type ConstitutionSource, type SourceFile } from '../core/constitution/set.ts';
import { TenetFault } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export class ConstitutionLoadError extends TenetFault {
  readonly code = 'constitution_invalid';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`the constitutions have errors:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConstitutionLoadError';
    this.problems = problems;
  }
}

/** Every *.yaml / *.yml file of `dir`, named as the user sees it (relative to the working directory). */
export function readConstitutionFiles(dir: string): SourceFile[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({
      file: relative(process.cwd(), join(dir, f)) || f,
      text: readFileSync(join(dir, f), 'utf8'),
    }));
}

export interface WatchedConstitutions extends ConstitutionSource {
  /** Re-reads the folder now (the watcher calls it on every change). */
  reload(): Promise<void>;
  close(): void;
}

const baseName = (file: string) => file.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/, '');

/** Loads `dir` (refusing to start on any error) and keeps it current as files change. */
export async function watchConstitutions(dir: string, logger: Logger): Promise<WatchedConstitutions> {
  const first = await buildConstitutionSet(readConstitutionFiles(dir));
  const firstErrors = first.problems.filter((p) => p.level === 'error').map(formatProblem);
  if (firstErrors.length > 0) throw new ConstitutionLoadError(firstErrors);

  let current = new Map<string, Constitution>(first.constitutions);
  let names = [...current.keys()].sort();
  let errors: string[] = [];
  let pending: Promise<void> = Promise.resolve();

  const load = async () => {
    let files: SourceFile[];
    try {
      files = readConstitutionFiles(dir);
    } catch (err) {
      errors = [`${dir}: ${err instanceof Error ? err.message : String(err)}`];
      logger.error('constitutions could not be read; serving the last good versions', { dir });
      return;
    }
    const set = await buildConstitutionSet(files);
    const next = new Map<string, Constitution>();
    const present = new Set(files.map((f) => baseName(f.file)));
    for (const name of present) {
      const fresh = set.constitutions.get(name);
      const old = current.get(name);
      if (fresh) {
        next.set(name, fresh);
        if (old && old.hash !== fresh.hash)
          logger.info('constitution reloaded', { name, from: old.hash, to: fresh.hash });
        if (!old) logger.info('constitution added', { name, version: `${name}@${fresh.hash}` });
      } else if (old) {
        next.set(name, old); // broken edit: the last good version stays in force
      }
    }
    errors = set.problems.filter((p) => p.level === 'error').map(formatProblem);
    for (const e of errors) logger.error(`constitution error (last good version kept): ${e}`);
    current = next;
    names = [...current.keys()].sort();
  };

  // One reload at a time, in order; a reload that throws is reported and never stops the next one.
  const reload = () => {
    pending = pending.then(load).catch((err: unknown) => {
      errors = [`${dir}: reload failed: ${err instanceof Error ? err.message : String(err)}`];
      logger.error('constitution reload failed; serving the last good versions', { dir });
    });
    return pending;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, (_event, name) => {
      // Only constitution files matter: a log database or an editor's scratch file kept in the folder changes
      // often, and each reload parses every constitution again. (No name given: the folder itself changed.)
      if (name && !/\.ya?ml$/.test(name)) return;
      clearTimeout(timer);
      // Editors write a file in several steps: wait for the burst to end.
      timer = setTimeout(reload, 75);
    });
  } catch {
    logger.warn('cannot watch the constitutions folder: edits need a restart', { dir });
  }

  return {
    get: (name) => current.get(name),
    names: () => names,
    errors: () => errors,
    reload,
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
