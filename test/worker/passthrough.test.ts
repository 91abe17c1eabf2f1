// Every other /v1/* route and /health inside workerd: forwarded unchanged, both ways, behind client auth.
import { describe, expect, it } from 'vitest';
import { apiError } from '../upstream/script.ts';
import { clientKey, harness, hello, upstreamKey } from './harness.ts';

const auth = { authorization: `Bearer ${clientKey}` };

describe('/v1/* pass-through', () => {
  it('GET /v1/models returns the upstream list with its status and headers', async () => {
    const t = await harness();
    const list = { object: 'list', data: [{ id: 'gpt-test', object: 'model', created: 1, owned_by: 'me' }] };
    await t.scenario.script([{ json: list, headers: { 'x-upstream': 'yes', 'set-cookie': 'a=b' } }]);
    const res = await t.fetch('/v1/models?limit=5', { headers: auth });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(list);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(res.headers.get('set-cookie')).toBeNull();
    const [sent] = await t.scenario.requests();
    expect(sent).toMatchObject({ method: 'GET', path: '/v1/models', query: 'limit=5' });
    expect(sent?.headers['authorization']).toBe(`Bearer ${upstreamKey}`);
  });

  it('forwards method, body and headers minus hop-by-hop ones', async () => {
    const t = await harness();
    await t.scenario.script([{ json: { object: 'list', data: [] } }]);
    const body = JSON.stringify({ model: 'text-embedding-3-small', input: ['a', 'b'], unknown_field: 1 });
    await t.fetch('/v1/embeddings', {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        'openai-project': 'proj_1',
        'x-custom': 'kept',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': 'hop',
        'keep-alive': 'timeout=5',
        cookie: 'tenet_admin=secret',
      },
      body,
    });
    const [sent] = await t.scenario.requests();
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/embeddings', body });
    expect(sent?.headers['openai-project']).toBe('proj_1');
    expect(sent?.headers['x-custom']).toBe('kept');
    expect(sent?.headers['x-drop-me']).toBeUndefined();
    expect(sent?.headers['keep-alive']).toBeUndefined();
    expect(sent?.headers['cookie']).toBeUndefined();
  });

  it('keeps the upstream status and body, errors included', async () => {
    const t = await harness();
    await t.scenario.script([
      apiError(404, 'No such file: file-1', { code: 'not_found' }),
      { json: {}, status: 500 },
    ]);
    const missing = await t.fetch('/v1/files/file-1', { method: 'DELETE', headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toBe(
      'No such file: file-1',
    );
    const failing = await t.fetch('/v1/files', { headers: auth });
    expect(failing.status).toBe(500);
    const sent = await t.scenario.requests();
    expect(sent.map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /v1/files/file-1', 'GET /v1/files']);
  });

  it('needs a client key like every /v1 route', async () => {
    const t = await harness();
    const res = await t.fetch('/v1/models');
    expect(res.status).toBe(401);
    expect(await t.scenario.requests()).toHaveLength(0);
  });

  it("in BYOK mode sends the client's own key upstream", async () => {
    const t = await harness({ TENET_BYOK: 'true', TENET_API_KEYS: '', TENET_ALLOWED_HOSTS: 'tenet.test' });
    await t.scenario.script([{ json: { object: 'list', data: [] } }]);
    await t.fetch('/v1/models', { headers: { authorization: 'Bearer sk-client-own-key-123456' } });
    const [sent] = await t.scenario.requests();
    expect(sent?.headers['authorization']).toBe('Bearer sk-client-own-key-123456');
  });
});

describe('/health', () => {
  it('answers without a key and shows no secret', async () => {
    const t = await harness();
    const res = await t.fetch('/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tenet-request-id')).toMatch(/^req_/);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: 'ok', runtime: 'workers' });
    expect(text).not.toContain(upstreamKey);
    expect(text).not.toContain(clientKey);
  });

  it('a chat request with a wrong key never reaches the upstream', async () => {
    const t = await harness();
    const res = await t.chat(hello, { authorization: 'Bearer wrong-key-123456789' });
    expect(res.status).toBe(401);
    expect(await t.scenario.requests()).toHaveLength(0);
  });
});
