// Constitutions through the HTTP API inside workerd: selection, versions in headers, deterministic block and flag.
import { describe, expect, it } from 'vitest';
import { testConstitutions } from '../fixtures/constitutions.ts';
import { chunks, completion } from '../upstream/script.ts';
import { clientKey, harness, hello, readSse } from './harness.ts';

const withRules = (settings: Record<string, string> = {}) =>
  harness({ constitutions: testConstitutions, settings: { TENET_CONSTITUTION: 'rules', ...settings } });
const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-test',
  messages: [{ role: 'user', content }],
  ...extra,
});
const leakedKey = 'sk-proj-4fJ9aQ2xTz8LmN3bVc7KpR1s';

describe('choosing the constitution', () => {
  it('uses the header first, then the key default, then TENET_CONSTITUTION, and names the version', async () => {
    const t = await harness({
      constitutions: testConstitutions,
      settings: {
        TENET_CONSTITUTION: 'rules',
        TENET_API_KEYS: `app:${clientKey},other:other-key-123456`,
        TENET_KEY_CONSTITUTIONS: 'app:lenient',
      },
    });
    await t.scenario.script([{ json: completion('a'), times: 3 }]);
    const byHeader = await t.chat(hello, { 'x-tenet-constitution': 'open' });
    expect(byHeader.headers.get('x-tenet-constitution')).toMatch(/^open@[0-9a-f]{12}$/);
    const byKey = await t.chat(hello);
    expect(byKey.headers.get('x-tenet-constitution')).toMatch(/^lenient@/);
    const byServer = await t.chat(hello, { authorization: 'Bearer other-key-123456' });
    expect(byServer.headers.get('x-tenet-constitution')).toMatch(/^rules@/);
  });

  it('answers an unknown name with 400 listing the available ones, before any upstream call', async () => {
    const t = await withRules();
    const res = await t.chat(hello, { 'x-tenet-constitution': 'nope' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; param: string } };
    expect(body.error.code).toBe('unknown_constitution');
    expect(body.error.param).toBe('x-tenet-constitution');
    expect(body.error.message).toBe(
      'Unknown constitution "nope". Available: audited, lenient, open, rules, rules-error.',
    );
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it('refuses to serve when TENET_CONSTITUTION names no constitution', async () => {
    const t = await withRules({ TENET_CONSTITUTION: 'missing' });
    const res = await t.chat(hello);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'TENET_CONSTITUTION',
    );
  });
});

describe('deterministic input principles', () => {
  it('block an input without any upstream call, as a normal refusal', async () => {
    const t = await withRules();
    const res = await t.chat(ask('send me the password dump please'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(res.headers.get('x-tenet-violations')).toBe('no-dump-requests');
    expect(res.headers.get('x-tenet-revisions')).toBe('0');
    const body = (await res.json()) as {
      model: string;
      choices: Array<{ message: { content: string }; finish_reason: string }>;
    };
    expect(body.model).toBe('gpt-test');
    expect(body.choices[0]).toMatchObject({
      message: { content: 'Blocked by policy.' },
      finish_reason: 'content_filter',
    });
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it('block a streamed input with a refusal streamed as proper chunks', async () => {
    const t = await withRules();
    const res = await t.chat(
      ask('password   dump', { stream: true, stream_options: { include_usage: true } }),
    );
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    const data = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const parsed = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(parsed[0].choices[0].delta.role).toBe('assistant');
    expect(parsed.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Blocked by policy.');
    expect(parsed.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual([
      'content_filter',
    ]);
    expect(parsed.at(-1).usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it('flag an input and still answer it', async () => {
    const t = await withRules();
    await t.scenario.script([{ json: completion('On it.') }]);
    const res = await t.chat(ask('urgent: reset my router'));
    expect(res.headers.get('x-tenet-verdict')).toBe('flagged');
    expect(res.headers.get('x-tenet-violations')).toBe('urgent-input');
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('On it.');
  });

  it('in error mode, block with the configured HTTP error', async () => {
    const t = await withRules({ TENET_CONSTITUTION: 'rules-error' });
    const res = await t.chat(ask('password dump'));
    expect(res.status).toBe(422);
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(await res.json()).toEqual({
      error: {
        message: 'This request was blocked by policy.',
        type: 'invalid_request_error',
        param: null,
        code: 'content_blocked',
      },
    });
  });
});

describe('deterministic output principles', () => {
  it('pass a clean answer byte for byte, with verdict headers', async () => {
    const t = await withRules();
    const upstreamBody = completion('Fine answer.');
    await t.scenario.script([{ json: upstreamBody }]);
    const res = await t.chat(hello);
    expect(res.headers.get('x-tenet-verdict')).toBe('pass');
    expect(res.headers.get('x-tenet-violations')).toBe('');
    expect(await res.json()).toEqual(upstreamBody);
  });

  it('block a leaking answer: the refusal replaces it with finish_reason content_filter', async () => {
    const t = await withRules();
    await t.scenario.script([{ json: completion(`Use ${leakedKey} to call the API.`) }]);
    const res = await t.chat(hello);
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(res.headers.get('x-tenet-violations')).toBe('no-keys');
    const text = await res.text();
    expect(text).not.toContain(leakedKey);
    expect(JSON.parse(text).choices[0]).toMatchObject({
      message: { content: 'Blocked by policy.' },
      finish_reason: 'content_filter',
    });
  });

  it('judge each choice of n > 1 on its own', async () => {
    const t = await withRules();
    await t.scenario.script([
      { json: completion({ choices: [{ content: 'Clean.' }, { content: `Key: ${leakedKey}` }] }) },
    ]);
    const res = await t.chat({ ...hello, n: 2 });
    const body = (await res.json()) as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
    };
    expect(body.choices[0]?.message.content).toBe('Clean.');
    expect(body.choices[1]).toMatchObject({
      message: { content: 'Blocked by policy.' },
      finish_reason: 'content_filter',
    });
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
  });

  it('flag an answer and keep it', async () => {
    const t = await withRules();
    await t.scenario.script([{ json: completion('THIS IS SHOUTING LOUDLY') }]);
    const res = await t.chat(hello);
    expect(res.headers.get('x-tenet-verdict')).toBe('flagged');
    expect(res.headers.get('x-tenet-violations')).toBe('no-shouting');
    expect(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe('THIS IS SHOUTING LOUDLY');
  });

  it('refuse a revise-principle violation when revisions run out, or keep the best round when told to', async () => {
    const t = await withRules();
    const long = 'word '.repeat(60);
    const longer = 'word '.repeat(70);
    // The draft and both revisions (max_revisions 2) stay too long: the rule decides every round.
    await t.scenario.script([{ json: completion(long) }, { json: completion(longer), times: 2 }]);
    const strict = await t.chat(hello);
    expect(strict.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(strict.headers.get('x-tenet-revisions')).toBe('2');
    expect(await t.scenario.requests()).toHaveLength(3);

    await t.scenario.script([{ json: completion(long) }, { json: completion(longer), times: 2 }]);
    const lenient = await t.chat(hello, { 'x-tenet-constitution': 'lenient' });
    expect(lenient.headers.get('x-tenet-verdict')).toBe('flagged');
    expect(
      ((await lenient.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe(long);
  });

  it('combine a flagged input with a blocked output into one verdict and both ids', async () => {
    const t = await withRules();
    await t.scenario.script([{ json: completion(`Here: ${leakedKey}`) }]);
    const res = await t.chat(ask('urgent, what is the key?'));
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(res.headers.get('x-tenet-violations')).toBe('urgent-input,no-keys');
  });
});

describe('deterministic output principles on streams', () => {
  it('buffer mode: a clean stream goes out as the upstream sent it, with verdict headers', async () => {
    const t = await withRules();
    const sent = chunks('All good here.', { includeUsage: true });
    await t.scenario.script([{ stream: sent }]);
    const res = await t.chat({ ...hello, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('x-tenet-verdict')).toBe('pass');
    const data = await readSse(res);
    expect(data.slice(0, -1).map((d) => JSON.parse(d))).toEqual(sent);
  });

  it('buffer mode: a leaking stream never reaches the client; the refusal is streamed instead', async () => {
    const t = await withRules();
    await t.scenario.script([{ stream: chunks(`Your key is ${leakedKey} enjoy`) }]);
    const res = await t.chat({ ...hello, stream: true });
    expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
    expect(res.headers.get('x-tenet-violations')).toBe('no-keys');
    const text = await res.text();
    expect(text).not.toContain('sk-proj');
    const parsed = (await readSse(new Response(text))).slice(0, -1).map((d) => JSON.parse(d));
    expect(parsed.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Blocked by policy.');
    expect(parsed.at(-1).choices[0].finish_reason).toBe('content_filter');
  });

  it('buffer mode: a stream that breaks before the verdict is a 502, not half an answer', async () => {
    const t = await withRules();
    await t.scenario.script([{ stream: chunks('one two three four'), dropAfter: 2 }]);
    const res = await t.chat({ ...hello, stream: true });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_stream_broken');
  });

  it('buffer mode: a slow answer keeps the connection alive and carries its verdict in a comment', async () => {
    const t = await withRules({ TENET_STREAM_KEEPALIVE_MS: '100' });
    await t.scenario.script([{ stream: chunks(`slow ${leakedKey} answer`), chunkDelayMs: 80 }]);
    const res = await t.chat({ ...hello, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tenet-verdict')).toBe('pending');
    const text = await res.text();
    expect(text.startsWith(': keep-alive\n\n')).toBe(true);
    const verdict = /^: tenet (\{.*\})$/m.exec(text)?.[1];
    expect(JSON.parse(verdict ?? '{}')).toMatchObject({
      'x-tenet-verdict': 'blocked',
      'x-tenet-violations': 'no-keys',
    });
    expect(text).not.toContain('sk-proj');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('audit mode: the stream goes out untouched, as it comes', async () => {
    const t = await withRules({ TENET_CONSTITUTION: 'audited' });
    await t.scenario.script([{ stream: chunks(`LOUD ${leakedKey}`), stallAfter: 2 }]);
    const res = await t.chat({ ...hello, stream: true });
    expect(res.headers.get('x-tenet-mode')).toBe('audit');
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"role":"assistant"');
    await reader.cancel();
  });
});
