// The browser tests' Chromium comes from the lockfile (@sparticuz/chromium): it launches with no system browser installed.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium } from '../browser/browser.ts';

describe('Chromium for the browser tests', () => {
  it('is unpacked from node_modules, not looked up on the system, and renders a page', async () => {
    expect(process.env['CHROMIUM_PATH']).toBeUndefined();
    const path = await chromiumPath();
    expect(path).not.toMatch(/^\/usr\//);
    expect(existsSync(path)).toBe(true);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 420, height: 300 } });
      await page.setContent('<main><h1>Tenet</h1></main>');
      await expect(page.locator('h1').textContent()).resolves.toBe('Tenet');
      expect((await page.screenshot()).length).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  });
});
