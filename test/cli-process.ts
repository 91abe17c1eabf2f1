// Runs the `tenet` command as a child process, as a user or a CI job does: its exit code, stdout and stderr.
import { spawn } from 'node:child_process';
import { cliBundle } from './cli-bundle.ts';

export interface CliRun {
  code: number | null;
  out: string;
  err: string;
}

const root = new URL('..', import.meta.url).pathname;

/**
 * Starts `tenet …args` with only PATH and `env` in its environment. It runs to the end or, with `until`,
 * until its stdout matches (then it gets SIGTERM); after `timeoutMs` it is killed.
 */
export function startTenetCli(
  args: string[],
  env: Record<string, string> = {},
  options: { until?: RegExp; timeoutMs?: number } = {},
): { done: Promise<CliRun>; output: () => string } {
  const child = spawn(process.execPath, [cliBundle, ...args], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const done = new Promise<CliRun>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (options.until?.test(out)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
  return { done, output: () => out };
}

/** Runs `tenet …args` to the end. */
export const runTenetCli = (args: string[], env: Record<string, string> = {}): Promise<CliRun> =>
  startTenetCli(args, env).done;
