import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// Debian's Chromium through playwright-core for the dashboard's browser tests. Without Chromium
// the tests are skipped with a warning; CI sets KEYWARDEN_BROWSER_TESTS=required, so a missing
// Chromium fails there instead. Screenshots go to test-artifacts/dashboard/.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'dashboard');

/** `describe` when Chromium is there, else `describe.skip` (an error when it is required). */
export function browserDescribe(): jest.Describe {
  const available = fs.existsSync(CHROMIUM);
  if (!available && process.env.KEYWARDEN_BROWSER_TESTS === 'required') throw new Error(`KEYWARDEN_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM}`);
  if (!available) console.warn(`dashboard browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return available ? describe : describe.skip;
}

export function launchChromium(): Promise<Browser> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

/** A full-page screenshot into ARTIFACTS. */
export const screenshot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Signs the page in with `secret` at `baseUrl`'s dashboard (signing out first when signed in), on `at`'s page. */
export async function signIn(page: Page, baseUrl: string, secret: string, at = { route: '#/overview', heading: 'Overview' }): Promise<void> {
  await page.goto(`${baseUrl}/dashboard/${at.route}`);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  const keyField = page.getByLabel('API key');
  await signOut.or(keyField).waitFor();
  if (await signOut.isVisible()) await signOut.click();
  await keyField.fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: at.heading }).waitFor();
}

/**
 * Tabs through the page from the top and answers the form controls (inside `within`) that are
 * visible and enabled but never took the focus, and those with no accessible label.
 */
export async function keyboardAndLabelGaps(page: Page, within: string, maxTabs = 200): Promise<{ unreachable: string[]; unlabelled: string[] }> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  const focused = new Set<string>();
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const mark = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      if (!el.dataset.tabMark) el.dataset.tabMark = String(Math.random());
      return el.dataset.tabMark;
    });
    if (mark && focused.has(mark)) break; // round the page once
    if (mark) focused.add(mark);
  }
  return page.evaluate(
    ({ within, focused }) => {
      const controls = [...document.querySelectorAll<HTMLInputElement>(`${within} input, ${within} select, ${within} textarea, ${within} button`)].filter(
        (el) => !el.disabled && el.type !== 'hidden' && el.getClientRects().length > 0,
      );
      const describe = (el: HTMLInputElement) => `${el.tagName.toLowerCase()}[name=${el.name || '?'}]#${el.id || '?'} "${el.textContent?.trim() ?? ''}"`;
      const labelled = (el: HTMLInputElement) => {
        if (el.tagName === 'BUTTON') return !!(el.textContent?.trim() || el.getAttribute('aria-label'));
        return (el.labels?.length ?? 0) > 0 || !!el.getAttribute('aria-label') || !!el.getAttribute('aria-labelledby');
      };
      return {
        unreachable: controls.filter((el) => !focused.includes(el.dataset.tabMark ?? '')).map(describe),
        unlabelled: controls.filter((el) => !labelled(el)).map(describe),
      };
    },
    { within, focused: [...focused] },
  );
}
