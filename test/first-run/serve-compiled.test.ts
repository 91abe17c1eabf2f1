// `tenet serve` from a fresh copy: it compiles the sources at start and leaves no bundle behind; where it cannot
// write its bundle (a read-only install), it still starts, through tsx, and says so.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { processes } from '../process-group.ts';
import { freePort } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { type FreshCopy, freshCopy, run, waitForAnswer } from './fresh-copy.ts';

/** The command lines of `pid`'s child processes. */
function childCommands(pid: number | undefined): string[][] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0'));
}

describe('tenet serve from a fresh copy', () => {
  let copy: FreshCopy;
  let upstreamUrl: string;

  beforeAll(async () => {
    copy = freshCopy();
    upstreamUrl = (await createScenario(inject('upstreamUrl'))).baseURL;
  });
  afterAll(() => copy?.remove());

  async function serve(db: string): Promise<{ output: string; health: number; answer: string }> {
    const port = await freePort();
    const server = run(copy, 'npx', ['tenet', 'serve'], {
      PORT: String(port),
      TENET_DB: join(copy.dir, db),
      TENET_UPSTREAM_URL: upstreamUrl,
    });
    try {
      const health = (await waitForAnswer(server, `http://127.0.0.1:${port}/health`)).status;
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenet-constitution': 'passthrough' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
      });
      const json = (await res.json()) as { choices?: { message?: { content?: string } }[] };
      return { output: server.output(), health, answer: json.choices?.[0]?.message?.content ?? '' };
    } finally {
      await server.stop();
    }
  }

  it('runs compiled, answering as usual, and removes its bundle once loaded', async () => {
    const { output, health, answer } = await serve('compiled.db');
    expect(health).toBe(200);
    expect(answer).toBe('echo: hi');
    expect(output).not.toContain('could not compile');
    const dir = join(copy.dir, '.tenet', 'serve');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('runs its server in a node sized for serving, which a stop signal to the command alone stops cleanly', async () => {
    const port = await freePort();
    const db = join(copy.dir, 'sized.db');
    const server = run(copy, process.execPath, ['bin/tenet.mjs', 'serve'], {
      PORT: String(port),
      TENET_DB: db,
      TENET_UPSTREAM_URL: upstreamUrl,
    });
    try {
      await waitForAnswer(server, `http://127.0.0.1:${port}/health`);
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenet-constitution': 'passthrough' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      // The command started without the flag: its server is its child, with it.
      expect(childCommands(server.child.pid)).toEqual([
        expect.arrayContaining(['--max-semi-space-size=64', 'serve']),
      ]);
      // SIGTERM to the command alone (docker stop, kill PID): the server stops as it would itself, record written.
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const rows = new Database(db, { readonly: true }).prepare('SELECT COUNT(*) AS n FROM requests').get();
      expect(rows).toEqual({ n: 1 });
    } finally {
      await server.stop();
    }
  });

  it('runs in one process when the young generation is sized already (here in NODE_OPTIONS, underscores)', async () => {
    const port = await freePort();
    const server = run(copy, process.execPath, ['bin/tenet.mjs', 'serve'], {
      PORT: String(port),
      TENET_DB: join(copy.dir, 'own-size.db'),
      TENET_UPSTREAM_URL: upstreamUrl,
      NODE_OPTIONS: '--max_semi_space_size=16',
    });
    try {
      expect((await waitForAnswer(server, `http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(childCommands(server.child.pid)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('falls back to tsx, with one warning, where it cannot write its bundle', async () => {
    // `.tenet` as a file: the bundle's folder cannot be made, as in a read-only install.
    rmSync(join(copy.dir, '.tenet'), { recursive: true, force: true });
    writeFileSync(join(copy.dir, '.tenet'), '');
    const { output, health, answer } = await serve('fallback.db');
    expect(health).toBe(200);
    expect(answer).toBe('echo: hi');
    expect(output.match(/could not compile the sources/g)).toHaveLength(1);
  });
});
