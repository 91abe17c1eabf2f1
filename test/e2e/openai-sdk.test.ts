// End to end: the official openai SDK, unchanged but for baseURL, against real Tenet servers on Node and workerd.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { schemaErrors } from '../openai-schema.ts';
import { type Runtime, startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { apiError, chunks, completion } from '../upstream/script.ts';

const clientKey = 'e2e-client-key-0123456789';
const upstreamKey = 'sk-e2e-upstream-secret-0123456789';
const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }];

describe.each<Runtime>(['node', 'workers'])('openai SDK through Tenet on %s', (runtime) => {
  let tenet: TenetProcess;
  let scenario: Scenario;
  let client: OpenAI;

  beforeAll(async () => {
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet(runtime, {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: upstreamKey,
      TENET_API_KEYS: `e2e:${clientKey}`,
      // The drop-in proxy itself: no principles (the loop has its own end-to-end tests).
      TENET_CONSTITUTION: 'passthrough',
    });
    client = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: clientKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await tenet?.stop();
    expect(tenet?.output() ?? '').not.toContain(upstreamKey);
    expect(tenet?.output() ?? '').not.toContain(clientKey);
  });

  const raw = (body: unknown) =>
    fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers a plain call with a schema-valid chat.completion and Tenet headers', async () => {
    await scenario.script([{ json: completion('Paris.') }, { json: completion('Paris, again.') }]);
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-test', messages })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Paris.');
    expect(response.headers.get('x-tenet-request-id')).toMatch(/^req_/);
    const json = await (await raw({ model: 'gpt-test', messages })).json();
    expect(schemaErrors.completion(json)).toEqual([]);
  });

  it('streams a call the SDK iterates to the end, every chunk schema-valid', async () => {
    await scenario.script([
      { stream: chunks('The capital is Paris.', { includeUsage: true }), chunkDelayMs: 5 },
    ]);
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const received: unknown[] = [];
    let text = '';
    for await (const chunk of stream) {
      received.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('The capital is Paris.');
    for (const chunk of received) expect(schemaErrors.chunk(chunk)).toEqual([]);
    expect((received.at(-1) as { usage?: { total_tokens: number } }).usage?.total_tokens).toBeGreaterThan(0);
  });

  it('builds the final completion of a stream with finalChatCompletion()', async () => {
    await scenario.script([{ stream: chunks('Paris it is.') }]);
    const runner = client.chat.completions.stream({ model: 'gpt-test', messages });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Paris it is.');
    expect(final.choices[0]?.finish_reason).toBe('stop');
  });

  it('returns tool calls intact', async () => {
    await scenario.script([
      { json: completion({ tool_calls: [{ name: 'lookup', arguments: { q: 'France' } }] }) },
    ]);
    const res = await client.chat.completions.create({
      model: 'gpt-test',
      messages,
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const call = res.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function : undefined).toEqual({
      name: 'lookup',
      arguments: '{"q":"France"}',
    });
  });

  it('surfaces an upstream 5xx as the SDK APIError with status 502', async () => {
    await scenario.script([apiError(500, 'the model crashed')]);
    const err = await client.chat.completions
      .create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });

  it('surfaces an upstream 429 as RateLimitError and a bad request as BadRequestError naming the param', async () => {
    await scenario.script([apiError(429, 'slow down', { code: 'rate_limit_exceeded' })]);
    const limited = await client.chat.completions
      .create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const bad = await client.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], temperature: 9 })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
    const body = await (await raw({ model: 'm', messages: [] })).json();
    expect(schemaErrors.error(body)).toEqual([]);
  });

  it('raises an APIError when a pass-through stream breaks mid-way, after the chunks that arrived', async () => {
    await scenario.script([{ stream: chunks('one two three four'), dropAfter: 2 }]);
    const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/broke off|ended the stream/);
    expect(seen.length).toBe(2);
  });

  it('rejects a wrong key with AuthenticationError', async () => {
    const wrong = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: 'not-the-key-000000', maxRetries: 0 });
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('raises an APIError with status 502 when a buffered (judged) stream breaks', async () => {
    await scenario.script([{ stream: chunks('one two three four'), dropAfter: 2 }]);
    const err = await client.chat.completions
      .create(
        { model: 'gpt-test', messages, stream: true },
        { headers: { 'x-tenet-constitution': 'default' } },
      )
      .then(async (stream) => {
        for await (const _ of stream);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('lists models through the pass-through', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('scripted-model');
  });
});
