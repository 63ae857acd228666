import fs from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from '../helpers/harness';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { dashboardSourceDigest, DIGEST_FILE } = require('../../scripts/dashboard-source');

// /dashboard/ serves the checked-in build of dashboard/ as static files with a strict CSP.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

test('the checked-in build is made from the current sources (else: npm run dashboard:build)', () => {
  expect(fs.readFileSync(DIGEST_FILE, 'utf8').trim()).toBe(dashboardSourceDigest());
});

test('/dashboard/ answers the app with a CSP that allows only its own scripts, styles and /graphql', async () => {
  const res = await fetch(`${h.url}/dashboard/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('cache-control')).toBe('no-cache');
  const html = await res.text();
  // Everything the page loads is its own: no CDN, no inline script.
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  expect(refs.length).toBeGreaterThanOrEqual(2);
  for (const ref of refs) expect(ref).toMatch(/^\/dashboard\/assets\//);
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

  for (const ref of refs) {
    const asset = await fetch(`${h.url}${ref}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  }
});

test('/dashboard and / lead to /dashboard/', async () => {
  const res = await fetch(`${h.url}/dashboard`, { redirect: 'manual' });
  expect(res.status).toBe(308);
  expect(res.headers.get('location')).toBe('/dashboard/');
  const root = await fetch(`${h.url}/`, { redirect: 'manual' });
  expect(root.status).toBe(302);
  expect(root.headers.get('location')).toBe('/dashboard/');
  expect((await fetch(`${h.url}/`, { method: 'POST', redirect: 'manual' })).status).toBe(404);
});

test('only GET and HEAD; missing files, dotfiles and paths outside the build answer 404', async () => {
  const post = await fetch(`${h.url}/dashboard/`, { method: 'POST', body: 'x' });
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, HEAD');
  for (const p of ['/dashboard/nope.js', '/dashboard/.source-sha256', '/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/..%2fsrc%2fconfig.ts']) {
    const res = await fetch(`${h.url}${p}`);
    expect({ p, status: res.status }).toEqual({ p, status: 404 });
    expect(await res.text()).not.toContain('"name": "keywarden"');
  }
});

test('the built bundle holds no secret-looking string and loads nothing from elsewhere', () => {
  const dist = path.dirname(DIGEST_FILE);
  const assets = fs.readdirSync(path.join(dist, 'assets')).map((f) => fs.readFileSync(path.join(dist, 'assets', f), 'utf8'));
  for (const text of assets) {
    expect(text).not.toMatch(/ak_(?:root|prod|dev|int|emg)_[0-9A-Za-z]{40,}/);
    expect(text).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg\.com/);
    expect(text).not.toContain('localStorage.setItem');
  }
});
