import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { OidcConfig } from '../../src/config';
import { startHarness, type Harness } from '../helpers/harness';
import { ok } from '../helpers/gql-fixtures';
import { freePort, startProvider, type LocalProvider } from '../helpers/oidc';
import { ARTIFACTS, browserDescribe, launchChromium } from '../helpers/browser';
import { configureTestWebhooks, eventually } from '../helpers/webhooks';

// People in the dashboard, in Chromium against a real Keywarden and a real OpenID Connect provider
// (oidc-provider on 127.0.0.1, as in oidc-signin.test.ts): each person signs in through the
// provider in a browser of their own, an OWNER requests a key that the policy covers, a second
// person approves it, the requester claims it and sees its secret once, the audit trail names the
// person, an AUDITOR is offered no change, and an OWNER manages people with the API's refusals
// shown next to the field. Screenshots go to test-artifacts/dashboard/.

const CLIENT_ID = 'keywarden-dashboard-test';
const CLIENT_SECRET = 'dashboard-test-client-secret';

jest.setTimeout(90_000);

interface Person {
  sub: string;
  email: string;
  name: string;
  role: 'OWNER' | 'ADMIN' | 'AUDITOR';
}

const tag = Math.random().toString(36).slice(2, 8);
const person = (label: string, role: Person['role']): Person => ({ sub: `${label}-${tag}`, email: `${label}-${tag}@example.test`, name: `${label[0].toUpperCase()}${label.slice(1)} Example`, role });
const ana = person('ana', 'OWNER');
const ben = person('ben', 'ADMIN');
const cy = person('cy', 'AUDITOR');
const dee = person('dee', 'ADMIN');

browserDescribe()('people in the dashboard (Chromium, single sign-on through a local provider)', () => {
  let h: Harness;
  let provider: LocalProvider;
  let browser: Browser;
  let base: string;
  let master: { secret: string; accountId: string };
  let oidc: OidcConfig;
  const sessions = { idleMinutes: 60, maxHours: 12 };
  const contexts: BrowserContext[] = [];
  const pages = new Map<string, Page>();
  const consoleText: string[] = [];

  const asMaster = async (query: string, variables: Record<string, unknown> = {}) => ok(await h.gql(query, variables, master.secret));
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  /** Opens a dashboard route, loading it afresh even when only the hash would change. */
  const visit = async (page: Page, route: string) => {
    const target = `${base}/dashboard/${route}`;
    if (page.url() === target) await page.reload();
    else await page.goto(target);
  };

  /** A browser of the person's own, signed in through the provider; the page lands on `route`. */
  async function signIn(p: Person, route = '#/requests'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => consoleText.push(m.text()));
    await provider.setPerson({ sub: p.sub, email: p.email, email_verified: true, name: p.name });
    await visit(page, route);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByTestId('whoami').filter({ hasText: p.name }).waitFor();
    pages.set(p.email, page);
    return page;
  }

  beforeAll(async () => {
    configureTestWebhooks(); // webhook URLs on 127.0.0.1 (the AUDITOR's webhooks page has one)
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    provider = await startProvider(CLIENT_ID, CLIENT_SECRET, `${base}/auth/callback`);
    oidc = { issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scopes: 'openid email profile', roleClaim: undefined, roleMap: {}, account: 'default' };
    h = await startHarness({ port, app: { people: { publicUrl: base, oidc, sessions, dashboardKeySignin: false } } });
    master = await h.newAccount('dash-people');
    for (const p of [ana, ben, cy, dee]) await asMaster(`mutation($input: InviteOperatorInput!) { inviteOperator(input: $input) { id } }`, { input: { email: p.email, role: p.role } });
    await asMaster(`mutation { setApprovalPolicy(input: { requireFor: [HIGH_PRIVILEGE], approvals: 1 }) { approvals } }`);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await provider?.stop();
  });

  afterEach(() => {
    // The page lives within its Content-Security-Policy: the browser refused nothing.
    expect(consoleText.filter((t) => /Content Security Policy/i.test(t))).toEqual([]);
  });

  test('with single sign-on and DASHBOARD_KEY_SIGNIN=false the sign-in page offers SSO only; the person lands where they were going, signed in by an HttpOnly cookie', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await visit(page, '#/requests');
    await page.getByRole('link', { name: 'Sign in with SSO' }).waitFor();
    await expect(page.getByLabel('API key').count()).resolves.toBe(0);
    await shot(page, 'people-01-sign-in-sso');

    const anaPage = await signIn(ana);
    await anaPage.getByRole('heading', { name: 'Key requests' }).waitFor();
    expect(anaPage.url()).toBe(`${base}/dashboard/#/requests`);
    const cookies = await anaPage.context().cookies(base);
    const session = cookies.find((c) => c.name === 'kw_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    // Nothing of the session is readable by the page's scripts or kept in its storage.
    await expect(anaPage.evaluate(() => document.cookie + JSON.stringify(sessionStorage) + JSON.stringify(localStorage))).resolves.not.toContain(session.value);
    // Live updates ride the same session: the tab's security-event subscription is open, held by her.
    const { operators } = await asMaster(`{ operators { id email } }`);
    const anaId = operators.find((o: { email: string }) => o.email === ana.email).id;
    await eventually(async () => h.app.live!.openFor(`operator:${anaId}`) >= 1, 20_000, "the person's live subscription");
  });

  test('with DASHBOARD_KEY_SIGNIN=true beside single sign-on the page offers both, and a pasted key still signs in', async () => {
    const port = await freePort();
    const both = await startHarness({ port, app: { people: { publicUrl: `http://127.0.0.1:${port}`, oidc, sessions, dashboardKeySignin: true } } });
    try {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${both.url}/dashboard/`);
      await page.getByRole('link', { name: 'Sign in with SSO' }).waitFor();
      await page.getByLabel('API key').fill(master.secret);
      await shot(page, 'people-01b-sign-in-both');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      // Signed in as the key (named in the top bar); a master key manages people as an OWNER does.
      await expect(page.getByTestId('whoami').textContent()).resolves.toContain('master');
      await page.getByRole('link', { name: 'People' }).click();
      await page.getByRole('form', { name: 'Invite a person' }).waitFor();
    } finally {
      await both.close();
    }
  });

  test('an OWNER requests a key the policy covers; the justification is required; another person approves; the requester claims it once and sees the secret once', async () => {
    const anaPage = pages.get(ana.email) ?? (await signIn(ana));
    // Made directly, the key is refused (APPROVAL_REQUIRED) and nothing is written; the page points to a request.
    await visit(anaPage, '#/keys/new');
    await anaPage.locator('form input[name=name]').fill('deploy-bot');
    await anaPage.locator('form select[name=permission]').selectOption('FULL_ACCESS');
    await anaPage.getByRole('button', { name: 'Create key' }).click();
    await expect(anaPage.getByRole('alert').textContent()).resolves.toMatch(/APPROVAL_REQUIRED/);
    await expect(asMaster(`{ keys(first: 5, filter: { search: "deploy-bot" }) { edges { node { id } } } }`)).resolves.toEqual({ keys: { edges: [] } });
    await anaPage.getByTestId('approval-required').getByRole('link', { name: 'request it' }).click();
    await expect(anaPage.getByTestId('approval-policy').textContent()).resolves.toMatch(/MANAGE or FULL_ACCESS keys/);
    await anaPage.getByRole('button', { name: 'Request a key' }).click();
    const form = anaPage.getByRole('form', { name: 'Request a key' });
    await form.getByLabel('Name').fill('deploy-bot');
    await form.getByLabel('Permission').selectOption('FULL_ACCESS');
    await form.getByRole('button', { name: 'Send request' }).click();
    // The API's refusal sits under the field it names.
    await expect(form.locator('#request-justification ~ .field-error').textContent()).resolves.toMatch(/say why/);
    await expect(asMaster(`{ keyRequests(first: 10) { edges { node { id } } } }`)).resolves.toEqual({ keyRequests: { edges: [] } });
    await form.getByLabel('Justification').fill('nightly deploys to production');
    await form.getByRole('button', { name: 'Send request' }).click();
    const card = anaPage.locator('.request', { hasText: 'deploy-bot' });
    await card.getByText('pending', { exact: true }).waitFor();
    // Nobody approves their own request.
    await expect(card.getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await shot(anaPage, 'people-02-request-pending');

    const benPage = await signIn(ben);
    const benCard = benPage.locator('.request', { hasText: 'deploy-bot' });
    await expect(benCard.textContent()).resolves.toContain('nightly deploys to production');
    await benCard.getByRole('button', { name: 'Approve' }).click();
    await benCard.getByText('approved', { exact: true }).waitFor();
    await expect(benCard.textContent()).resolves.toContain(`Approved by ${ben.name}`);
    await expect(benCard.getByRole('button', { name: 'Claim key' }).count()).resolves.toBe(0);
    await shot(benPage, 'people-03-approved-by-second-person');

    await anaPage.reload();
    const claimCard = anaPage.locator('.request', { hasText: 'deploy-bot' });
    await claimCard.getByRole('button', { name: 'Claim key' }).click();
    const secretField = anaPage.getByTestId('secret');
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^ak_prod_/);
    await anaPage.getByRole('button', { name: 'Copy' }).click();
    await expect(anaPage.evaluate(() => navigator.clipboard.readText())).resolves.toBe(secret);
    await shot(anaPage, 'people-04-claimed-secret-once');
    await anaPage.getByRole('button', { name: 'I have stored it' }).click();
    await anaPage.getByRole('heading', { name: 'deploy-bot' }).waitFor();
    await expect(anaPage.content()).resolves.not.toContain(secret);
    expect((await h.verify({ key: secret, permission: 'FULL_ACCESS' })).body).toMatchObject({ valid: true });

    // Claimed once: the request is issued and offers no second claim.
    await visit(anaPage, '#/requests');
    await anaPage.getByRole('button', { name: 'All' }).click();
    const issued = anaPage.locator('.request', { hasText: 'deploy-bot' });
    await issued.getByText('issued', { exact: true }).waitFor();
    await expect(issued.getByRole('button', { name: 'Claim key' }).count()).resolves.toBe(0);
  });

  test('an approver rejects a request with a reason (required), and the requester sees who and why', async () => {
    const anaPage = pages.get(ana.email) ?? (await signIn(ana));
    await visit(anaPage, '#/requests');
    await anaPage.getByRole('button', { name: 'Request a key' }).click();
    const form = anaPage.getByRole('form', { name: 'Request a key' });
    await form.getByLabel('Name').fill('wide-open');
    await form.getByLabel('Permission').selectOption('MANAGE');
    await form.getByLabel('Justification').fill('managing every key of the team');
    await form.getByRole('button', { name: 'Send request' }).click();
    await anaPage.locator('.request', { hasText: 'wide-open' }).getByText('pending', { exact: true }).waitFor();

    const benPage = pages.get(ben.email) ?? (await signIn(ben));
    await visit(benPage, '#/requests');
    await benPage.locator('.request', { hasText: 'wide-open' }).getByRole('button', { name: 'Reject' }).click();
    const dialog = benPage.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Reject request' }).click();
    await shot(benPage, 'people-04b-reject-needs-reason');
    await expect(dialog.locator('#reject-reason-error').textContent()).resolves.toMatch(/say why/);
    await dialog.getByLabel(/Reason/).fill('use a key derived for the team instead');
    await dialog.getByRole('button', { name: 'Reject request' }).click();
    await dialog.waitFor({ state: 'detached' });

    await anaPage.reload();
    await anaPage.getByRole('button', { name: 'All' }).click();
    const card = anaPage.locator('.request', { hasText: 'wide-open' });
    await card.getByText('rejected', { exact: true }).waitFor();
    await expect(card.textContent()).resolves.toContain(`Rejected by ${ben.name}: use a key derived for the team instead`);
    await expect(card.getByRole('button', { name: 'Claim key' }).count()).resolves.toBe(0);
  });

  test("the key's audit trail names the person who made it", async () => {
    const anaPage = pages.get(ana.email) ?? (await signIn(ana));
    const { keys } = await asMaster(`{ keys(first: 5, filter: { search: "deploy-bot" }) { edges { node { id } } } }`);
    await visit(anaPage, `#/keys/${keys.edges[0].node.id}`);
    const created = anaPage.getByTestId('audit').locator('tr', { hasText: 'key.create' });
    await expect(created.getByTestId('audit-person').textContent()).resolves.toContain(ana.name);
    await shot(anaPage, 'people-05-audit-trail-person');
  });

  test('an AUDITOR reads every page and is offered no change', async () => {
    const { createKey } = await asMaster(`mutation { createKey(input: { name: "audited", type: DEVELOPMENT }) { key { id } } }`);
    await asMaster(`mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/kw-hook", eventTypes: ["*"] }) { endpoint { id } } }`);
    const page = await signIn(cy, '#/keys');
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await page.locator('tr', { hasText: 'audited' }).waitFor();
    await expect(page.getByRole('link', { name: 'New key' }).count()).resolves.toBe(0);
    await expect(page.getByRole('checkbox').count()).resolves.toBe(0);

    await visit(page, `#/keys/${createKey.key.id}`);
    await page.getByRole('heading', { name: 'audited' }).waitFor();
    await page.getByTestId('audit').waitFor();
    for (const name of ['Edit', 'Rotate', 'Revoke']) await expect(page.getByRole('button', { name }).count()).resolves.toBe(0);
    await expect(page.getByRole('link', { name: 'Derive key' }).count()).resolves.toBe(0);
    await shot(page, 'people-06-auditor-key');

    await visit(page, '#/requests');
    await page.getByTestId('approval-policy').waitFor();
    for (const name of ['Request a key', 'Approve', 'Reject', 'Claim key', 'Change policy']) await expect(page.getByRole('button', { name }).count()).resolves.toBe(0);

    await visit(page, '#/webhooks');
    await page.getByText('http://127.0.0.1:9/kw-hook').waitFor();
    for (const name of ['Add endpoint', 'Disable', 'Rotate secret']) await expect(page.getByRole('button', { name }).count()).resolves.toBe(0);

    await visit(page, '#/operators');
    await page.getByTestId('operators').waitFor();
    await expect(page.getByRole('form', { name: 'Invite a person' }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: 'Remove' }).count()).resolves.toBe(0);
    await shot(page, 'people-07-auditor-people');
  });

  test('an ADMIN sees the people but no way to manage them', async () => {
    const page = pages.get(ben.email) ?? (await signIn(ben));
    await visit(page, '#/operators');
    await page.getByTestId('operators').locator('tr', { hasText: ana.email }).waitFor();
    await expect(page.getByRole('form', { name: 'Invite a person' }).count()).resolves.toBe(0);
    for (const name of ['Disable', 'Remove']) await expect(page.getByRole('button', { name }).count()).resolves.toBe(0);
    await expect(page.getByRole('combobox').count()).resolves.toBe(0);
  });

  test("an OWNER invites, changes roles, disables and removes people; the API's refusals show next to the field", async () => {
    const page = pages.get(ana.email) ?? (await signIn(ana));
    await visit(page, '#/operators');
    const invite = page.getByRole('form', { name: 'Invite a person' });
    await invite.getByLabel('Email').fill('not-an-email');
    await invite.getByRole('button', { name: 'Invite' }).click();
    await expect(invite.locator('#invite-email-error').textContent()).resolves.toMatch(/not an email address/);
    await invite.getByLabel('Email').fill(ben.email);
    await invite.getByRole('button', { name: 'Invite' }).click();
    await expect(invite.locator('#invite-email-error').textContent()).resolves.toMatch(/already an operator/);
    const newcomer = `eve-${tag}@example.test`;
    await invite.getByLabel('Email').fill(newcomer);
    await invite.getByLabel('Role').selectOption('AUDITOR');
    await invite.getByRole('button', { name: 'Invite' }).click();
    const eveRow = page.locator('tr', { hasText: newcomer });
    await eveRow.getByText('invited', { exact: true }).waitFor();

    // The last OWNER cannot step down: the refusal is shown on her row, and nothing changed.
    const anaRow = page.locator('tr', { hasText: ana.email });
    await anaRow.getByRole('combobox').selectOption('ADMIN');
    await expect(anaRow.getByRole('alert').textContent()).resolves.toMatch(/last OWNER/);
    await page.reload();
    await expect(page.locator('tr', { hasText: ana.email }).getByRole('combobox').inputValue()).resolves.toBe('OWNER');

    await page.locator('tr', { hasText: dee.email }).getByRole('combobox').selectOption('AUDITOR');
    await eventually(async () => (await asMaster(`{ operators { email role } }`)).operators.some((o: { email: string; role: string }) => o.email === dee.email && o.role === 'AUDITOR'), 10_000, "Dee's new role");
    await shot(page, 'people-08-operators');

    await page.locator('tr', { hasText: newcomer }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.locator('tr', { hasText: newcomer }).waitFor({ state: 'detached' });
  });

  test("disabling a person ends their session at once; signing out ends one's own", async () => {
    const benPage = pages.get(ben.email) ?? (await signIn(ben));
    const anaPage = pages.get(ana.email) ?? (await signIn(ana));
    await visit(anaPage, '#/operators');
    const benRow = anaPage.locator('tr', { hasText: ben.email });
    await benRow.getByRole('button', { name: 'Disable' }).click();
    await benRow.getByText('disabled', { exact: true }).waitFor();
    await benPage.reload();
    await benPage.getByRole('link', { name: 'Sign in with SSO' }).waitFor();

    await anaPage.getByRole('button', { name: 'Sign out' }).click();
    await anaPage.getByRole('link', { name: 'Sign in with SSO' }).waitFor();
    await anaPage.reload();
    await anaPage.getByRole('link', { name: 'Sign in with SSO' }).waitFor();
    await expect(h.db.prisma.operatorSession.count({ where: { operator: { email: ana.email } } })).resolves.toBe(0);
  });
});
