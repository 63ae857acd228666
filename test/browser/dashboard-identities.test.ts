import type { Browser, Page } from 'playwright-core';
import { startHarness, type Harness } from '../helpers/harness';
import { browserDescribe, keyboardAndLabelGaps, launchChromium, screenshot, signIn } from '../helpers/browser';

// Identities, roles, permission strings and credits in the dashboard, in Chromium against a real
// Keywarden: the forms send what the API takes, and the API's own message for a field shows next
// to that field (aria-describedby), with nothing written. Screenshots go to test-artifacts/dashboard/.

jest.setTimeout(90_000);

browserDescribe()('identities, roles and key access in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let master: { secret: string; accountId: string; keyId: string };
  let other: { secret: string; accountId: string; keyId: string };
  const foreignRequests: string[] = [];

  const gqlAs = async (secret: string, query: string, variables: Record<string, unknown> = {}) => {
    const r = await h.gql(query, variables, secret);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  const gql = (query: string, variables: Record<string, unknown> = {}) => gqlAs(master.secret, query, variables);
  const visit = async (route: string) => {
    await page.goto(`${h.url}/dashboard/${route}`);
    await page.reload();
  };
  /** The message shown by the control labelled `label` (its aria-describedby error), once it shows. */
  const fieldError = async (label: string) => {
    const control = page.getByLabel(label, { exact: true });
    await page.waitForFunction((el) => el?.getAttribute('aria-invalid') === 'true', await control.elementHandle());
    const id = (await control.getAttribute('id')) as string;
    expect(await control.getAttribute('aria-describedby')).toContain(`${id}-error`);
    return page.locator(`[id="${id}-error"]`).textContent();
  };

  beforeAll(async () => {
    h = await startHarness();
    master = await h.newAccount('dash-ident');
    other = await h.newAccount('dash-ident-b');
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(h.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    await signIn(page, h.url, master.secret);
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  afterEach(() => expect(foreignRequests).toEqual([]));

  test('roles: a permission string outside the grammar shows the API message by the field and writes nothing; a good one is created, edited and deleted', async () => {
    await visit('#/roles');
    const form = page.getByRole('form', { name: 'New role' });
    await form.getByLabel('Role name').fill('billing-reader');
    await form.getByLabel('Permission strings').fill('billing.read\nbilling.*.read');
    await form.getByRole('button', { name: 'Create role' }).click();
    const message = await fieldError('Permission strings');
    expect(message).toMatch(/^input\.permissions\[1\]: "billing\.\*\.read" /);
    await screenshot(page, 'identities-01-role-bad-permission');
    expect((await gql('{ roles { id } }')).roles).toEqual([]);

    await form.getByLabel('Permission strings').fill('billing.invoices.read\nbilling.read');
    await form.getByRole('button', { name: 'Create role' }).click();
    const table = page.getByTestId('roles');
    await table.getByText('billing.invoices.read, billing.read').waitFor();
    expect(await form.getByLabel('Role name').inputValue()).toBe('');

    await page.getByRole('button', { name: 'Edit role billing-reader' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Permission strings').fill('billing.*');
    await dialog.getByRole('button', { name: 'Save role' }).click();
    await table.getByText('billing.*').waitFor();
    expect((await gql('{ roles { name permissions } }')).roles).toEqual([{ name: 'billing-reader', permissions: ['billing.*'] }]);

    await gql(`mutation { createRole(input: { name: "scratch", permissions: ["tmp.read"] }) { id } }`);
    await visit('#/roles');
    await page.getByRole('button', { name: 'Delete role scratch' }).click();
    await expect(page.getByRole('dialog').textContent()).resolves.toContain('loses its permissions (tmp.read)');
    await page.getByRole('button', { name: 'Delete role', exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect((await gql('{ roles { name } }')).roles).toEqual([{ name: 'billing-reader' }]);
    await screenshot(page, 'identities-02-roles');
  });

  test('an identity made on its page, a key made in it with a permission string, a role and credits, seen on the identity page', async () => {
    const role = (await gql(`mutation { createRole(input: { name: "agent-runner", permissions: ["agents.execute"] }) { id } }`)).createRole.id as string;
    await visit('#/identities');
    const create = page.getByRole('form', { name: 'New identity' });
    await create.getByLabel('External id').fill('cust_42');
    await create.getByRole('button', { name: 'Add a window' }).click();
    await create.getByLabel('Requests per hour').fill('100');
    await create.getByLabel('Quota (units)').fill('1000');
    await create.getByLabel('Metadata (JSON object)').fill('{ "plan": "pro" }');
    await create.getByRole('button', { name: 'Create identity' }).click();
    await page.getByRole('heading', { name: 'cust_42' }).waitFor();
    await expect(page.locator('.settings').textContent()).resolves.toContain('100/hour');
    await expect(page.getByTestId('identity-metadata').textContent()).resolves.toContain('"plan": "pro"');
    const identityId = new URL(page.url()).hash.split('/')[2];

    // The same externalId again: the API's CONFLICT by the field, no second identity.
    await visit('#/identities');
    await page.getByLabel('External id', { exact: true }).fill('cust_42');
    await page.getByRole('button', { name: 'Create identity' }).click();
    await expect(fieldError('External id')).resolves.toMatch(/input\.externalId: an identity with externalId "cust_42" already exists/);
    expect((await gql('{ identities(first: 10) { edges { node { id } } } }')).identities.edges).toHaveLength(1);

    // A key for it, from its page: the identity is chosen already.
    await visit(`#/identities/${identityId}`);
    await page.getByRole('link', { name: 'New key for cust_42' }).click();
    const form = page.locator('form');
    await form.locator('input[name=name]').waitFor();
    await form.locator(`select[name=identityId] option[value="${identityId}"]`).waitFor({ state: 'attached' });
    expect(await form.getByLabel('Identity').inputValue()).toBe(identityId);
    await form.locator('input[name=name]').fill('cust42-prod');
    await form.getByLabel('Permission strings').fill('Billing.read');
    await form.getByLabel('Credits remaining').fill('50');
    await form.getByLabel('Refill to').fill('100');
    await form.getByLabel('Refill day of month').fill('5');
    await form.getByRole('checkbox', { name: 'agent-runner' }).check();
    await form.getByRole('button', { name: 'Create key' }).click();
    await expect(fieldError('Permission strings')).resolves.toMatch(/^input\.permissions\[0\]: "Billing\.read" /);
    await screenshot(page, 'identities-03-key-bad-permission');
    expect((await gql('{ keys(first: 10) { edges { node { id } } } }')).keys.edges).toHaveLength(1); // the master key alone

    await form.getByLabel('Permission strings').fill('billing.read');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('secret').inputValue();
    const verified = await h.verify({ key: secret, permissions: 'billing.read AND agents.execute' });
    expect(verified.body).toMatchObject({ valid: true, identity: { id: identityId, externalId: 'cust_42' }, credits: { remaining: 49 } });
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('heading', { name: 'cust42-prod' }).waitFor();
    await expect(page.getByTestId('credits').textContent()).resolves.toBe('49 left · refills to 100 on day 5 of each month');
    await expect(page.getByTestId('effective-permissions').textContent()).resolves.toBe('agents.execute, billing.read');
    await expect(page.locator('.settings').textContent()).resolves.toContain('agent-runner');
    await screenshot(page, 'identities-04-key-detail');
    const keyId = new URL(page.url()).hash.split('/')[2];
    expect((await gql(`query($id: ID!) { key(id: $id) { roles { id } permissions } }`, { id: keyId })).key).toEqual({ roles: [{ id: role }], permissions: ['billing.read'] });

    // Usage per identity: this hour's rollup of its key (as the usage flush writes it), beside one of the master key's.
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    await h.db.prisma.usageRollup.create({ data: { keyId, accountId: master.accountId, hour, requests: 4, allowed: 3, denied: 1, units: 3, identityId } });
    await h.db.prisma.usageRollup.create({ data: { keyId: master.keyId, accountId: master.accountId, hour, requests: 9, allowed: 9, denied: 0, units: 9 } });

    await page.getByRole('link', { name: 'cust_42' }).click();
    const keys = page.getByTestId('identity-keys');
    await keys.waitFor();
    const row = keys.locator('tr', { hasText: 'cust42-prod' });
    await expect(row.textContent()).resolves.toContain('agents.execute, billing.read');
    await expect(row.textContent()).resolves.toContain('49 left');
    await expect(page.getByTestId('usage-chart').getByRole('img').getAttribute('aria-label')).resolves.toBe('Verifications per day: 3 allowed, 1 denied');
    await screenshot(page, 'identities-05-identity-detail');

    // Deleting it while the key lives: the API's CONFLICT, and it stays.
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete identity' }).click();
    await expect(page.getByRole('dialog').getByRole('alert').textContent()).resolves.toMatch(/still has 1 key\(s\) that are not revoked/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await gql(`query($id: ID!) { identity(id: $id) { id } }`, { id: identityId })).identity).toEqual({ id: identityId });
  });

  test("editing an identity's shared limits: text that is not a number is refused by the field; the change shows; search finds it by externalId", async () => {
    const made = (await gql(`mutation { createIdentity(input: { externalId: "acme_prod", quota: { units: 10, period: DAY } }) { id } }`)).createIdentity.id as string;
    await gql(`mutation { createIdentity(input: { externalId: "zeta_sys" }) { id } }`);
    await visit(`#/identities/${made}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Quota (units)').fill('ten');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(fieldError('Quota (units)')).resolves.toMatch(/^input\.quota\.units: must be a whole number/);
    await dialog.getByLabel('Quota (units)').fill('0');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(fieldError('Quota (units)')).resolves.toMatch(/^input\.quota/); // the API's range check
    await dialog.getByLabel('Quota (units)').fill('2000');
    await dialog.getByLabel('Quota period').selectOption('MONTH');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.settings', { hasText: '2000 units per month' }).waitFor();

    await visit('#/identities');
    await page.getByLabel('Search by external id').fill('ACME');
    const table = page.getByTestId('identities');
    await table.getByRole('link', { name: 'zeta_sys' }).waitFor({ state: 'detached' });
    expect(await table.getByRole('link').allTextContents()).toEqual(['acme_prod']);
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot(page, 'identities-06-search');
  });

  test("a key's edit dialog: a refill day outside 1-28 shows the API's message by its field; new strings, a role, an identity and credits are saved", async () => {
    const ident = (await gql(`mutation { createIdentity(input: { externalId: "edit_me" }) { id } }`)).createIdentity.id as string;
    await gql(`mutation { createRole(input: { name: "invoice-reader", permissions: ["invoices.read"] }) { id } }`);
    const k = (await gql(`mutation { createKey(input: { name: "editable", type: DEVELOPMENT, permissions: ["agents.execute"] }) { key { id } } }`)).createKey.key.id as string;
    await visit(`#/keys/${k}`);
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator(`select[name=identityId] option[value="${ident}"]`).waitFor({ state: 'attached' });
    await dialog.getByLabel('Identity').selectOption(ident);
    await dialog.getByLabel('Permission strings').fill('agents.execute, reports.read');
    await dialog.getByRole('checkbox', { name: 'invoice-reader' }).check();
    await dialog.getByLabel('Credits remaining').fill('10');
    await dialog.getByLabel('Refill to').fill('10');
    await dialog.getByLabel('Refill day of month').fill('31');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect(fieldError('Refill day of month')).resolves.toMatch(/^input\.credits\.refill\.day: must be a day of the month from 1 to 28/);
    expect((await gql(`query($id: ID!) { key(id: $id) { permissions identity { id } credits { remaining } } }`, { id: k })).key).toEqual({ permissions: ['agents.execute'], identity: null, credits: null });

    await dialog.getByLabel('Refill day of month').fill('28');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('credits').filter({ hasText: '10 left · refills to 10 on day 28 of each month' }).waitFor();
    await expect(page.getByTestId('effective-permissions').textContent()).resolves.toBe('agents.execute, invoices.read, reports.read');
    await expect(page.locator('.settings').getByRole('link', { name: 'edit_me' }).count()).resolves.toBe(1);
  });

  test('another account sees none of these identities and cannot open one by its id', async () => {
    const theirs = (await gql(`mutation { createIdentity(input: { externalId: "private_1" }) { id } }`)).createIdentity.id as string;
    await signIn(page, h.url, other.secret);
    try {
      await visit('#/identities');
      await page.getByText('No identities yet.').waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      await visit(`#/identities/${theirs}`);
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(/NOT_FOUND|No identity/);
      expect((await gqlAs(other.secret, '{ identities(first: 10) { edges { node { id } } } }')).identities.edges).toEqual([]);
    } finally {
      await signIn(page, h.url, master.secret);
    }
  });

  test('every control of the identity, role and key forms has a label and takes the focus from the keyboard', async () => {
    for (const [route, within] of [
      ['#/identities', 'main form'],
      ['#/roles', 'main form'],
      ['#/keys/new', 'main form'],
    ]) {
      await visit(route);
      await page.locator(within).first().waitFor();
      await page.locator(`${within} button.primary`).first().waitFor();
      if (route === '#/identities') await page.getByRole('button', { name: 'Add a window' }).click();
      const gaps = await keyboardAndLabelGaps(page, within);
      expect({ route, ...gaps }).toEqual({ route, unreachable: [], unlabelled: [] });
    }
  });
});
