// First run, word for word: copy .dev.vars.example, fill in only the upstream, start either runtime; the CLI reads the same file.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { type FreshCopy, freshCopy, type Running, run, waitForAnswer } from './fresh-copy.ts';

const hello = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenet-constitution': 'passthrough', ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] }),
  });

describe('the README set-up: cp .dev.vars.example .dev.vars, fill in the upstream, start', () => {
  let copy: FreshCopy;
  let scenario: Scenario;
  const running: Running[] = [];

  beforeAll(async () => {
    copy = freshCopy();
    scenario = await createScenario(inject('upstreamUrl'));
    // "fill in at least TENET_UPSTREAM_KEY (or TENET_UPSTREAM_URL for a local model)": a local model here.
    copy.fillDevVars({ TENET_UPSTREAM_URL: scenario.baseURL });
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    copy?.remove();
  });

  it.each([
    ['npm start (wrangler dev, workerd)', 'npm', ['start']],
    ['npx tenet serve --env-file .dev.vars (Node)', 'npx', ['tenet', 'serve', '--env-file', '.dev.vars']],
  ])('%s starts with the example file as shipped and answers', async (_name, command, args) => {
    const port = await freePort();
    const server = run(copy, command, args, {
      PORT: String(port),
      TENET_DB: `${copy.dir}/.tenet/${port}.db`,
    });
    running.push(server);
    const url = `http://127.0.0.1:${port}`;
    const health = await waitForAnswer(server, `${url}/health`);
    expect(health.status, server.output()).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');
    const res = await hello(url);
    expect(res.status, server.output()).toBe(200);
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('echo: Hello');
    // The blank optional settings of the example are "unset", never an error.
    expect(server.output()).not.toMatch(/invalid configuration|expected string/);
  });
});

describe('the CLI reads the same env file', () => {
  const adminToken = 'first-run-admin-token-0123456789';
  let copy: FreshCopy;
  let server: Running;

  beforeAll(async () => {
    copy = freshCopy();
    const port = await freePort();
    const scenario = await createScenario(inject('upstreamUrl'));
    // A reviewer's .dev.vars: the admin token and where Tenet runs, next to the server's settings.
    copy.fillDevVars({
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      TENET_DB: `${copy.dir}/.tenet/cli.db`,
    });
    server = run(copy, 'node', ['bin/tenet.mjs', 'serve', '--env-file', '.dev.vars']);
    await waitForAnswer(server, `http://127.0.0.1:${port}/health`);
    await (await hello(`http://127.0.0.1:${port}`)).text();
  });
  afterAll(async () => {
    await server?.stop();
    copy?.remove();
  });

  it.each([
    ['logs', ['logs', '--json']],
    ['stats', ['stats', '--json']],
    ['export', ['export', '--format', 'jsonl', '--kind', 'requests']],
  ])('tenet %s --env-file .dev.vars finds Tenet and its admin token there', async (_name, args) => {
    // Records are written after the response: export until the request shows up.
    let out = '';
    for (let i = 0; i < 50 && !out.includes('gpt-test'); i++) {
      const cli = run(copy, 'node', ['bin/tenet.mjs', ...args, '--env-file', '.dev.vars']);
      expect(await cli.exited, cli.output()).toBe(0);
      out = cli.output();
      if (args[0] !== 'export') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).not.toContain('no admin token');
    if (args[0] === 'export') expect(out).toContain('gpt-test');
    expect(out).not.toContain(adminToken);
  });

  it('tenet serve --help shows the usage and settings instead of starting a server', async () => {
    const help = run(copy, 'node', ['bin/tenet.mjs', 'serve', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('Usage:');
    expect(help.output()).toContain('TENET_UPSTREAM_URL');
    expect(help.output()).not.toContain('tenet listening');
  });

  it('names a missing env file instead of failing later', async () => {
    const cli = run(copy, 'node', ['bin/tenet.mjs', 'stats', '--env-file', 'no-such.vars']);
    expect(await cli.exited).not.toBe(0);
    expect(cli.output()).toContain('no-such.vars');
  });
});
