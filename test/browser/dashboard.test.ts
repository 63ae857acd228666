import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { flushUsage } from '../../src/reports/usage-flush';
import { ARTIFACTS, browserDescribe, launchChromium, screenshot, signIn } from '../helpers/browser';
import type { Harness } from '../helpers/harness';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { eventually, startIsolatedHarness, type IsolatedHarness } from '../helpers/webhooks';

// The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
// Keywarden on PostgreSQL and Redis. Screenshots of every page go to test-artifacts/dashboard/.
// CI sets KEYWARDEN_BROWSER_TESTS=required, so a missing Chromium fails there instead of skipping.

const describeBrowser = browserDescribe();

jest.setTimeout(60_000);

describeBrowser('dashboard in Chromium', () => {
  let stack: IsolatedHarness;
  let h: Harness;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let master: { secret: string; accountId: string; keyId: string };
  const foreignRequests: string[] = [];
  const consoleText: string[] = [];

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const r = await h.gql(query, variables, master.secret);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  const createKey = async (input: Record<string, unknown>) =>
    (await gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input })).createKey as { secret: string; key: { id: string } };
  const deriveKey = async (parentId: string, input: Record<string, unknown>) =>
    (await gql(`mutation($p: ID!, $input: CreateKeyInput!) { deriveKey(parentId: $p, input: $input) { secret key { id } } }`, { p: parentId, input })).deriveKey as { secret: string; key: { id: string } };
  const statusOf = async (id: string) => (await gql(`query($id: ID!) { key(id: $id) { status } }`, { id })).key.status as string;
  const signInAs = (secret: string) => signIn(page, h.url, secret, { route: '#/keys', heading: 'Keys' });
  const until = async (check: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** Opens a dashboard route, loading it afresh even when only the hash would change. */
  const visit = async (route: string) => {
    const target = `${h.url}/dashboard/${route}`;
    if (page.url() === target) await page.reload();
    else await page.goto(target);
  };
  const shot = (name: string) => screenshot(page, name);

  beforeAll(async () => {
    stack = await startIsolatedHarness('dashboard', { workers: true });
    h = stack.h;
    receiver = await startReceiver();
    master = await h.newAccount('dash');
    await gql(`mutation { createAgent(input: { name: "research-agent" }) { id } }`);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
    page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(h.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    page.on('console', (m) => consoleText.push(m.text()));
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await receiver?.close();
  });

  // Each test but the sign-in one starts signed in as the master key, so any one runs alone.
  beforeEach(async () => {
    if (!expect.getState().currentTestName?.includes('signs in and stays in session storage')) await signInAs(master.secret);
  });

  afterEach(() => {
    // Nothing outside this Keywarden is fetched: no CDN fonts or scripts.
    expect(foreignRequests).toEqual([]);
    // The page lives within its Content-Security-Policy: the browser refused nothing.
    expect(consoleText.filter((t) => /Content Security Policy/i.test(t))).toEqual([]);
  });

  test('a wrong key is refused with the reason, and the real key signs in and stays in session storage only', async () => {
    await page.goto(`${h.url}/dashboard/`);
    await page.getByLabel('API key').fill('ak_root_notarealkey');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/UNAUTHENTICATED/);
    await shot('01-sign-in');

    await page.getByLabel('API key').fill(master.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // The dashboard's home is the overview.
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const storage = await page.evaluate(() => ({ session: JSON.stringify(sessionStorage), local: JSON.stringify(localStorage), url: location.href, cookies: document.cookie }));
    expect(storage.session).toContain(master.secret);
    expect(storage.local).not.toContain(master.secret);
    expect(storage.url).not.toContain(master.secret);
    expect(storage.cookies).toBe('');
  });

  test('creating a key shows its secret once, with a copy button and a warning; the secret verifies', async () => {
    await visit(`#/keys/new`);
    const form = page.locator('form');
    // The PRODUCTION preset is filled in: EXECUTE and 6000 per minute.
    await expect(form.locator('select[name=permission]').inputValue()).resolves.toBe('EXECUTE');
    await expect(form.getByLabel('Requests per minute').inputValue()).resolves.toBe('6000');
    await form.locator('input[name=name]').fill('browser-made');
    await form.locator('textarea[name=ipAllowlist]').fill('127.0.0.1');
    await page.getByRole('button', { name: 'Create key' }).click();

    const secretField = page.getByTestId('secret');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^ak_prod_/);
    await expect(page.getByRole('note').textContent()).resolves.toMatch(/cannot be shown again/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(secret);
    await shot('02-new-key-secret');

    const verified = await h.verify({ key: secret, permission: 'EXECUTE', ip: '127.0.0.1' });
    expect(verified.body).toMatchObject({ valid: true, code: 'VALID' });

    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('heading', { name: 'browser-made' }).waitFor();
    expect(await page.content()).not.toContain(secret);
    const storage = await page.evaluate(() => JSON.stringify(sessionStorage) + JSON.stringify(localStorage) + location.href);
    expect(storage).not.toContain(secret);
    expect(consoleText.join('\n')).not.toContain(secret);
    await shot('03-key-detail');

    // Rotation from the detail page: a new secret, once; the old key is ROTATING until its grace ends.
    const oldId = new URL(page.url()).hash.split('/')[2];
    await page.getByRole('button', { name: 'Rotate' }).click();
    await page.getByLabel('Grace period for the old key').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate key' }).click();
    const successorSecret = await page.getByTestId('secret').inputValue();
    expect(successorSecret).toMatch(/^ak_prod_/);
    expect(successorSecret).not.toBe(secret);
    await shot('04-rotated-secret');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByText('predecessor').waitFor();
    expect(await statusOf(oldId)).toBe('ROTATING');
    expect((await h.verify({ key: successorSecret, permission: 'EXECUTE', ip: '127.0.0.1' })).body.valid).toBe(true);
    await expect(page.locator('.relations').textContent()).resolves.toContain('browser-made');
    await shot('05-successor');
  });

  test('a key scoped to one agent from the create form verifies for that agent only', async () => {
    const agents = await gql(`{ agents(first: 10) { edges { node { id name } } } }`);
    const research = agents.agents.edges.find((e: any) => e.node.name === 'research-agent').node.id as string;
    const other = (await gql(`mutation { createAgent(input: { name: "billing-agent" }) { id } }`)).createAgent.id as string;
    await visit(`#/keys/new`);
    const form = page.locator('form');
    await form.locator('input[name=name]').fill('research-only');
    await form.getByLabel('Scope').selectOption('SINGLE_AGENT');
    await form.getByRole('button', { name: 'Create key' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toContain('Scope: choose the agent.');
    await form.getByLabel('Agent', { exact: true }).selectOption({ label: 'research-agent' });
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('secret').inputValue();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await expect(page.locator('.settings').textContent()).resolves.toContain('single agent: research-agent');
    expect((await h.verify({ key: secret, agentId: research })).body.code).toBe('VALID');
    expect((await h.verify({ key: secret, agentId: other })).body.code).toBe('OUT_OF_SCOPE');
  });

  test('revoking a parent names how many keys go with it and revokes its children', async () => {
    const parent = await createKey({ name: 'team-parent', type: 'PRODUCTION', permission: 'MANAGE', ipAllowlist: ['10.0.0.0/8'] });
    const childA = await deriveKey(parent.key.id, { name: 'child-a', type: 'PRODUCTION', permission: 'EXECUTE' });
    const childB = await deriveKey(parent.key.id, { name: 'child-b', type: 'PRODUCTION', permission: 'READ_ONLY' });
    const grandchild = await deriveKey(childA.key.id, { name: 'grandchild', type: 'PRODUCTION', permission: 'READ_ONLY' });

    // The overview's tree shows the hierarchy, children loading when a node opens.
    await visit(`#/keys`);
    await page.getByRole('button', { name: 'Tree' }).click();
    await page.getByRole('button', { name: 'Expand team-parent' }).click();
    await page.getByRole('button', { name: 'Expand child-a' }).click();
    await page.locator(`tr[data-key-id="${grandchild.key.id}"]`).waitFor();
    await expect(page.locator(`tr[data-key-id="${grandchild.key.id}"] .indent`).getAttribute('data-depth')).resolves.toBe('2');
    await shot('06-key-tree');

    await visit(`#/keys/${parent.key.id}`);
    await page.getByRole('heading', { name: 'team-parent' }).waitFor();
    await page.getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByTestId('revoke-warning').textContent()).resolves.toContain('the 3 keys derived from it');
    await page.getByLabel('Reason (kept in the audit log)').fill('team disbanded');
    await shot('07-revoke-confirmation');
    await page.getByRole('button', { name: 'Revoke 4 keys' }).click();
    await page.locator('.badges .status-revoked').waitFor();
    await expect(page.getByTestId('children').locator('.status-revoked').count()).resolves.toBe(2);
    await expect(page.getByTestId('audit').textContent()).resolves.toContain('key.revoke');
    await shot('08-revoked-parent');
    for (const k of [parent, childA, childB, grandchild]) expect(await statusOf(k.key.id)).toBe('REVOKED');
  });

  test('bulk selection rotates several keys at once and shows each new secret once', async () => {
    const a = await createKey({ name: 'bulk-a', type: 'DEVELOPMENT' });
    const b = await createKey({ name: 'bulk-b', type: 'DEVELOPMENT' });
    await visit(`#/keys`);
    await page.getByLabel('Search keys').fill('bulk-');
    await until(async () => (await page.locator('tr[data-key-id]').allTextContents()).every((t) => t.includes('bulk-')), 'the search to apply');
    await page.locator(`tr[data-key-id="${a.key.id}"]`).waitFor();
    await page.locator(`tr[data-key-id="${b.key.id}"]`).waitFor();
    await page.getByLabel('Select bulk-a').check();
    await page.getByLabel('Select bulk-b').check();
    await page.getByRole('button', { name: 'Rotate selected' }).click();
    await page.getByRole('button', { name: 'Rotate 2 keys' }).click();
    await page.getByTestId('secret').first().waitFor();
    await expect(page.getByTestId('secret').count()).resolves.toBe(2);
    await shot('09-bulk-rotate');
    await page.getByRole('button', { name: 'I have stored them' }).click();
    expect(await statusOf(a.key.id)).toBe('ROTATING');
    expect(await statusOf(b.key.id)).toBe('ROTATING');
  });

  test('a key with traffic shows a usage chart with its allowed and denied counts', async () => {
    const k = await createKey({ name: 'busy-agent', type: 'PRODUCTION', permission: 'READ_ONLY' });
    for (let i = 0; i < 6; i++) expect((await h.verify({ key: k.secret, cost: 3 })).body.valid).toBe(true);
    for (let i = 0; i < 2; i++) expect((await h.verify({ key: k.secret, permission: 'EXECUTE' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    await h.app.usage.flush();
    await flushUsage(h.db, h.redis, h.prefix);

    await visit(`#/keys`);
    await page.getByLabel('Search keys').fill('busy-agent');
    await until(async () => (await page.locator('tr[data-key-id]').allTextContents()).every((t) => t.includes('busy-agent')), 'the search to apply');
    await expect(page.locator(`tr[data-key-id="${k.key.id}"] [data-testid=requests-24h]`).textContent()).resolves.toBe('8');
    await shot('10-keys-overview');

    await visit(`#/keys/${k.key.id}`);
    const chart = page.getByTestId('usage-chart');
    await chart.locator('rect.bar-allowed').first().waitFor();
    const sum = (cls: string) => chart.locator(`rect.${cls}`).evaluateAll((rects) => rects.reduce((n, r) => n + Number(r.getAttribute('data-value')), 0));
    await expect(sum('bar-allowed')).resolves.toBe(6);
    await expect(sum('bar-denied')).resolves.toBe(2);
    await expect(chart.locator('figcaption').textContent()).resolves.toContain('units 18');
    await shot('11-usage-chart');
    await page.getByRole('button', { name: '30 days' }).click();
    await expect(chart.locator('svg').getAttribute('aria-label')).resolves.toMatch(/per day: 6 allowed, 2 denied/);
  });

  test('security events can be acknowledged', async () => {
    // A MANAGE key raises KEY_CREATED (HIGH).
    const k = await createKey({ name: 'admin-bot', type: 'PRODUCTION', permission: 'MANAGE' });
    await visit(`#/security`);
    const row = page.getByTestId('security-events').locator('tr', { hasText: 'admin-bot' });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('KEY_CREATED');
    await shot('12-security-events');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.waitFor({ state: 'detached' });
    const open = await gql(`query($k: ID) { securityEvents(first: 10, filter: { keyId: $k, acknowledged: false }) { edges { node { id } } } }`, { k: k.key.id });
    expect(open.securityEvents.edges).toEqual([]);
  });

  test('webhook endpoints list their deliveries with attempts, and a delivery can be redelivered', async () => {
    receiver.reply((r) => (r.n === 1 ? { status: 500, body: 'try again' } : undefined));
    await visit(`#/webhooks`);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const form = page.locator('form');
    await form.locator('input[name=url]').fill('ftp://files.example.com/hook');
    await form.locator('input[name=eventTypes]').fill('webhook.test');
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    await expect(form.getByRole('alert').textContent()).resolves.toMatch(/url.*BAD_USER_INPUT/s);
    await form.locator('input[name=url]').fill(receiver.url);
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const signingSecret = await page.getByTestId('secret').inputValue();
    expect(signingSecret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.content()).not.toContain(signingSecret);
    const endpoint = await h.db.prisma.webhookEndpoint.findFirstOrThrow({ where: { accountId: master.accountId, url: { startsWith: receiver.url } } });
    expect(endpoint.eventTypes).toEqual(['webhook.test']);
    const endpointId = endpoint.id;
    const card = page.locator(`[data-endpoint-id="${endpointId}"]`);
    await card.getByRole('button', { name: 'Deliveries' }).click();
    await card.getByRole('button', { name: 'Send test event' }).click();
    // The first attempt fails, the retry succeeds.
    await receiver.waitFor((r) => r.length === 2, 15_000, 'two attempts');
    await eventually(
      async () => (await gql(`query($e: ID!) { webhookDeliveries(endpointId: $e, first: 1) { edges { node { status } } } }`, { e: endpointId })).webhookDeliveries.edges[0]?.node.status === 'SUCCEEDED',
      15_000,
      'SUCCEEDED',
    );
    await card.getByRole('button', { name: 'Refresh' }).click();
    const row = card.getByTestId('deliveries').locator('tr', { hasText: 'webhook.test' });
    await row.locator('.delivery-succeeded').waitFor();
    await row.getByRole('button', { name: '2' }).click();
    await card.locator('tr.attempt').nth(1).waitFor();
    await expect(card.locator('tr.attempt').allTextContents()).resolves.toEqual([expect.stringContaining('500'), expect.stringContaining('200')]);
    await expect(card.locator('tr.attempt').first().textContent()).resolves.toContain('try again');
    await shot('13-webhooks');

    await row.getByRole('button', { name: 'Redeliver' }).click();
    await receiver.waitFor((r) => r.length === 3, 15_000, 'the redelivery');
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(1);

    // Disable and enable again; a disabled endpoint takes no test event.
    await card.getByRole('button', { name: 'Disable' }).click();
    await card.locator('.status-revoked').waitFor();
    expect((await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpointId } })).enabled).toBe(false);
    await card.getByRole('button', { name: 'Send test event' }).click();
    await expect(card.getByRole('alert').textContent()).resolves.toMatch(/disabled.*CONFLICT/s);
    await card.getByRole('button', { name: 'Enable' }).click();
    await card.locator('.status-active').waitFor();

    // A new signing secret, shown once; the old one keeps signing during the grace period.
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    await card.getByRole('button', { name: 'Issue a new secret' }).click();
    const rotated = await page.getByTestId('secret').inputValue();
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(signingSecret);
    await page.getByRole('button', { name: 'I have stored it' }).click();
  });

  test('compliance status shows the counts and downloads the reports as CSV', async () => {
    await visit(`#/compliance`);
    await page.getByTestId('compliance').waitFor();
    await expect(page.getByTestId('audit-chain').textContent()).resolves.toMatch(/Audit chain intact/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Access report' }).click()]);
    const file = path.join(ARTIFACTS, download.suggestedFilename());
    await download.saveAs(file);
    const csv = fs.readFileSync(file, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/key/i);
    expect(csv).toContain('busy-agent');
    await shot('14-compliance');
  });

  test('deriving a key: asking for more than the parent is refused with the reason; a narrower child is issued', async () => {
    const parent = await createKey({ name: 'derive-parent', type: 'PRODUCTION', permission: 'MANAGE', rateLimits: [{ window: 'MINUTE', limit: 100 }] });
    await visit(`#/keys/${parent.key.id}`);
    await page.getByRole('link', { name: 'Derive key' }).click();
    await page.getByRole('heading', { name: 'Derive a key from derive-parent' }).waitFor();
    const form = page.locator('form');
    await form.locator('input[name=name]').fill('too-wide');
    await form.locator('select[name=permission]').selectOption('FULL_ACCESS');
    await page.getByRole('button', { name: 'Derive key' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/EXCEEDS_PARENT/);
    await shot('15-derive-refused');
    expect(await h.db.prisma.apiKey.count({ where: { parentId: parent.key.id } })).toBe(0);

    await form.locator('input[name=name]').fill('narrow-child');
    await form.locator('select[name=permission]').selectOption('READ_ONLY');
    await page.getByRole('button', { name: 'Derive key' }).click();
    const secret = await page.getByTestId('secret').inputValue();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('heading', { name: 'narrow-child' }).waitFor();
    await expect(page.locator('.relations').textContent()).resolves.toContain('derive-parent');
    // Left-out limits follow the parent.
    await expect(page.locator('.settings').textContent()).resolves.toContain('100/minute');
    expect((await h.verify({ key: secret })).body).toMatchObject({ valid: true, permission: 'READ_ONLY' });
  });

  test('editing a key sends only what changed; a CEL error and a widening of the parent are refused with the reason', async () => {
    const parent = await createKey({ name: 'edit-parent', type: 'PRODUCTION', permission: 'MANAGE', rateLimits: [{ window: 'MINUTE', limit: 100 }] });
    const child = await deriveKey(parent.key.id, { name: 'edit-child', type: 'PRODUCTION', permission: 'READ_ONLY', ipAllowlist: ['10.0.0.0/8'] });
    await visit(`#/keys/${child.key.id}`);
    await page.getByRole('heading', { name: 'edit-child' }).waitFor();
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    // The child follows its parent's 100 per minute; asking for 500 is more than the parent has.
    await expect(dialog.getByLabel('Requests per minute').inputValue()).resolves.toBe('100');
    await dialog.getByLabel('Requests per minute').fill('500');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/EXCEEDS_PARENT/);

    await dialog.getByLabel('Requests per minute').fill('100');
    await dialog.getByRole('button', { name: 'Add a window' }).click();
    await dialog.getByLabel('Requests per hour').fill('50');
    await dialog.locator('textarea[name=condition]').fill('request.method ==');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/condition.*BAD_USER_INPUT/s);
    await shot('17-edit-refused');
    const unchanged = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: child.key.id } });
    expect(unchanged.rateLimits).toEqual([{ window: 'MINUTE', limit: 100 }]);
    expect(unchanged.condition).toBeNull();

    await dialog.locator('textarea[name=condition]').fill('request.method == "GET"');
    await dialog.locator('input[name=allowedCountries]').fill('de, fr');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.settings', { hasText: 'DE, FR' }).waitFor();
    await expect(page.locator('.settings').textContent()).resolves.toMatch(/100\/minute, 50\/hour.*10\.0\.0\.0\/8.*DE, FR.*request\.method == "GET"/s);
    const after = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: child.key.id } });
    expect(after).toMatchObject({
      name: 'edit-child',
      ipAllowlist: ['10.0.0.0/8'],
      allowedCountries: ['DE', 'FR'],
      condition: 'request.method == "GET"',
      rateLimits: [
        { window: 'MINUTE', limit: 100 },
        { window: 'HOUR', limit: 50 },
      ],
    });
  });

  test('a MANAGE key signs in to its own subtree only: no other keys, no top-level create', async () => {
    const manager = await createKey({ name: 'subtree-manager', type: 'PRODUCTION', permission: 'MANAGE' });
    const own = await deriveKey(manager.key.id, { name: 'managed-child', type: 'PRODUCTION', permission: 'READ_ONLY' });
    await signInAs(manager.secret);
    await page.locator(`tr[data-key-id="${own.key.id}"]`).waitFor();
    const ids = await page.locator('tr[data-key-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key-id')));
    expect(ids).toEqual([own.key.id]);
    await expect(page.getByRole('link', { name: 'New key' }).count()).resolves.toBe(0);
    await shot('16-manage-key-view');
    // A key outside the subtree is not found, not shown.
    await visit(`#/keys/${master.keyId}`);
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/NOT_FOUND/);
    await signInAs(master.secret);
  });

  test('signing out forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
