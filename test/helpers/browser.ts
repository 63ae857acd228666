import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

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
