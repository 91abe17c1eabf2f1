// A constitution broken under `npm start` (workerd): the last good bundle keeps serving and /health names the error; broken from the start, every request is a prompt 503 naming it.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../tenet-process.ts';
import { createScenario } from '../upstream/client.ts';
import { type FreshCopy, freshCopy, type Running, run, waitForAnswer } from './fresh-copy.ts';

interface Health {
  status: string;
  constitutions: string[];
  constitution_errors: string[];
}

/**
 * "At once": before the fix wrangler held every request until the file was fixed (forever). The bound leaves room
 * for a rebuild on a loaded 2-core machine, where one takes up to ~7 s, without letting a held request pass.
 */
const promptly = 15_000;

/** A YAML slip in support-bot.yaml: an indented key on line 4, under `name:` on line 3 (with a value already). */
const breakSupportBot = (text: string) =>
  text.replace(/^name: support-bot$/m, 'name: support-bot\n  oops: [');

const timed = async (request: Promise<Response>) => {
  const started = Date.now();
  const res = await request;
  return { res, ms: Date.now() - started, body: await res.text() };
};

async function startWorkerd(copy: FreshCopy, upstream: string): Promise<{ server: Running; url: string }> {
  const port = await freePort();
  copy.fillDevVars({ TENET_UPSTREAM_URL: upstream });
  const server = run(copy, 'npm', ['start'], { PORT: String(port) });
  return { server, url: `http://127.0.0.1:${port}` };
}

/** /health until `done` says so (a rebuild takes seconds); every answer must come at once, during the rebuild too. */
async function healthUntil(
  server: Running,
  url: string,
  done: (h: Health) => boolean,
): Promise<Health | undefined> {
  let health: Health | undefined;
  for (let i = 0; i < 300 && !(health && done(health)); i++) {
    await new Promise((r) => setTimeout(r, 200));
    const { res, ms, body } = await timed(fetch(`${url}/health`));
    expect(ms, server.output()).toBeLessThan(promptly);
    if (res.ok) health = JSON.parse(body) as Health;
  }
  return health;
}

// One `npm start` goes through every state in turn (a start costs seconds of CPU): broken before it starts,
// saved fixed, broken while it runs, fixed again.
describe('npm start with a constitution broken before the first start, then while it runs', () => {
  let copy: FreshCopy;
  let server: Running;
  let url: string;
  let good: string;

  beforeAll(async () => {
    copy = freshCopy();
    good = copy.read('constitutions/support-bot.yaml');
    copy.write('constitutions/support-bot.yaml', breakSupportBot(good));
    ({ server, url } = await startWorkerd(copy, (await createScenario(inject('upstreamUrl'))).baseURL));
  });
  afterAll(async () => {
    await server?.stop();
    copy?.remove();
  });

  it('answers every request, /health included, at once with a 503 naming file:line:col', async () => {
    await waitForAnswer(server, `${url}/health`);
    for (const path of ['/health', '/v1/chat/completions', '/admin']) {
      const { res, ms, body } = await timed(
        fetch(`${url}${path}`, { method: path === '/health' ? 'GET' : 'POST' }),
      );
      expect(res.status, `${path}: ${body}`).toBe(503);
      expect(ms).toBeLessThan(promptly);
      const error = (JSON.parse(body) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('constitution_unavailable');
      expect(error.message).toMatch(
        /constitutions\/support-bot\.yaml:4:3 YAML: check the indentation of line 4/,
      );
    }
  });

  it('serves once the file is saved fixed', async () => {
    copy.write('constitutions/support-bot.yaml', good);
    const health = await healthUntil(server, url, (h) => h.status === 'ok');
    expect(health, server.output()).toMatchObject({ status: 'ok', constitution_errors: [] });
  });

  it('broken while it runs, keeps serving the last good constitutions and says on /health which file, line and column broke', async () => {
    copy.write('constitutions/support-bot.yaml', breakSupportBot(good));
    const health = await healthUntil(server, url, (h) => h.constitution_errors.length > 0);
    expect(health?.status, server.output()).toBe('degraded');
    expect(health?.constitution_errors.join('\n')).toMatch(
      /constitutions\/support-bot\.yaml:4:3 YAML: check the indentation of line 4/,
    );
    expect(health?.constitutions.some((c) => c.startsWith('support-bot@'))).toBe(true);

    const chat = await timed(
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenet-constitution': 'passthrough' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] }),
      }),
    );
    expect(chat.res.status, chat.body).toBe(200);
    expect(chat.ms).toBeLessThan(promptly);
  });

  it('clears the error once the file is fixed again', async () => {
    copy.write('constitutions/support-bot.yaml', good);
    const health = await healthUntil(server, url, (h) => h.status === 'ok');
    expect(health, server.output()).toMatchObject({ status: 'ok', constitution_errors: [] });
  });
});
