// clientAuth: which requests get through, which get a 401, and what the upstream key becomes (BYOK).
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../src/core/errors.ts';
import { type ClientAuthVariables, clientAuth } from './client-auth.ts';

function appWith(options: Parameters<typeof clientAuth>[0]) {
  const app = new Hono<{ Variables: ClientAuthVariables }>();
  app.use(clientAuth(options));
  app.get('/', (c) => c.json({ id: c.var.clientKeyId, upstreamKey: c.var.upstreamKey ?? null }));
  app.onError((err, c) =>
    err instanceof TenetError ? c.json(err.toBody(), err.status as 401) : c.text('unexpected', 500),
  );
  return app;
}

const keys = [
  { id: 'web', key: 'key-web-0123456789' },
  { id: 'batch', key: 'key-batch-0123456789' },
];

describe('clientAuth', () => {
  it('accepts any configured key and names it by id', async () => {
    const app = appWith({ keys, byok: false });
    const res = await app.request('/', { headers: { authorization: 'Bearer key-batch-0123456789' } });
    expect(await res.json()).toEqual({ id: 'batch', upstreamKey: null });
  });

  it('rejects a missing key with 401 missing_api_key', async () => {
    const res = await appWith({ keys, byok: false }).request('/');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
  });

  it('rejects a wrong key, a prefix of a key, and a key in the wrong scheme with 401 invalid_api_key', async () => {
    const app = appWith({ keys, byok: false });
    for (const header of [
      'Bearer key-web-0123456788',
      'Bearer key-web-012345678',
      'Bearer key-web-0123456789x',
    ]) {
      const res = await app.request('/', { headers: { authorization: header } });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('invalid_api_key');
      expect(body.error.message).not.toContain('key-web');
    }
    const basic = await app.request('/', { headers: { authorization: 'Basic key-web-0123456789' } });
    expect(basic.status).toBe(401);
  });

  it('lets everyone through as anonymous when no keys are configured', async () => {
    const res = await appWith({ keys: [], byok: false }).request('/');
    expect(await res.json()).toEqual({ id: 'anonymous', upstreamKey: null });
  });

  it('in BYOK mode passes the bearer on as the upstream key and checks x-tenet-api-key', async () => {
    const app = appWith({ keys, byok: true });
    const ok = await app.request('/', {
      headers: { authorization: 'Bearer sk-my-own-upstream-key', 'x-tenet-api-key': 'key-web-0123456789' },
    });
    expect(await ok.json()).toEqual({ id: 'web', upstreamKey: 'sk-my-own-upstream-key' });
    const noTenetKey = await app.request('/', {
      headers: { authorization: 'Bearer sk-my-own-upstream-key' },
    });
    expect(noTenetKey.status).toBe(401);
    const noBearer = await app.request('/', { headers: { 'x-tenet-api-key': 'key-web-0123456789' } });
    expect(noBearer.status).toBe(401);
  });
});
