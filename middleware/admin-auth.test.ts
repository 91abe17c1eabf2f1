// adminAuth: the admin token or a signed session gets in; no token configured, client keys, wrong tokens do not.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { TenetError } from '../src/core/errors.ts';
import { adminAuth, adminCookieName, createAdminSession, verifyAdminSession } from './admin-auth.ts';

const token = 'admin-token-0123456789abcdef';
const clientKeys = [{ id: 'app', key: 'client-key-0123456789' }];

function appWith(options: Parameters<typeof adminAuth>[0]) {
  const app = new Hono();
  app.use(adminAuth(options));
  app.get('/', (c) => c.json({ ok: true }));
  app.post('/', (c) => c.json({ ok: true }));
  app.onError((err, c) =>
    err instanceof TenetError
      ? c.json(err.toBody(), err.status as 401, err.headers)
      : c.text('unexpected', 500),
  );
  return app;
}

const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
const bearer = (value: string) => ({ headers: { authorization: `Bearer ${value}` } });
const cookie = (value: string) => ({ headers: { cookie: `${adminCookieName}=${value}` } });

describe('adminAuth', () => {
  it('lets the admin token in as a bearer', async () => {
    const res = await appWith({ token, clientKeys }).request('/', bearer(token));
    expect(res.status).toBe(200);
  });

  it('answers 403 admin_closed when no admin token is configured, whatever is presented', async () => {
    const app = appWith({ token: undefined, clientKeys });
    for (const init of [{}, bearer(token), bearer(clientKeys[0]?.key ?? '')]) {
      const res = await app.request('/', init);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('admin_closed');
      expect(body.error.message).toContain('TENET_ADMIN_TOKEN');
    }
  });

  it('refuses a client API key with 403 forbidden', async () => {
    const res = await appWith({ token, clientKeys }).request('/', bearer('client-key-0123456789'));
    expect(res.status).toBe(403);
    expect(await codeOf(res)).toBe('forbidden');
  });

  it('refuses a missing token, a wrong one, a prefix and an extension of it with 401', async () => {
    const app = appWith({ token, clientKeys });
    const attempts = [{}, bearer('nope'), bearer(token.slice(0, -1)), bearer(`${token}x`)];
    for (const init of [...attempts, { headers: { authorization: `Basic ${token}` } }]) {
      const res = await app.request('/', init);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.text();
      expect(JSON.parse(body).error.code).toBe('invalid_admin_token');
      expect(body).not.toContain(token);
    }
  });

  it('lets a valid session cookie in, and refuses an expired, forged or foreign-token one', async () => {
    const app = appWith({ token, clientKeys });
    const now = Date.now();
    const good = await createAdminSession(token, now);
    expect((await app.request('/', cookie(good))).status).toBe(200);

    const expired = await createAdminSession(token, now - 10_000, 1_000);
    const foreign = await createAdminSession('another-token-0123456789', now);
    const [, expiry, id, mac] = good.split('.');
    const extended = `v2.${Number(expiry) + 1}.${id}.${mac}`;
    const otherId = `v2.${expiry}.${'A'.repeat(22)}.${mac}`;
    for (const value of [expired, foreign, extended, otherId, token, 'v2.x.y.z', '']) {
      const res = await app.request('/', cookie(value));
      expect(res.status).toBe(401);
    }
  });

  it('refuses a cookie-authenticated POST from another origin, allows one from its own', async () => {
    const app = appWith({ token, clientKeys });
    const value = await createAdminSession(token, Date.now());
    const post = (origin: string) =>
      app.request('http://tenet.test/', {
        method: 'POST',
        headers: { cookie: `${adminCookieName}=${value}`, origin },
      });
    expect((await post('https://evil.example')).status).toBe(403);
    expect((await post('http://tenet.test')).status).toBe(200);
  });
});

describe('admin sessions', () => {
  it('never contain the token and verify only with it, only until they expire', async () => {
    const now = 1_700_000_000_000;
    const value = await createAdminSession(token, now, 60_000);
    expect(value).toMatch(/^v2\.1700000060000\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(value).not.toContain(token);
    const id = value.split('.')[2];
    expect(await verifyAdminSession(token, value, now)).toEqual({ id, expires: 1_700_000_060_000 });
    expect(await verifyAdminSession(token, value, now + 60_000)).toBeUndefined();
    expect(await verifyAdminSession(`${token}x`, value, now)).toBeUndefined();
  });
});
