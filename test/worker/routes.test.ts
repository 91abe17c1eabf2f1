// No silent bypass, inside workerd: every spelling of a guarded route reaches its guard, unguarded generation is refused.
import { describe, expect, it } from 'vitest';
import { completion } from '../upstream/script.ts';
import { clientKey, harness, hello } from './harness.ts';

const auth = { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' };
const anthropicKey = 'sk-ant-upstream-secret-0123456789';

describe('path normalisation', () => {
  it.each([
    '/v1//chat/completions',
    '/v1/chat/completions/',
    '/v1/chat/completions;jsessionid=1',
    '/v1/chat%2Fcompletions',
    '/v1/./chat/../chat/completions',
    '/V1/Chat/Completions',
  ])('%s is judged and recorded like /v1/chat/completions', async (path) => {
    const t = await harness();
    await t.scenario.script([{ json: completion('Hello there.') }]);
    const res = await t.fetch(path, { method: 'POST', headers: auth, body: JSON.stringify(hello) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tenet-verdict')).toBe('pass');
    expect(res.headers.get('x-tenet-request-id')).toBeTruthy();
    const [sent] = await t.scenario.requests();
    expect(sent?.path).toBe('/v1/chat/completions');
  });
});

describe('generation routes without a protocol', () => {
  it.each([
    ['POST', '/v1/images/generations'],
    ['POST', '/v1/audio/speech'],
    ['POST', '/v1/threads/thread_1/runs'],
    ['POST', '/v1/threads//runs'],
    ['GET', '/v1/responses/resp_123'],
    ['GET', '/v1/chat/completions/chatcmpl_1/messages'],
    ['POST', '/v1/batches'],
    ['POST', '/v1/messages/batches'],
    ['GET', '/v1/realtime/sessions'],
  ])('%s %s is refused before the upstream, naming the opt-out', async (method, path) => {
    const t = await harness();
    const res = await t.fetch(path, { method, headers: auth, ...(method === 'POST' ? { body: '{}' } : {}) });
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      type?: string;
      error: { code?: string; type: string; message: string };
    };
    // Anthropic's paths answer in Anthropic's error shape, the rest in OpenAI's.
    if (path.startsWith('/v1/messages'))
      expect(body).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    else expect(body.error.code).toBe('unguarded_route');
    expect(body.error.message).toContain('TENET_UNGUARDED=forward');
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it('are forwarded unjudged with TENET_UNGUARDED=forward', async () => {
    const t = await harness({ TENET_UNGUARDED: 'forward' });
    await t.scenario.script([{ json: { created: 1, data: [] } }]);
    const res = await t.fetch('/v1/images/generations', {
      method: 'POST',
      headers: auth,
      body: '{"prompt":"a"}',
    });
    expect(res.status).toBe(200);
    expect((await t.scenario.requests())[0]?.path).toBe('/v1/images/generations');
  });

  it('leave non-generating routes forwarded as before, and /health lists what is guarded', async () => {
    const t = await harness();
    await t.scenario.script([{ json: { object: 'list', data: [] } }]);
    expect((await t.fetch('/v1/embeddings', { method: 'POST', headers: auth, body: '{}' })).status).toBe(200);
    const health = (await (await t.fetch('/health')).json()) as { guarded: string[]; unguarded: string };
    expect(health.guarded).toEqual([
      'POST /v1/chat/completions',
      'POST /v1/responses',
      'POST /v1/completions',
      'POST /v1/messages',
    ]);
    expect(health.unguarded).toBe('refuse');
  });
});

describe('the Anthropic upstream', () => {
  const anthropic = (t: { scenario: { baseURL: string } }) => ({
    TENET_ANTHROPIC_UPSTREAM_URL: t.scenario.baseURL.replace(/\/v1$/, ''),
    TENET_ANTHROPIC_UPSTREAM_KEY: anthropicKey,
  });

  it('gets count_tokens and any request carrying anthropic-version, with its own key in x-api-key', async () => {
    const probe = await harness();
    const t = await harness({ ...anthropic(probe), TENET_UPSTREAM_URL: probe.scenario.baseURL });
    await probe.scenario.script([{ json: { input_tokens: 12 } }, { json: { data: [], has_more: false } }]);
    const headers = {
      'x-api-key': clientKey,
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
    };
    const counted = await t.fetch('/v1/messages/count_tokens', { method: 'POST', headers, body: '{}' });
    expect(await counted.json()).toEqual({ input_tokens: 12 });
    await t.fetch('/v1/models', { headers });
    const sent = await probe.scenario.requests();
    expect(sent.map((r) => r.path)).toEqual(['/v1/messages/count_tokens', '/v1/models']);
    for (const r of sent) {
      expect(r.headers['x-api-key']).toBe(anthropicKey);
      expect(r.headers['authorization']).toBeUndefined();
      expect(r.headers['anthropic-version']).toBe('2023-06-01');
    }
  });

  it("answers an Anthropic client in Anthropic's error shape", async () => {
    const t = await harness();
    const res = await t.fetch('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': 'wrong-key-0123456789', 'anthropic-version': '2023-06-01' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});
