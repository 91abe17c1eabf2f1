// The dashboard inside workerd (D1 behind it): sign in, the overview, a request page; logged text stays text.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { harness } from './harness.ts';

const adminToken = 'admin-token-dashboard-0123456789';

describe('the dashboard on Workers', () => {
  it('signs in with the token, shows the overview and a request with its texts escaped', async () => {
    const tag = `dash-${crypto.randomUUID().slice(0, 8)}`;
    const [record] = sampleRecords(tag, Date.now() - 3_600_000);
    const hostile = {
      ...record!,
      draft: '<script>alert(1)</script>',
      final: '<script>alert(1)</script> Fine.',
    };
    await createD1Store((env as unknown as { DB: D1Database }).DB).write([hostile]);
    const t = await harness({ TENET_ADMIN_TOKEN: adminToken });

    expect((await t.fetch('/admin', { redirect: 'manual' })).status).toBe(303);
    const login = await t.fetch('/admin/login', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://tenet.test',
        'sec-fetch-site': 'same-origin',
      },
      body: `token=${adminToken}`,
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/tenet_admin=v1\./);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(adminToken);
    const session = cookie.split(';')[0] ?? '';

    const overview = await t.fetch('/admin', { headers: { cookie: session } });
    expect(overview.status).toBe(200);
    const page = await t.fetch(`/admin/requests/${hostile.id}`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain(adminToken);
  });
});
