import crypto from 'node:crypto';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/harness';

// README, Admin API rules: GraphiQL comes from the installed package (no CDN) under a
// Content-Security-Policy that allows only its own inline scripts; GRAPHQL_INTROSPECTION=false
// turns it off. In Chromium: it renders, loads nothing from another origin, and violates nothing.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && process.env.KEYWARDEN_BROWSER_TESTS === 'required') throw new Error(`KEYWARDEN_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM}`);

jest.setTimeout(90_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('the page references no other origin and its policy lists the hash of every inline script', async () => {
  const res = await fetch(`${h.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(res.status).toBe(200);
  const html = await res.text();
  expect(html).toContain('renderYogaGraphiQL');
  expect(html).not.toMatch(/unpkg|jsdelivr|cdn\./i);
  expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/i);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).not.toContain("'unsafe-inline' 'sha");
  expect(csp).not.toMatch(/script-src[^;]*unsafe/);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  expect(scripts.length).toBeGreaterThan(0);
  for (const s of scripts) expect(csp).toContain(`'sha256-${crypto.createHash('sha256').update(s).digest('base64')}'`);
});

(available ? test : test.skip)('in Chromium it renders with no policy violation and no request to another origin', async () => {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(h.url) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
    });
    await page.goto(`${h.url}/graphql`);
    await page.waitForSelector('.graphiql-container', { timeout: 60_000 });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  } finally {
    await browser.close();
  }
});
