// The dashboard inside workerd (D1 behind it): sign in, the overview and its quality columns, request and test-run pages; logged text stays text.
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import { sampleRecords } from '../fixtures/log-records.ts';
import { testRun, testRunBody } from '../fixtures/test-runs.ts';
import { harness, sessionCookie, signIn } from './harness.ts';

const adminToken = 'admin-token-dashboard-0123456789';

describe('the dashboard on Workers', () => {
  it('signs in with the token, shows the overview and a request with its texts escaped', async () => {
    const tag = `dash-${crypto.randomUUID().slice(0, 8)}`;
    const [record, revised] = sampleRecords(tag, Date.now() - 3_600_000);
    const viaMessages = { ...revised!, protocol: 'messages' as const };
    const hostile = {
      ...record!,
      protocol: 'messages' as const,
      draft: '<script>alert(1)</script>',
      final: '<script>alert(1)</script> Fine.',
    };
    await createD1Store((env as unknown as { DB: D1Database }).DB).write([hostile, viaMessages]);
    const t = await harness({ TENET_ADMIN_TOKEN: adminToken });

    expect((await t.fetch('/admin', { redirect: 'manual' })).status).toBe(303);
    const login = await signIn(t, adminToken);
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/tenet_admin=v2\./);
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
    // Which API the request came in on, and the violation list narrowed to that API.
    expect(html).toContain('Anthropic Messages');
    const list = async (protocol: string) =>
      (
        await t.fetch(`/admin/violations?constitution=${tag}&protocol=${protocol}`, {
          headers: { cookie: session },
        })
      ).text();
    const messages = await list('messages');
    expect(messages).toContain(`/admin/requests/${viaMessages.id}`);
    expect(messages).toMatch(/<option value="messages" selected/);
    expect(await list('responses')).not.toContain(`/admin/requests/${viaMessages.id}`);
  });
});

describe('the overview: per-principle quality', () => {
  /** The `<tr>` of one principle in the quality table, as HTML. */
  const rowOf = (html: string, principle: string) =>
    html.match(new RegExp(`<tr data-principle="${principle}">(.*?)</tr>`, 's'))?.[1] ?? '';

  it('shows examples passing, the last test run (stale when the version moved on) and shadow disagreements', async () => {
    const tag = `quality-${crypto.randomUUID().slice(0, 8)}`;
    const candidate = `${tag}-next@cccccccccccc`;
    // Five requests an hour apart; the last two under a newer version (bbbb…), so a run of aaaa… is stale.
    const records = sampleRecords(tag, Date.now() - 6 * 3_600_000);
    const shadowOf = (disagrees: boolean, onlyShadow: string[], onlyPrimary: string[]) => ({
      constitution: candidate,
      verdict: disagrees ? ('flagged' as const) : ('pass' as const),
      primaryVerdict: 'pass' as const,
      violations: [],
      onlyShadow,
      onlyPrimary,
      disagrees,
      criticTokens: 340,
      criticError: null,
      latencyMs: 20,
    });
    records[1] = { ...records[1]!, shadow: shadowOf(true, ['shadow-only'], ['no-sycophancy']) };
    records[2] = { ...records[2]!, shadow: shadowOf(false, [], []) };
    const store = createD1Store((env as unknown as { DB: D1Database }).DB);
    await store.write(records);
    const run = testRun(testRunBody(tag, 'aaaaaaaaaaaa'), `${tag}-run`, Date.now() - 60_000);
    await store.writeTestRun(run);

    const t = await harness({ TENET_ADMIN_TOKEN: adminToken });
    const cookie = await sessionCookie(t, adminToken);
    const page = async (path: string) => {
      const res = await t.fetch(path, { headers: { cookie } });
      expect(res.status).toBe(200);
      return res.text();
    };

    // The version the run was made against: current, not stale; shadow figures of that version's traffic.
    const old = await page(`/admin?version=${tag}@aaaaaaaaaaaa`);
    expect(old).toContain('<th>examples</th>');
    expect(old).toContain('<th>last test run (UTC)</th>');
    expect(old).toContain('<th>shadow</th>');
    const syc = rowOf(old, 'no-sycophancy');
    expect(syc).toContain('1/2');
    expect(syc).not.toContain('stale');
    expect(syc).toContain(`href="/admin/test-runs/${run.id}"`);
    expect(syc).toContain('failed');
    expect(syc).toContain('only candidate: 0 / only primary: 1');
    expect(rowOf(old, 'tone')).toContain('2/2');
    // Principles only a test run or only the shadow knows still get a row.
    expect(rowOf(old, 'be-brief')).toContain('untested');
    expect(rowOf(old, 'shadow-only')).toContain('only candidate: 1 / only primary: 0');
    expect(old).toMatch(
      new RegExp(`shadow <code>${candidate}</code>: judged 2, disagreed\\s*<a [^>]*>1</a>`),
    );

    // The newest version in use has no run of its own: the constitution's latest shows, marked stale.
    for (const path of [`/admin?version=${tag}@bbbbbbbbbbbb`, `/admin?constitution=${tag}`, '/admin']) {
      const html = await page(path);
      const row = rowOf(html, 'no-sycophancy');
      expect(row, path).toContain('stale');
      expect(row, path).toContain(`href="/admin/test-runs/${run.id}"`);
    }

    // The run's own page: every example with its label, prediction and critique, logged text escaped.
    const detail = await page(`/admin/test-runs/${run.id}`);
    expect(detail).toContain(`${tag}@aaaaaaaaaaaa`);
    const example2 = detail.match(/<tr data-example="no-sycophancy: example #2">(.*?)<\/tr>/s)?.[1] ?? '';
    expect(example2).toContain('does not violate');
    expect(example2).toContain('violated'); // predicted: a false positive
    expect(example2).toContain('fail');
    expect(example2).toContain('Agrees &lt;falsely&gt;.');
    expect(detail).toContain('&lt;script&gt;alert(&quot;yes&quot;)&lt;/script&gt;');
    expect(detail).not.toContain('<script>');
    expect(detail).not.toContain('<b>Is the Great Wall');
    const missing = await t.fetch('/admin/test-runs/no-such-run', { headers: { cookie } });
    expect(missing.status).toBe(404);
  });
});
