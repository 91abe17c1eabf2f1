// The reviewer dashboard in headless Chromium against a real Node server: sign in, filter, read a request, review.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loopConstitutions } from '../fixtures/constitutions.ts';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { completion } from '../upstream/script.ts';
import { launchChromium } from './browser.ts';
import {
  injected,
  longNamePrinciple,
  longNames,
  sycophantic,
  traffic,
  twoChoices,
  twoChoicesReplies,
  waitForRecords,
} from './dashboard-traffic.ts';

const adminToken = 'dashboard-admin-token-0123456789';
const clientKey = 'dashboard-client-key-0123456789';
const upstreamKey = 'sk-dashboard-upstream-secret-0123456789';
const secrets = [adminToken, clientKey, upstreamKey];
const artefacts = new URL('../../test-results/', import.meta.url).pathname;

describe('the reviewer dashboard on the Node server, in Chromium', () => {
  let dir: string;
  let scenario: Scenario;
  let tenet: TenetProcess;
  let browser: Browser;
  let context: BrowserContext;
  const ids: Record<string, string> = {};
  const dialogs: string[] = [];

  const admin = (path = '') => `${tenet.url}/admin${path}`;

  async function signIn(into: BrowserContext): Promise<Page> {
    const page = await into.newPage();
    await page.goto(admin('/login'));
    await page.fill('input[name=token]', adminToken);
    await page.click('button.primary');
    await page.waitForURL(admin());
    return page;
  }

  beforeAll(async () => {
    mkdirSync(artefacts, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'tenet-dashboard-'));
    const constitutionsDir = join(dir, 'constitutions');
    mkdirSync(constitutionsDir);
    for (const [name, text] of Object.entries({ ...loopConstitutions, 'long-names': longNames })) {
      writeFileSync(join(constitutionsDir, `${name}.yaml`), text);
    }
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_UPSTREAM_KEY: upstreamKey,
      TENET_API_KEYS: `app:${clientKey}`,
      TENET_ADMIN_TOKEN: adminToken,
      TENET_DB: join(dir, 'tenet.db'),
      TENET_CONSTITUTIONS_DIR: constitutionsDir,
      TENET_CONSTITUTION: 'judged',
      TENET_CRITIC_MODEL: 'critic-model',
      TENET_VERDICT_CACHE_TTL_S: '0',
    });
    for (const request of traffic) {
      await scenario.script(request.replies);
      const res = await fetch(`${tenet.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: request.prompt }] }),
      });
      await res.text();
      expect(res.headers.get('x-tenet-verdict'), request.name).toBe(request.verdict);
      ids[request.name] = res.headers.get('x-tenet-request-id') ?? '';
    }
    await waitForRecords(tenet.url, adminToken, traffic.length);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(10_000);
    // Any alert() a logged text managed to run would show up here, on any page of the session.
    context.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(context);
  });

  afterAll(async () => {
    await browser?.close();
    await tenet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends a visitor without a session to the sign-in form, refuses a wrong token, and signs in with the right one', async () => {
    const fresh = await browser.newContext();
    try {
      const page = await fresh.newPage();
      await page.goto(admin('/violations'));
      expect(new URL(page.url()).pathname).toBe('/admin/login');
      await page.fill('input[name=token]', 'not-the-admin-token-0000');
      await page.click('button.primary');
      await expect(page.locator('[role=alert]').textContent()).resolves.toContain('not the admin token');
      await fresh.addCookies([
        { name: 'tenet_admin', value: `v2.99999999999999.${'A'.repeat(22)}.${'A'.repeat(43)}`, url: admin() },
      ]);
      await page.goto(admin());
      expect(new URL(page.url()).pathname).toBe('/admin/login');

      await page.fill('input[name=token]', adminToken);
      await page.click('button.primary');
      await page.waitForURL(admin());
      const [cookie] = (await fresh.cookies()).filter((c) => c.name === 'tenet_admin');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin', secure: false });
      expect(cookie?.value).not.toContain(adminToken);

      await page.click('text=Sign out');
      await page.waitForURL(admin('/login'));
      await page.goto(admin());
      expect(new URL(page.url()).pathname).toBe('/admin/login');
    } finally {
      await fresh.close();
    }
  });

  it('filters the violation list by principle, verdict, review state and text, and pages with Next', async () => {
    const page = await context.newPage();
    const principles = () => page.locator('#violations tbody tr td:nth-child(2) strong').allTextContents();
    await page.goto(admin('/violations'));
    expect((await principles()).sort()).toEqual(['no-harm', 'no-sycophancy', 'tone', 'tone']);

    await page.fill('input[name=principle]', 'no-sycophancy');
    await page.click('form.filters button.primary');
    await page.waitForURL(/principle=no-sycophancy/);
    expect(await principles()).toEqual(['no-sycophancy']);

    await page.goto(admin('/violations'));
    await page.selectOption('select[name=verdict]', 'blocked');
    await page.click('form.filters button.primary');
    await page.waitForURL(/verdict=blocked/);
    expect(await principles()).toEqual(['no-harm']);
    expect(await page.locator('select[name=verdict]').inputValue()).toBe('blocked');

    await page.goto(admin('/violations'));
    await page.fill('input[name=from]', '2999-01-01T00:00');
    await page.click('form.filters button.primary');
    await page.waitForURL(/from=2999-01-01T00%3A00/);
    await expect(page.locator('main .notice').textContent()).resolves.toContain('No violations match');
    await page.goto(admin('/violations?q=alert'));
    expect(await principles()).toEqual(['tone']);
    await page.goto(admin('/violations?severity=minor&review=unreviewed'));
    expect(await principles()).toEqual(['tone', 'tone']);

    await page.goto(admin('/violations?limit=3'));
    const first = await page
      .locator('#violations tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-violation')));
    expect(first).toHaveLength(3);
    await page.click('a[rel=next]');
    await page.waitForURL(/cursor=/);
    const second = await page
      .locator('#violations tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-violation')));
    expect(second).toHaveLength(1);
    expect(new Set([...first, ...second]).size).toBe(4);
    await page.close();
  });

  it('opens a request from the list: the draft → final diff in ins/del and the evidence marked in the draft', async () => {
    const page = await context.newPage();
    await page.goto(admin('/violations?principle=no-sycophancy'));
    await page.click('#violations tbody tr a');
    await page.waitForURL(new RegExp(`/admin/requests/${ids['revised']}`));
    const diff = page.locator('#draft-final .diff');
    expect((await diff.locator('del').allTextContents()).join('')).toContain('clearly visible');
    expect((await diff.locator('ins').allTextContents()).join('')).toContain('a myth');
    expect(await diff.textContent()).toContain('from the Moon');
    await expect(page.locator('[data-kind=draft] .text mark').allTextContents()).resolves.toEqual([
      'clearly visible from the Moon',
    ]);
    await expect(page.locator('[data-kind=draft] .text').textContent()).resolves.toBe(sycophantic);
    await expect(page.locator('#calls tbody tr').count()).resolves.toBe(4);
    await page.screenshot({ path: join(artefacts, 'dashboard-request.png'), fullPage: true });
    await page.close();
  });

  it('shows a draft containing <script> as text: nothing runs, the markup is visible', async () => {
    const page = await context.newPage();
    await page.goto(admin(`/requests/${ids['script']}`));
    await expect(page.locator('[data-kind=draft] .text').textContent()).resolves.toBe(injected);
    await expect(page.locator('[data-kind=draft] .text mark').textContent()).resolves.toBe(
      '<script>alert(1)</script>',
    );
    expect(await page.getByText('<script>alert(1)</script>').first().isVisible()).toBe(true);
    await expect(page.locator('script').count()).resolves.toBe(0);
    await page.goto(admin('/violations?q=alert'));
    await expect(page.locator('#violations q').textContent()).resolves.toBe('<script>alert(1)</script>');
    await expect(page.locator('script').count()).resolves.toBe(0);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it("labels violations and the principles' precision and unreviewed counts move on the overview", async () => {
    const page = await context.newPage();
    const row = (principle: string) => page.locator(`#principles tr[data-principle="${principle}"]`);
    await page.goto(admin());
    await expect(row('no-sycophancy').locator('td.precision').textContent()).resolves.toBe('—');
    await expect(row('tone').locator('td:nth-child(5)').textContent()).resolves.toBe('2');
    // The quality columns next to review precision (no test run or shadow here: dashes).
    await expect(page.locator('#principles thead').textContent()).resolves.toMatch(
      /precision.*examples.*last test run.*shadow/,
    );
    await expect(row('tone').locator('td.examples-cell').textContent()).resolves.toBe('—');

    await page.goto(admin(`/requests/${ids['revised']}`));
    const card = page.locator('section.violation[data-principle="no-sycophancy"]');
    await card.locator('input[name=note]').fill('Right: the Wall is a myth.');
    await card.locator('button[value=confirmed]').click();
    await page.waitForURL(new RegExp(`/admin/requests/${ids['revised']}#v-`));
    await expect(card.getAttribute('data-review')).resolves.toBe('confirmed');
    await expect(card.textContent()).resolves.toContain('Right: the Wall is a myth.');

    await page.goto(admin(`/requests/${ids['script']}`));
    await page.locator('section.violation[data-principle="tone"] button[value=false_positive]').click();
    await page.waitForURL(new RegExp(`/admin/requests/${ids['script']}#v-`));

    await page.goto(admin());
    await expect(row('no-sycophancy').locator('td.precision').textContent()).resolves.toBe('100%');
    await expect(row('tone').locator('td.precision').textContent()).resolves.toBe('0%');
    await expect(row('tone').locator('td:nth-child(5)').textContent()).resolves.toBe('1');
    await expect(page.locator('svg.chart rect').count()).resolves.toBeGreaterThan(0);
    await expect(page.locator('[data-verdict=revised] strong').textContent()).resolves.toBe('1');
    await expect(page.locator('#constitutions').textContent()).resolves.toContain('judged');
    await page.screenshot({ path: join(artefacts, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  it('refuses a review posted from another site or without a session', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'tenet_admin');
    const { violations } = (await (
      await fetch(`${tenet.url}/admin/api/requests/${ids['blocked']}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as { violations: Array<{ id: string; review: unknown }> };
    const target = `${admin()}/violations/${encodeURIComponent(violations[0]?.id ?? '')}/review`;
    const post = (headers: Record<string, string>) =>
      fetch(target, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: 'label=false_positive&note=forged',
      });
    const session = `tenet_admin=${cookie?.value}`;
    expect((await post({ cookie: session, origin: 'https://evil.example' })).status).toBe(403);
    expect((await post({ cookie: session, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post({ cookie: session })).status).toBe(403);
    const anonymous = await post({ origin: tenet.url });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/admin/login');
    const after = (await (
      await fetch(`${tenet.url}/admin/api/requests/${ids['blocked']}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as { violations: Array<{ review: unknown }> };
    expect(after.violations[0]?.review).toBeNull();
  });

  it('shows every choice of an n > 1 request with its own draft → final, and exports a pair for each revised one', async () => {
    await scenario.script(twoChoicesReplies);
    const res = await fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-test',
        n: 2,
        messages: [{ role: 'user', content: twoChoices.prompt }],
      }),
    });
    await res.text();
    expect(res.headers.get('x-tenet-verdict')).toBe('revised');
    ids['two-choices'] = res.headers.get('x-tenet-request-id') ?? '';
    await waitForRecords(tenet.url, adminToken, traffic.length + 1);

    const page = await context.newPage();
    await page.goto(admin(`/requests/${ids['two-choices']}`));
    const choices = page.locator('#draft-final .choice');
    await expect(choices.count()).resolves.toBe(2);
    await expect(choices.nth(0).textContent()).resolves.toContain(
      'The final answer is the draft, unchanged.',
    );
    const second = choices.nth(1).locator('.diff');
    expect((await second.locator('del').allTextContents()).join('')).toContain('plainly visible');
    expect((await second.locator('ins').allTextContents()).join('')).toContain('naked eye');
    await page.close();

    const pairs = (
      await (
        await fetch(`${tenet.url}/admin/api/export?format=pairs`, {
          headers: { authorization: `Bearer ${adminToken}` },
        })
      ).text()
    )
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as { request_id: string; choice: number; chosen: string; rejected: string },
      );
    expect(pairs.filter((p) => p.request_id === ids['two-choices'])).toEqual([
      expect.objectContaining({ choice: 1, chosen: twoChoices.revised, rejected: twoChoices.sycophantic }),
    ]);
  });

  it('holds its layout from a 420 px phone to a 1400 px screen, long principle names included', async () => {
    await scenario.script([{ json: completion('You will get a full refund today.') }]);
    const res = await fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${clientKey}`,
        'content-type': 'application/json',
        'x-tenet-constitution': 'long-names',
      },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Refund?' }] }),
    });
    await res.text();
    expect(res.headers.get('x-tenet-violations')).toBe(longNamePrinciple);
    ids['long-name'] = res.headers.get('x-tenet-request-id') ?? '';
    await waitForRecords(tenet.url, adminToken, traffic.length + 2);

    const pages = {
      overview: '',
      violations: '/violations',
      request: `/requests/${ids['long-name']}`,
      choices: `/requests/${ids['two-choices']}`,
    };
    for (const width of [420, 1400]) {
      const sized = await browser.newContext({ viewport: { width, height: 900 } });
      try {
        await signIn(sized);
        const page = await sized.newPage();
        for (const [name, path] of Object.entries(pages)) {
          await page.goto(admin(path));
          // Nothing wider than the screen: wide tables scroll inside the page, long names wrap.
          const overflow = await page.evaluate<number>(
            'document.documentElement.scrollWidth - document.documentElement.clientWidth',
          );
          expect(overflow, `${name} at ${width} px`).toBeLessThanOrEqual(0);
          await page.screenshot({ path: join(artefacts, `dashboard-${name}-${width}.png`), fullPage: true });
        }
        await page.goto(admin());
        const row = page.locator(`#principles tr[data-principle="${longNamePrinciple}"]`);
        await expect(row.isVisible()).resolves.toBe(true);
      } finally {
        await sized.close();
      }
    }
  });

  it('never shows a configured secret on any page, and no page ran a script', async () => {
    const page = await context.newPage();
    const paths = ['', '/violations', ...Object.values(ids).map((id) => `/requests/${id}`)];
    for (const path of paths) {
      await page.goto(admin(path));
      const html = await page.content();
      for (const secret of secrets) expect(html, path).not.toContain(secret);
    }
    await page.close();
    expect(dialogs).toEqual([]);
  });
});

describe('the dashboard without TENET_ADMIN_TOKEN', () => {
  let dir: string;
  let tenet: TenetProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenet-closed-'));
    tenet = await startTenet('node', {
      TENET_UPSTREAM_URL: (await createScenario(inject('upstreamUrl'))).baseURL,
      TENET_DB: join(dir, 'tenet.db'),
    });
  });
  afterAll(async () => {
    await tenet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says the admin is closed (403) on every page', async () => {
    for (const path of ['/admin', '/admin/login', '/admin/violations']) {
      const res = await fetch(`${tenet.url}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain('The admin is closed');
    }
  });
});
