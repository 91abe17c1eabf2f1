// Constitutions on the Node server, end to end: deterministic block/flag over HTTP and hot reload of edited files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopConstitutions, testConstitutions } from '../fixtures/constitutions.ts';
import { allClean, criticSays, violating } from '../fixtures/critic.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { chunks, completion } from '../upstream/script.ts';

const key = 'node-e2e-key-0123456789';
const leaked = 'sk-proj-4fJ9aQ2xTz8LmN3bVc7KpR1s';

describe('constitutions on the Node server', () => {
  let dir: string;
  let tenet: TenetProcess;
  let scenario: Scenario;
  let client: OpenAI;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenet-constitutions-'));
    for (const [name, text] of Object.entries(testConstitutions))
      writeFileSync(join(dir, `${name}.yaml`), text);
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_API_KEYS: key,
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'rules',
    });
    client = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await tenet?.stop();
  });

  const chat = (content: string, stream = false) =>
    fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content }], stream }),
    });

  it('blocks an input with no upstream call and a leaking answer, JSON and streamed, through the SDK', async () => {
    await scenario.reset();
    const refused = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'password dump' }],
    });
    expect(refused.choices[0]).toMatchObject({
      finish_reason: 'content_filter',
      message: { content: 'Blocked by policy.' },
    });
    expect(await scenario.requests()).toHaveLength(0);

    await scenario.script([{ json: completion(`key: ${leaked}`) }, { stream: chunks(`key: ${leaked}`) }]);
    const json = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(json.choices[0]?.finish_reason).toBe('content_filter');
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Blocked by policy.');
  });

  it('flags a shouting answer and keeps it', async () => {
    await scenario.script([{ json: completion('THIS IS SHOUTING') }]);
    const res = await chat('hi');
    expect(res.headers.get('x-tenet-verdict')).toBe('flagged');
    expect(res.headers.get('x-tenet-violations')).toBe('no-shouting');
  });

  it('reloads an edited file without restart, keeps the last good version on a broken edit, and says so', async () => {
    const versionOf = async () => (await chat('password dump')).headers.get('x-tenet-constitution') ?? '';
    const before = await versionOf();
    expect(before).toMatch(/^rules@[0-9a-f]{12}$/);

    writeFileSync(
      join(dir, 'rules.yaml'),
      testConstitutions.rules.replace('Blocked by policy.', 'No, by policy.'),
    );
    const after = await poll(versionOf, (v) => v !== before);
    const res = await chat('password dump');
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('No, by policy.');

    writeFileSync(
      join(dir, 'rules.yaml'),
      testConstitutions.rules.replace('severity: critical', 'severity: high'),
    );
    const health = await poll(
      async () =>
        (await (await fetch(`${tenet.url}/health`)).json()) as {
          status: string;
          constitution_errors: string[];
        },
      (h) => h.status === 'degraded',
    );
    expect(health.constitution_errors).toContainEqual(
      expect.stringMatching(
        /rules\.yaml:7:15 principles\[0\]\.severity: must be one of minor, major, critical \(got "high"\)$/,
      ),
    );
    expect(await versionOf()).toBe(after);

    writeFileSync(join(dir, 'rules.yaml'), testConstitutions.rules);
    await poll(versionOf, (v) => v === before);
    expect(((await (await fetch(`${tenet.url}/health`)).json()) as { status: string }).status).toBe('ok');
  });

  it('picks up a new file', async () => {
    writeFileSync(join(dir, 'fresh.yaml'), 'name: fresh\nprinciples: []\n');
    const res = await poll(
      () =>
        fetch(`${tenet.url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            'x-tenet-constitution': 'fresh',
          },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        }),
      (r) => r.status === 200,
    );
    expect(res.headers.get('x-tenet-constitution')).toMatch(/^fresh@/);
  });
});

/** Calls `get` until `done` holds (a file watcher is asynchronous), for at most 10 s. */
async function poll<T>(get: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await get();
    if (done(value) || Date.now() > deadline) {
      expect(done(value)).toBe(true);
      return value;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the loop on the Node server', () => {
  it('streams a revised answer the openai SDK parses, after a scripted critic found a violation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-loop-'));
    for (const [name, text] of Object.entries(loopConstitutions))
      writeFileSync(join(dir, `${name}.yaml`), text);
    const scenario = await createScenario(inject('upstreamUrl'));
    const tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_API_KEYS: key,
      TENET_CONSTITUTIONS_DIR: dir,
      TENET_CONSTITUTION: 'judged',
      TENET_CRITIC_MODEL: 'critic-model',
    });
    try {
      await scenario.script([
        { stream: chunks('Yes, it is clearly visible from the Moon!') },
        criticSays(violating([{ principle: 'no-sycophancy', violated: true, evidence: 'clearly visible' }])),
        { json: completion('No, that is a myth.') },
        criticSays(allClean()),
      ]);
      const client = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: key, maxRetries: 0 });
      const { data: stream, response } = await client.chat.completions
        .create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'Visible from the Moon, right?' }],
          stream: true,
        })
        .withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('No, that is a myth.');
      expect(response.headers.get('x-tenet-verdict')).toBe('revised');
      expect(await scenario.requests()).toHaveLength(4);
    } finally {
      await tenet.stop();
    }
  });
});
