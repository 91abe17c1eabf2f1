// POST /v1/chat/completions inside workerd: JSON and SSE answers, every field forwarded, errors OpenAI-shaped.
import { describe, expect, it } from 'vitest';
import { apiError, chunks, completion } from '../upstream/script.ts';
import { clientKey, harness, hello, readSse, upstreamKey } from './harness.ts';

describe('non-streaming chat completions', () => {
  it('returns the upstream completion byte for byte with Tenet headers', async () => {
    const t = await harness();
    const upstreamBody = completion('Paris is the capital of France.');
    await t.scenario.script([{ json: upstreamBody, headers: { 'x-request-id': 'up-123' } }]);
    const res = await t.chat(hello);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.headers.get('x-tenet-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers.get('x-request-id')).toBe('up-123');
    expect(await res.json()).toEqual(upstreamBody);
  });

  it('forwards every field the client sent, unknown ones and big integers included, with the upstream key', async () => {
    const t = await harness();
    await t.scenario.script([{ json: completion('ok') }]);
    const raw =
      '{"model":"gpt-test","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{}}}}],' +
      '"tool_choice":"auto","response_format":{"type":"json_object"},"temperature":0.2,"seed":12345678901234567890,' +
      '"n":2,"user":"u-1","metadata":{"team":"a"},"future_field":{"nested":[1,2,3]},"parallel_tool_calls":false}';
    await t.chat(raw, { 'openai-organization': 'org-1', 'x-tenet-constitution': 'default' });
    const [sent] = await t.scenario.requests();
    expect(sent?.path).toBe('/v1/chat/completions');
    expect(sent?.body).toBe(raw);
    expect(sent?.headers['authorization']).toBe(`Bearer ${upstreamKey}`);
    expect(sent?.headers['openai-organization']).toBe('org-1');
    expect(sent?.headers['x-tenet-constitution']).toBeUndefined();
    expect(JSON.stringify(sent?.headers)).not.toContain(clientKey);
  });

  it('returns tool calls and n > 1 choices intact', async () => {
    const t = await harness();
    const body = completion({
      choices: [
        { tool_calls: [{ name: 'get_weather', arguments: { city: 'Paris' } }], finish_reason: 'tool_calls' },
        { content: 'Second choice' },
      ],
    });
    await t.scenario.script([{ json: body }]);
    const res = await t.chat({
      ...hello,
      n: 2,
      tools: [{ type: 'function', function: { name: 'get_weather' } }],
    });
    const json = (await res.json()) as typeof body;
    expect(json.choices).toHaveLength(2);
    expect(json.choices[0]?.message.tool_calls?.[0]?.function).toEqual({
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
    expect(json.choices[1]?.message.content).toBe('Second choice');
  });

  it("answers with Tenet's own request id and echoes a client's id apart, never replacing it", async () => {
    const t = await harness();
    await t.scenario.script([
      { json: completion('a') },
      { json: completion('b') },
      { json: completion('c') },
    ]);
    const legacy = await t.chat(hello, { 'x-tenet-request-id': 'trace-42_abc' });
    expect(legacy.headers.get('x-tenet-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(legacy.headers.get('x-client-request-id')).toBe('trace-42_abc');
    const openai = await t.chat(hello, { 'x-client-request-id': 'trace-42_abc' });
    expect(openai.headers.get('x-tenet-request-id')).not.toBe(legacy.headers.get('x-tenet-request-id'));
    expect(openai.headers.get('x-client-request-id')).toBe('trace-42_abc');
    // Not printable ASCII: ignored (not echoed, not stored), the request served all the same.
    const unusable = await t.chat(hello, { 'x-client-request-id': '\u00e9t\u00e9' });
    expect(unusable.status).toBe(200);
    expect(unusable.headers.get('x-client-request-id')).toBeNull();
  });
});

// The passthrough constitution judges no output, so streams go through as they come.
const open = { 'x-tenet-constitution': 'passthrough' };

describe('streaming chat completions', () => {
  it('relays every chunk and ends with [DONE], usage chunk included when asked', async () => {
    const t = await harness();
    const sent = chunks('The quick brown fox', { includeUsage: true });
    await t.scenario.script([{ stream: sent }]);
    const res = await t.chat({ ...hello, stream: true, stream_options: { include_usage: true } }, open);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-tenet-request-id')).toMatch(/^req_/);
    const data = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.slice(0, -1).map((d) => JSON.parse(d))).toEqual(sent);
    const usage = JSON.parse(data.at(-2) ?? '{}') as { choices: unknown[]; usage: { total_tokens: number } };
    expect(usage.choices).toEqual([]);
    expect(usage.usage.total_tokens).toBeGreaterThan(0);
  });

  it('passes the first chunk through before the upstream has finished (no buffering)', async () => {
    const t = await harness();
    // The upstream sends two chunks, then goes silent without ending: only a pass-through can deliver them.
    await t.scenario.script([{ stream: chunks('one two three four'), stallAfter: 2 }]);
    const res = await t.chat({ ...hello, stream: true }, open);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"content":"one "')) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      text += decoder.decode(value, { stream: true });
    }
    expect(text).not.toContain('[DONE]');
    await reader.cancel();
  });

  it('ends a stream the upstream drops mid-way with an error event, never a silent truncation', async () => {
    const t = await harness();
    await t.scenario.script([{ stream: chunks('one two three four five'), dropAfter: 3 }]);
    const res = await t.chat({ ...hello, stream: true }, open);
    const data = await readSse(res);
    const last = JSON.parse(data.at(-1) ?? '{}') as { error?: { code: string; type: string } };
    expect(last.error?.code).toBe('upstream_stream_broken');
    expect(data).not.toContain('[DONE]');
    expect(data.length).toBe(4);
  });

  it('reports a stream that closes without [DONE] as broken', async () => {
    const t = await harness();
    await t.scenario.script([{ stream: chunks('short answer'), done: false }]);
    const data = await readSse(await t.chat({ ...hello, stream: true }, open));
    expect(JSON.parse(data.at(-1) ?? '{}').error.code).toBe('upstream_stream_broken');
  });

  it('ends a stream that stalls longer than TENET_STREAM_IDLE_TIMEOUT_MS with a timeout error event', async () => {
    const t = await harness({ TENET_STREAM_IDLE_TIMEOUT_MS: '300' });
    await t.scenario.script([{ stream: chunks('one two three'), stallAfter: 2 }]);
    const data = await readSse(await t.chat({ ...hello, stream: true }, open));
    expect(data).toHaveLength(3);
    expect(JSON.parse(data.at(-1) ?? '{}').error.code).toBe('upstream_timeout');
  });

  it('forwards upstream comments and never splits an event', async () => {
    const t = await harness();
    const [first, ...rest] = chunks('hi there');
    const broken = `data: ${JSON.stringify(first)}\n\n: keep-alive\n\ndata: ${JSON.stringify(rest[0]).slice(0, 10)}`;
    const tail = `${JSON.stringify(rest[0]).slice(10)}\n\n`;
    await t.scenario.script([{ stream: [broken, tail, ...rest.slice(1)] }]);
    const text = await (await t.chat({ ...hello, stream: true }, open)).text();
    expect(text).toContain(': keep-alive\n\n');
    expect(text).toContain(`data: ${JSON.stringify(rest[0])}\n\n`);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('errors', () => {
  const expectOpenAIError = async (
    res: Response,
    status: number,
    code: string | null,
    param?: string | null,
  ) => {
    expect(res.status).toBe(status);
    expect(res.headers.get('x-tenet-request-id')).toMatch(/\S/);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error['code']).toBe(code);
    if (param !== undefined) expect(body.error['param']).toBe(param);
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/at .*\.ts:\d+|Error:\s/);
    expect(text).not.toContain(upstreamKey);
    return body.error;
  };

  it('400 on malformed JSON', async () => {
    const t = await harness();
    await expectOpenAIError(await t.chat('{"model": "x", '), 400, 'invalid_json');
  });

  it('400 naming the param of a schema-invalid body', async () => {
    const t = await harness();
    await expectOpenAIError(
      await t.chat({ messages: [{ role: 'user', content: 'x' }] }),
      400,
      'invalid_request',
      'model',
    );
    const e = await expectOpenAIError(
      await t.chat({
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'user', content: 5 },
        ],
      }),
      400,
      'invalid_request',
      'messages[1].content',
    );
    expect(e['message']).toContain('messages[1].content');
    await expectOpenAIError(
      await t.chat({ ...hello, temperature: 7 }),
      400,
      'invalid_request',
      'temperature',
    );
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it('413 on a body over TENET_MAX_BODY_BYTES', async () => {
    const t = await harness({ TENET_MAX_BODY_BYTES: '2048' });
    const big = { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(5000) }] };
    await expectOpenAIError(await t.chat(big), 413, 'request_too_large');
  });

  it('404 on an unknown route', async () => {
    const t = await harness();
    await expectOpenAIError(await t.fetch('/nope'), 404, 'not_found');
  });

  it('passes an upstream 4xx through with its status, message and retry headers', async () => {
    const t = await harness();
    await t.scenario.script([
      apiError(429, 'Rate limit reached for gpt-test.', {
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': '3' },
      }),
    ]);
    const res = await t.chat(hello);
    expect(res.headers.get('retry-after')).toBe('3');
    const e = await expectOpenAIError(res, 429, 'rate_limit_exceeded');
    expect(e['message']).toBe('Rate limit reached for gpt-test.');
  });

  it('scrubs key-like strings from upstream error messages', async () => {
    const t = await harness();
    await t.scenario.script([
      apiError(403, `Project has no access with key ${upstreamKey}.`, { code: 'model_not_found' }),
    ]);
    const e = await expectOpenAIError(await t.chat(hello), 403, 'model_not_found');
    expect(e['message']).toContain('[redacted]');
  });

  it("calls an upstream 401 Tenet's own key refused: a 502 naming the setting, never the client's fault", async () => {
    const t = await harness();
    await t.scenario.script([
      apiError(401, `Incorrect API key provided: ${upstreamKey}.`, { code: 'invalid_api_key' }),
    ]);
    const res = await t.chat(hello);
    expect(res.headers.get('x-should-retry')).toBe('false');
    const e = await expectOpenAIError(res, 502, 'upstream_auth_failed');
    expect(e['message']).toContain('set TENET_UPSTREAM_KEY');
    expect(e['message']).not.toContain(upstreamKey);
  });

  it('502 on an upstream 5xx', async () => {
    const t = await harness();
    await t.scenario.script([apiError(503, 'overloaded')]);
    const e = await expectOpenAIError(await t.chat(hello), 502, 'upstream_error');
    expect(e['message']).toContain('503');
  });

  it('502 when the upstream is unreachable or drops the connection', async () => {
    const t = await harness({ TENET_UPSTREAM_URL: 'http://127.0.0.1:1/v1' });
    await expectOpenAIError(await t.chat(hello), 502, 'upstream_unreachable');
    const d = await harness();
    await d.scenario.script([{ drop: true }]);
    await expectOpenAIError(await d.chat(hello), 502, 'upstream_unreachable');
  });

  it('502 on a malformed upstream body', async () => {
    const t = await harness();
    await t.scenario.script([{ raw: '{"choices": [', contentType: 'application/json' }]);
    await expectOpenAIError(await t.chat(hello), 502, 'upstream_invalid_response');
  });

  it('504 when the upstream does not answer within TENET_UPSTREAM_TIMEOUT_MS', async () => {
    const t = await harness({ TENET_UPSTREAM_TIMEOUT_MS: '300' });
    await t.scenario.script([{ stall: true }]);
    await expectOpenAIError(await t.chat(hello), 504, 'upstream_timeout');
  });

  it('405 for a GET on the chat completions route', async () => {
    const t = await harness();
    await expectOpenAIError(
      await t.fetch('/v1/chat/completions', { headers: { authorization: `Bearer ${clientKey}` } }),
      405,
      'method_not_allowed',
    );
  });

  it('500 naming the bad setting, without its secret value, when the Worker is misconfigured', async () => {
    const t = await harness({ TENET_UPSTREAM_URL: 'not a url', TENET_ADMIN_TOKEN: 'short' });
    const e = await expectOpenAIError(await t.chat(hello), 500, 'config_invalid');
    expect(e['message']).toContain('TENET_UPSTREAM_URL');
    expect(e['message']).toContain('TENET_ADMIN_TOKEN');
    expect(e['message']).not.toContain('short');
  });
});
