// Behaviour of the scripted upstream, checked over real HTTP, plus schema validity of its body builders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaErrors } from '../openai-schema.ts';
import { createScenario, type Scenario } from './client.js';
import { apiError, chunks, completion, jsonCompletion } from './script.js';
import { startUpstream, type Upstream } from './server.js';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const chat = (scenario: Scenario, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${scenario.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });

const contentOf = async (res: Response): Promise<unknown> =>
  ((await res.json()) as { choices: Array<{ message: { content: unknown } }> }).choices[0]?.message.content;

const dataFrames = (sse: string): string[] =>
  sse
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));

/** Reads a body and notes when each network read arrived, to prove chunks are flushed one by one. */
async function readTimed(
  res: Response,
): Promise<{ text: string; reads: Array<{ at: number; text: string }> }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const reads: Array<{ at: number; text: string }> = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    reads.push({ at: performance.now(), text: value });
  }
  return { text: reads.map((r) => r.text).join(''), reads };
}

describe('body builders', () => {
  it('builds chat.completion bodies that match the OpenAI schema', () => {
    const bodies = [
      completion('Hello'),
      jsonCompletion({ verdict: 'ok' }, { model: 'critic' }),
      completion({ tool_calls: [{ name: 'lookup', arguments: { q: 'x' } }] }),
      completion({ choices: [{ content: 'a' }, { content: 'b', finish_reason: 'length' }] }),
    ];
    for (const body of bodies) expect(schemaErrors.completion(body)).toEqual([]);
    expect(bodies[0]).toMatchObject({
      object: 'chat.completion',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, finish_reason: 'stop' },
      ],
    });
    expect(bodies[0]?.id).toMatch(/^chatcmpl-/);
    expect(bodies[2]?.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null } });
  });

  it('builds chunk sequences that match the OpenAI schema and reassemble the text', () => {
    const plain = chunks('The quick brown fox');
    const withUsage = chunks('The quick brown fox', { includeUsage: true });
    for (const item of [...plain, ...withUsage]) expect(schemaErrors.chunk(item)).toEqual([]);
    expect(plain[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(plain.length).toBeGreaterThan(4);
    expect(plain.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('The quick brown fox');
    expect(plain.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(withUsage.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
  });

  it('builds error bodies that match the OpenAI schema', () => {
    expect(schemaErrors.error(apiError(429, 'slow down', { code: 'rate_limit_exceeded' }).json)).toEqual([]);
  });

  it('serves default echo streams whose chunks match the OpenAI schema', async () => {
    const scenario = await createScenario(upstream.url);
    const res = await chat(scenario, { stream: true, stream_options: { include_usage: true } });
    const frames = dataFrames(await res.text());
    expect(frames.at(-1)).toBe('[DONE]');
    for (const frame of frames.slice(0, -1)) expect(schemaErrors.chunk(JSON.parse(frame))).toEqual([]);
  });
});

describe('scripted upstream', () => {
  it('answers scripted replies in order, then falls back to the echo', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([{ json: completion('one') }, { json: completion('two') }]);
    expect(await contentOf(await chat(scenario, {}))).toBe('one');
    expect(await contentOf(await chat(scenario, {}))).toBe('two');
    expect(await contentOf(await chat(scenario, {}))).toBe('echo: hi');
  });

  it('answers with the first reply whose match fits and keeps the others queued', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([
      { match: { jsonSchemaName: 'critique' }, json: jsonCompletion({ ok: true }) },
      { match: { model: 'other', header: { 'X-Trace': 't1' } }, json: completion('by model+header') },
      {
        match: { bodyIncludes: 'needle', method: 'post', path: '/chat/completions' },
        json: completion('by body'),
      },
      { match: { path: '/v1/embeddings' }, json: { data: [] } },
    ]);
    expect(await contentOf(await chat(scenario, { messages: [{ role: 'user', content: 'needle' }] }))).toBe(
      'by body',
    );
    expect(await contentOf(await chat(scenario, { model: 'other' }))).toBe('echo: hi');
    expect(await contentOf(await chat(scenario, { model: 'other' }, { 'x-trace': 't1' }))).toBe(
      'by model+header',
    );
    const critique = {
      response_format: { type: 'json_schema', json_schema: { name: 'critique', schema: {} } },
    };
    expect(await contentOf(await chat(scenario, critique))).toBe('{"ok":true}');
    const embeddings = await fetch(`${scenario.baseURL}/embeddings`, { method: 'POST', body: '{}' });
    expect(await embeddings.json()).toEqual({ data: [] });
  });

  it('uses a reply `times` times, or forever with "always"', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([
      { match: { stream: false }, json: completion('twice'), times: 2 },
      { json: completion('always'), times: 'always' },
    ]);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await contentOf(await chat(scenario, {})));
    expect(answers).toEqual(['twice', 'twice', 'always', 'always']);
  });

  it('flushes stream items one by one with the scripted delays', async () => {
    const scenario = await createScenario(upstream.url);
    const items = chunks(['a', 'b', 'c']);
    await scenario.script([{ stream: items, chunkDelayMs: 60 }]);
    const started = performance.now();
    const res = await chat(scenario, { stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('content-length')).toBeNull();
    const { text, reads } = await readTimed(res);
    expect(dataFrames(text)).toEqual([...items.map((item) => JSON.stringify(item)), '[DONE]']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(items.length * 60 - 20);
    expect(reads.length).toBeGreaterThanOrEqual(items.length);
    // Sent as they were scripted, not all at the end: the typical gap between reads is the delay. (Not every gap:
    // on a loaded machine the reader may be late for one read and then take two in a row.)
    const gaps = reads
      .slice(1)
      .map((read, i) => read.at - (reads[i]?.at ?? 0))
      .sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]).toBeGreaterThanOrEqual(40);
  });

  it('sends string stream items raw and omits [DONE] when told', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([{ stream: [': ping\n\n', { a: 1 }, 'data: {broken\n\n'], done: false }]);
    expect(await (await chat(scenario, {})).text()).toBe(': ping\n\ndata: {"a":1}\n\ndata: {broken\n\n');
  });

  it('returns scripted error statuses, headers and raw bodies', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([
      apiError(429, 'slow down', { code: 'rate_limit_exceeded', headers: { 'retry-after': '1' } }),
      { raw: '{"choices": [', status: 502, contentType: 'application/json' },
    ]);
    const limited = await chat(scenario, {});
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toEqual({
      error: {
        message: 'slow down',
        type: 'invalid_request_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
    const broken = await chat(scenario, {});
    expect([broken.status, broken.headers.get('content-type'), await broken.text()]).toEqual([
      502,
      'application/json',
      '{"choices": [',
    ]);
  });

  it('waits delayMs before sending headers', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([{ json: completion('late'), delayMs: 150 }]);
    const started = performance.now();
    await chat(scenario, {});
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('drops the connection without an answer, or mid-stream after N items', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([{ drop: true }, { stream: chunks('one two three four'), dropAfter: 2 }]);
    await expect(chat(scenario, {})).rejects.toThrow();
    const res = await chat(scenario, { stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          received += value;
        }
      })(),
    ).rejects.toThrow();
    expect(dataFrames(received)).toHaveLength(2);
  });

  it('stalls without answering, or after N stream items, until the client gives up', async () => {
    const scenario = await createScenario(upstream.url);
    await scenario.script([{ stall: true }, { stream: chunks('one two three'), stallAfter: 1 }]);
    const started = performance.now();
    const stalled = fetch(`${scenario.baseURL}/chat/completions`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(150),
    });
    await expect(stalled).rejects.toThrow(/timeout|abort/i);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    const res = await chat(scenario, { stream: true });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    expect(dataFrames(first.value ?? '')).toHaveLength(1);
    const next = reader.read();
    const timeout = new Promise((resolve) => setTimeout(() => resolve('stalled'), 150));
    expect(await Promise.race([next, timeout])).toBe('stalled');
    await reader.cancel();
  });

  it('closes promptly while connections are stalled', async () => {
    const own = await startUpstream();
    const scenario = await createScenario(own.url);
    await scenario.script([{ stall: true }, { stream: chunks('a b'), stallAfter: 1 }]);
    const pending = [chat(scenario, {}), chat(scenario, { stream: true }).then((r) => r.text())];
    for (const p of pending) p.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(1000);
    for (const p of pending) await expect(p).rejects.toThrow();
  });

  it('records every upstream call of its own scenario, and reset clears queue and log', async () => {
    const scenario = await createScenario(upstream.url);
    const other = await createScenario(upstream.url);
    await scenario.script([{ json: completion('scripted') }]);
    await chat(scenario, { stream: false }, { authorization: 'Bearer sk-test', 'X-Custom': 'yes' });
    await fetch(`${scenario.baseURL}/models?limit=2`);
    await fetch(`${scenario.baseURL}/files`, { method: 'POST', body: 'not json' });
    const [first, second, third] = await scenario.requests();
    expect(first).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      query: '',
      headers: { authorization: 'Bearer sk-test', 'x-custom': 'yes', 'content-type': 'application/json' },
      json: { model: 'gpt-test', stream: false },
    });
    expect(JSON.parse(first?.body ?? '')).toEqual(first?.json);
    expect(second).toMatchObject({ method: 'GET', path: '/v1/models', query: 'limit=2', body: '' });
    expect(third).toMatchObject({ path: '/v1/files', body: 'not json' });
    expect(third).not.toHaveProperty('json');
    expect(await other.requests()).toEqual([]);
    await scenario.reset();
    expect(await scenario.requests()).toEqual([]);
    expect(await contentOf(await chat(scenario, {}))).toBe('echo: hi');
  });

  it('echoes the last user message by default, streamed when asked', async () => {
    const scenario = await createScenario(upstream.url);
    const messages = [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'x' },
      { role: 'user', content: [{ type: 'text', text: 'second' }] },
    ];
    const plain = (await (await chat(scenario, { messages })).json()) as Record<string, unknown>;
    expect(plain).toMatchObject({ object: 'chat.completion', model: 'gpt-test' });
    expect(plain.choices).toMatchObject([{ message: { content: 'echo: second' }, finish_reason: 'stop' }]);
    const streamed = dataFrames(await (await chat(scenario, { messages, stream: true })).text());
    expect(streamed.at(-1)).toBe('[DONE]');
    const parsed = streamed
      .slice(0, -1)
      .map((frame) => JSON.parse(frame) as { choices: unknown[]; usage?: unknown });
    const text = parsed
      .map((c) => (c.choices[0] as { delta: { content?: string } }).delta.content ?? '')
      .join('');
    expect(text).toBe('echo: second');
    expect(parsed.every((c) => c.usage === undefined)).toBe(true);
    const withUsage = dataFrames(
      await (await chat(scenario, { stream: true, stream_options: { include_usage: true } })).text(),
    );
    expect(JSON.parse(withUsage.at(-2) ?? '')).toMatchObject({
      choices: [],
      usage: { prompt_tokens: expect.any(Number) },
    });
  });

  it('lists scripted-model and 404s other paths in the OpenAI error shape', async () => {
    const scenario = await createScenario(upstream.url);
    const models = await fetch(`${scenario.baseURL}/models`);
    expect(await models.json()).toMatchObject({ object: 'list', data: [{ id: 'scripted-model' }] });
    const missing = await fetch(`${scenario.baseURL}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'not_found' },
    });
  });

  it('serves the default scenario at the root with zero setup', async () => {
    const res = await fetch(`${upstream.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'bench' }] }),
    });
    expect(await contentOf(res)).toBe('echo: bench');
    const { requests } = (await (await fetch(`${upstream.url}/__requests`)).json()) as {
      requests: Array<{ path: string }>;
    };
    expect(requests.at(-1)?.path).toBe('/v1/chat/completions');
  });

  it('rejects malformed scripts and unknown scenarios', async () => {
    const scenario = await createScenario(upstream.url);
    await expect(scenario.script([{ json: 1, raw: 'x' } as never])).rejects.toThrow(/exactly one/);
    await expect(scenario.script([{ echo: true, times: 0 }])).rejects.toThrow(/times/);
    const unknown = await fetch(`${upstream.url}/s/000000000000/v1/models`);
    expect(unknown.status).toBe(404);
  });
});
