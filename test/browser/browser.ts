// Headless Chromium for browser tests: the build @sparticuz/chromium ships in its npm package (from the lockfile, no system browser), driven by playwright-core.
import sparticuz from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';

/** The Chromium binary: unpacked from node_modules on first use (into the temp folder); CHROMIUM_PATH overrides it. */
export async function chromiumPath(): Promise<string> {
  return process.env['CHROMIUM_PATH'] ?? (await sparticuz.executablePath());
}

/**
 * The package's flags are made for AWS Lambda: keep those that let it run on a bare system (no sandbox helper, no
 * GPU: SwiftShader, its own fonts); drop one-process mode (a closed context would take the browser down) and the
 * ones that weaken what the dashboard tests check (web security, site isolation).
 */
const lambdaOnly =
  /^--(single-process|disable-web-security|allow-running-insecure-content|disable-site-isolation-trials|disable-features=)/;

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: await chromiumPath(),
    args: [
      ...sparticuz.args.filter((arg) => !lambdaOnly.test(arg)),
      '--no-first-run',
      '--disable-background-networking',
    ],
    headless: true,
    timeout: 60_000,
  });
}
