// A fresh checkout of the project in a temp folder (as `git clone` leaves it, node_modules linked), and its commands run as the README says.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stopProcessGroup } from '../tenet-process.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface FreshCopy {
  dir: string;
  /** Replaces `NAME=` lines of the copy's .dev.vars (copied from .dev.vars.example first, as the README says). */
  fillDevVars(values: Record<string, string>): void;
  /** Writes a file of the copy (relative path). */
  write(path: string, text: string): void;
  read(path: string): string;
  remove(): void;
}

/**
 * Copies every file a clone would have (tracked, or new and not ignored: no .dev.vars, no generated bundle, no
 * .wrangler state) into a temp folder, with node_modules linked instead of installed.
 */
export function freshCopy(): FreshCopy {
  const dir = mkdtempSync(join(tmpdir(), 'tenet-fresh-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f && !f.startsWith('test/') && !f.startsWith('bench/') && existsSync(join(root, f)));
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(root, file), join(dir, file));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return {
    dir,
    fillDevVars(values) {
      const file = join(dir, '.dev.vars');
      if (!existsSync(file)) copyFileSync(join(dir, '.dev.vars.example'), file);
      let text = readFileSync(file, 'utf8');
      for (const [name, value] of Object.entries(values)) {
        const line = new RegExp(`^${name}=.*$`, 'm');
        text = line.test(text) ? text.replace(line, `${name}=${value}`) : `${text}${name}=${value}\n`;
      }
      writeFileSync(file, text);
    },
    write: (path, text) => writeFileSync(join(dir, path), text),
    read: (path) => readFileSync(join(dir, path), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Running {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the command has ended. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Runs a shell-free command (`npm start`, `npx tenet …`) in the copy, its own process group, with `env` only. */
export function run(
  copy: FreshCopy,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Running {
  const child = spawn(command, args, {
    cwd: copy.dir,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      WRANGLER_SEND_METRICS: 'false',
      npm_config_update_notifier: 'false',
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = () => stopProcessGroup(child);
  return { child, output: () => log, exited, stop };
}

/** Waits until `url` answers (any status), or fails with the command's output when it ends or the time is up. */
export async function waitForAnswer(running: Running, url: string, timeoutMs = 90_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null)
      throw new Error(`the command exited with ${running.child.exitCode}:\n${running.output()}`);
    try {
      // The body too within the attempt: a first answer from wrangler dev can send its headers and then stall
      // on a loaded machine, and that attempt is then simply made again.
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const body = await res.arrayBuffer();
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${running.output()}`);
}
