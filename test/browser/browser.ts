// Headless Chromium for browser tests (playwright-core driving the system's /usr/bin/chromium; CI: apt-get install chromium).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian/Ubuntu put Chromium; CHROMIUM_PATH overrides it. */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const hasChromium = () => existsSync(chromiumPath);

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
    timeout: 30_000,
  });
}
