// Starts the real Tenet server as a child process, on Node (`tenet serve`) or workerd (`tenet dev`).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliBundle } from './cli-bundle.ts';
import { groupAlive } from './process-group.ts';

export type Runtime = 'node' | 'workers';

export interface TenetProcess {
  url: string;
  pid: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

const root = new URL('..', import.meta.url).pathname;

/** A free TCP port on 127.0.0.1 (wrangler dev needs one up front). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(
  url: string,
  child: ChildProcess,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tenet exited with ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tenet did not become healthy within ${timeoutMs} ms:\n${log()}`);
}

/** Tenet's own refusal of a taken port (src/entry/port-in-use.ts). */
const portTaken = /port \d+ on 127\.0\.0\.1 is already in use/;

/**
 * Starts Tenet with `settings` as its environment and waits until /health answers. A free port can be taken
 * between freePort() and the child's listen (another suite's workerd starting at the same moment): then it is
 * started again on another port, up to three times.
 */
export async function startTenet(runtime: Runtime, settings: Record<string, string>): Promise<TenetProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(runtime, settings, await freePort());
    } catch (err) {
      if (attempt === 3 || !portTaken.test(String(err))) throw err;
    }
  }
}

async function startOnce(
  runtime: Runtime,
  settings: Record<string, string>,
  port: number,
): Promise<TenetProcess> {
  const args =
    runtime === 'node'
      ? [cliBundle, 'serve']
      : [
          cliBundle,
          'dev',
          '--port',
          String(port),
          '--persist-to',
          mkdtempSync(join(tmpdir(), 'tenet-d1-')),
          // Each its own devtools port: several wrangler devs at once would fight over 9229 when one rebuilds.
          '--inspector-port',
          String(await freePort()),
        ];
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '',
    WRANGLER_SEND_METRICS: 'false',
    PORT: String(port),
    // Each server its own log file, unless the test names one.
    TENET_DB: join(mkdtempSync(join(tmpdir(), 'tenet-log-')), 'tenet.db'),
    ...settings,
  };
  // detached: its own process group, so stop() takes wrangler's workerd child down with it.
  const child = spawn(process.execPath, args, {
    cwd: root,
    env,
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
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopProcessGroup(child);
  try {
    await waitForHealth(url, child, () => log, runtime === 'node' ? 20_000 : 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid ?? 0, output: () => log, stop };
}

/** One chat completion through a running Tenet under `constitution`: its verdict and request id. */
export async function askTenet(
  tenet: TenetProcess,
  clientKey: string,
  content: string,
  constitution: string,
): Promise<{ verdict: string | null; id: string }> {
  const res = await fetch(`${tenet.url}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${clientKey}`,
      'content-type': 'application/json',
      'x-tenet-constitution': constitution,
    },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }] }),
  });
  await res.text();
  return { verdict: res.headers.get('x-tenet-verdict'), id: res.headers.get('x-tenet-request-id') ?? '' };
}

/** Stops a detached child and its process group (wrangler's workerd too): SIGTERM, then SIGKILL after 5 s. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killed = setTimeout(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  // The command's own exit (npx, npm) can come before its children's: wait for the whole group, so that what they
  // still do while shutting down (a log store closing its files) is done before a test removes their folder.
  const deadline = Date.now() + 6_000;
  while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  clearTimeout(killed);
}
