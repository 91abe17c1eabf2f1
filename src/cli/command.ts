// Every `tenet` command's skeleton, written once: its flags parsed, `--env-file` loaded, `--json` written, and its
// failures turned into a message and an exit code.
import { existsSync, writeFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { TenetFault, UsageError } from '../core/errors.ts';

export interface CommandOptions {
  /**
   * The exit code of every fault, for commands whose exit 1 is a result (`test`: a failed example, `replay`: a
   * regression, `redteam`: a missed probe): there any fault that stops the command is exit 2.
   */
  faultExit?: 2;
}

/** node:util's parseArgs rejects unknown or malformed flags with a TypeError carrying an ERR_PARSE_ARGS_* code. */
const isArgsError = (err: unknown): err is TypeError => err instanceof TypeError && 'code' in err;

/**
 * Runs a command body; a fault it throws is written to stderr as `tenet NAME: message` and ends it with the
 * fault's exit code (`tenet: cannot start, …` for the server's own faults). Anything else is a bug and is thrown.
 */
export async function runCommand(
  name: string | undefined,
  body: () => Promise<number> | number,
  options: CommandOptions = {},
): Promise<number> {
  try {
    return await body();
  } catch (thrown) {
    const err = isArgsError(thrown) ? new UsageError(thrown.message) : thrown;
    if (!(err instanceof TenetFault)) throw err;
    const what = name === undefined && err.exitCode === 1 ? `cannot start, ${err.message}` : err.message;
    process.stderr.write(`${name === undefined ? 'tenet' : `tenet ${name}`}: ${what}\n`);
    return options.faultExit ?? err.exitCode;
  }
}

/** A command's flags, as node:util's parseArgs takes them. */
type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The flags' values as node:util's parseArgs types them. */
export type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>
>['values'];

/** Flags that take a value (`--name VALUE`), declared by name. */
export function valueFlags<K extends string>(...names: K[]): { [P in K]: { type: 'string' } } {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as never;
}

/** Flags that are on or off (`--name`), declared by name. */
export function switchFlags<K extends string>(...names: K[]): { [P in K]: { type: 'boolean' } } {
  return Object.fromEntries(names.map((name) => [name, { type: 'boolean' }])) as never;
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> extends CommandOptions {
  /** As in `tenet NAME: message`. */
  name: string;
  options: O;
  /** Whether it takes arguments besides its flags (files, names); without, one is a usage error. */
  positionals?: boolean;
  run(values: FlagValues<O>, positionals: string[]): Promise<number> | number;
}

/** A command from its flags and body: strict flags (an unknown one is a usage error) and the exit codes of runCommand. */
export function defineCommand<O extends ParseArgsOptionsConfig>(
  spec: CommandSpec<O>,
): (args: string[]) => Promise<number> {
  const { faultExit } = spec;
  return (args) =>
    runCommand(
      spec.name,
      () => {
        const { values, positionals } = parseArgs({
          args,
          options: spec.options,
          strict: true,
          allowPositionals: true,
        });
        if (!spec.positionals && positionals.length > 0)
          throw new UsageError(`unexpected argument "${positionals[0]}"`);
        return spec.run(values, positionals);
      },
      faultExit ? { faultExit } : {},
    );
}

/** A positive whole number flag (`--runs 3`), `fallback` when absent. */
export function countFlag(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > max)
    throw new UsageError(`--${name}: a whole number from 1 to ${max} (got "${value}")`);
  return n;
}

/** Writes `text` to FILE, or to stdout for `-`. */
export function writeOutput(target: string, text: string): void {
  if (target === '-') process.stdout.write(text);
  else writeFileSync(target, text);
}

/**
 * `--json FILE|-` for a report: the JSON written to FILE, or to stdout for `-`, where the human report then goes to
 * stderr (`human: 'stderr'`) or is left out (`'none'`) so stdout stays parseable; without `--json`, the human report.
 */
export function writeReport(
  json: string | undefined,
  report: { json: () => string; human: () => string },
  onStdout: 'stderr' | 'none' = 'stderr',
): void {
  if (json) writeOutput(json, report.json());
  if (json !== '-') process.stdout.write(report.human());
  else if (onStdout === 'stderr') process.stderr.write(report.human());
}

/** Splits `--env-file FILE` / `--env-file=FILE` (any command, repeatable) from the other arguments. */
export function envFileArgs(args: string[]): { files: string[]; rest: string[] } {
  const files: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--env-file' || arg.startsWith('--env-file=')) {
      const file = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      if (!file) throw new UsageError('--env-file needs a file name');
      files.push(file);
    } else {
      rest.push(arg);
    }
  }
  return { files, rest };
}

/** Loads env files into process.env; variables already set in the shell win, as with `node --env-file`. */
export function loadEnvFiles(files: readonly string[]): void {
  for (const file of files) {
    // Node 20's loadEnvFile ends the process on a missing file instead of throwing: look first.
    if (!existsSync(file)) throw new UsageError(`--env-file ${file}: no such file`);
    try {
      process.loadEnvFile(file);
    } catch (err) {
      throw new UsageError(`--env-file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
