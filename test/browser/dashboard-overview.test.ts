import type { Browser, Page } from 'playwright-core';
import { browserDescribe, launchChromium, screenshot } from '../helpers/browser';
import type { Workers } from '../../workers';
import { flushUsage } from '../../src/reports/usage-flush';
import { startHarness, type Harness } from '../helpers/harness';
import { configureTestWebhooks, eventually, isolatedDatabase, startTestWorkers, type IsolatedDatabase } from '../helpers/webhooks';

// The overview (the dashboard's home) and its live updates in Chromium, against a real Keywarden
// whose workers relay events to the API's subscriptions through Redis. Screenshots go to
// test-artifacts/dashboard/ beside the other pages'.

const describeBrowser = browserDescribe();

jest.setTimeout(90_000);

describeBrowser('the overview and live updates in Chromium', () => {
  let iso: IsolatedDatabase;
  let h: Harness;
  let workers: Workers;
  let browser: Browser;
  let page: Page;
  let master: { secret: string; accountId: string; keyId: string };
  const foreignRequests: string[] = [];

  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const r = await h.gql(query, variables, master.secret);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  const createKey = async (input: Record<string, unknown>) =>
    (await gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input })).createKey as { secret: string; key: { id: string } };
  const shot = (name: string) => screenshot(page, name);
  /** Marks the loaded document: the mark survives only if the page was never reloaded. */
  const markDocument = () => page.evaluate(() => document.body.setAttribute('data-test-mark', 'same-document'));
  const sameDocument = async () => (await page.evaluate(() => document.body.getAttribute('data-test-mark'))) === 'same-document';

  beforeAll(async () => {
    configureTestWebhooks();
    iso = await isolatedDatabase('dash-overview');
    h = await startHarness({ db: iso.db });
    workers = await startTestWorkers({ db: iso.db, url: iso.url, prefix: h.prefix });
    master = await h.newAccount('dash-overview');
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(h.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
    await page.goto(`${h.url}/dashboard/`);
    await page.getByLabel('API key').fill(master.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await workers?.close();
    await h?.close();
    await iso?.drop();
  });

  afterEach(() => {
    expect(foreignRequests).toEqual([]);
  });

  test('the overview shows real traffic: the chart, top keys, denials by code, and numbers that link to their lists', async () => {
    const busy = await createKey({ name: 'busy-bot', type: 'PRODUCTION', permission: 'READ_ONLY', expiresIn: 'DAYS_30' });
    await createKey({ name: 'soon-gone', type: 'DEVELOPMENT', expiresAt: new Date(Date.now() + 3 * 86_400_000).toISOString() });
    for (let i = 0; i < 5; i++) await h.verify({ key: busy.secret });
    for (let i = 0; i < 2; i++) await h.verify({ key: busy.secret, permission: 'EXECUTE' });
    await h.app.usage.flush();
    await flushUsage(h.db, h.redis, h.prefix);

    await page.goto(`${h.url}/dashboard/#/overview`);
    await page.reload();
    const chart = page.getByRole('img', { name: /Verifications per hour/ });
    await chart.waitFor();
    expect(await chart.getAttribute('aria-label')).toContain('5 allowed, 2 denied');
    const top = page.getByRole('table', { name: 'Top keys' });
    await expect(top.getByRole('row').nth(1).textContent()).resolves.toMatch(/busy-bot.*7.*2/);
    const denials = page.getByRole('table', { name: 'Denials by code' });
    await expect(denials.textContent()).resolves.toContain('INSUFFICIENT_PERMISSIONS');
    await page.getByRole('button', { name: '30 days' }).click();
    expect(await page.getByRole('img', { name: /Verifications per day/ }).getAttribute('aria-label')).toContain('5 allowed, 2 denied');
    await expect(page.getByRole('link', { name: /Compliance score: \d+%/ }).isVisible()).resolves.toBe(true);
    await shot('20-overview');

    // The expiring number opens the key list filtered to exactly those keys.
    const expiring = page.getByRole('link', { name: /Keys expiring within 14 days: 1/ });
    await expiring.click();
    await page.getByText('Keys expiring within 14 days.').waitFor();
    await page.getByRole('link', { name: 'soon-gone' }).waitFor();
    expect(await page.getByRole('link', { name: 'busy-bot' }).count()).toBe(0);

    // A denial count opens the keys denied with that code.
    await page.goto(`${h.url}/dashboard/#/overview`);
    await page.getByRole('link', { name: '2 denied with INSUFFICIENT_PERMISSIONS' }).click();
    const denied = page.getByRole('table', { name: 'Keys denied with INSUFFICIENT_PERMISSIONS' });
    await expect(denied.getByRole('row').nth(1).textContent()).resolves.toMatch(/busy-bot.*2.*7/);
    expect(await denied.getByRole('row').count()).toBe(2);
    await shot('20b-overview-denials');
  });

  test('a new security event appears without a reload: a toast, and the overview list', async () => {
    await page.goto(`${h.url}/dashboard/#/overview`);
    await page.getByRole('heading', { name: 'Open security events' }).waitFor();
    await markDocument();
    // The tab's subscription is open before the event is raised.
    await eventually(async () => h.app.live!.openFor(master.keyId) >= 1, 20_000, 'the security-event subscription');
    await createKey({ name: 'live-admin', type: 'PRODUCTION', permission: 'FULL_ACCESS' });
    const toast = page.getByRole('status', { name: 'New security events' });
    await toast.getByText(/KEY_CREATED.*live-admin/).waitFor({ timeout: 20_000 });
    await page.getByRole('list', { name: 'Open security events' }).getByText('live-admin').waitFor();
    expect(await sameDocument()).toBe(true);
    await shot('21-overview-live-event');
  });

  test('the key list shows a key created elsewhere without a reload', async () => {
    await page.goto(`${h.url}/dashboard/#/keys`);
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    await markDocument();
    // The toasts' subscription and the key list's.
    await eventually(async () => h.app.live!.openFor(master.keyId) >= 2, 20_000, 'the key-list subscription');
    await createKey({ name: 'made-elsewhere', type: 'DEVELOPMENT' });
    await page.getByRole('link', { name: 'made-elsewhere' }).waitFor({ timeout: 20_000 });
    expect(await sameDocument()).toBe(true);
  });

  test('agents, groups and workflows: the API message next to a bad upstream URL, create by keyboard, membership, and a new key scoped to the agent', async () => {
    await page.goto(`${h.url}/dashboard/#/agents`);
    await page.getByRole('heading', { name: 'Agents and workflows' }).waitFor();
    const agentForm = page.getByRole('form', { name: 'New agent', exact: true });
    await agentForm.getByLabel('Name').fill('planner');
    await agentForm.getByLabel('Upstream URL').fill('ftp://planner.example');
    // Enter in a field submits the form: no mouse needed.
    await agentForm.getByLabel('Upstream URL').press('Enter');
    const urlField = agentForm.getByLabel('Upstream URL');
    await agentForm.getByRole('alert').getByText('input.upstreamUrl: must be an http or https URL').waitFor();
    expect(await urlField.getAttribute('aria-invalid')).toBe('true');
    expect(await urlField.getAttribute('aria-describedby')).toBe('agent-upstreamUrl-error');
    await shot('22-agents-invalid-url');
    await urlField.fill('https://planner.example:8443');
    await urlField.press('Enter');
    const agents = page.getByRole('table', { name: 'Agents' });
    await agents.getByRole('row', { name: /planner/ }).waitFor();
    await expect(agents.getByRole('row', { name: /planner/ }).textContent()).resolves.toContain('https://planner.example:8443/');

    const groupForm = page.getByRole('form', { name: 'New agent group' });
    await groupForm.getByLabel('Name').fill('planners');
    await groupForm.getByRole('checkbox', { name: 'planner' }).check();
    await groupForm.getByRole('button', { name: 'Create group' }).click();
    await page
      .getByRole('table', { name: 'Agent groups' })
      .getByRole('row', { name: /planners.*planner/ })
      .waitFor();
    const workflowForm = page.getByRole('form', { name: 'New workflow' });
    await workflowForm.getByLabel('Name').fill('nightly-plan');
    await workflowForm.getByRole('checkbox', { name: 'planner' }).check();
    await workflowForm.getByRole('button', { name: 'Create workflow' }).click();
    await page
      .getByRole('table', { name: 'Workflows' })
      .getByRole('row', { name: /nightly-plan.*planner/ })
      .waitFor();
    await expect(agents.getByRole('row', { name: /planner/ }).textContent()).resolves.toContain('planners');

    // A new key scoped to the agent, from the create form, then listed on the agent.
    await page.goto(`${h.url}/dashboard/#/keys/new`);
    const form = page.locator('form');
    await form.locator('input[name=name]').fill('planner-key');
    await form.getByLabel('Scope').selectOption('SINGLE_AGENT');
    await form.getByLabel('Agent', { exact: true }).selectOption({ label: 'planner' });
    await form.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.goto(`${h.url}/dashboard/#/agents`);
    await agents
      .getByRole('row', { name: /planner/ })
      .getByRole('link', { name: 'planner-key' })
      .waitFor();
    await shot('23-agents');

    // Editing the agent: a bad upstream URL gets the API's message by the field and changes nothing.
    await agents.getByRole('button', { name: 'Edit planner' }).click();
    const editForm = page.getByRole('form', { name: 'Edit agent planner' });
    const editUrl = editForm.getByLabel('Upstream URL');
    expect(await editUrl.inputValue()).toBe('https://planner.example:8443/');
    await editUrl.fill('http://169.254.169.254/latest/');
    await editForm.getByRole('button', { name: 'Save' }).click();
    const editError = editForm.getByRole('alert');
    await editError.getByText(/input\.upstreamUrl: the gateway may not send requests there/).waitFor();
    expect(await editUrl.getAttribute('aria-invalid')).toBe('true');
    expect(await editError.getAttribute('id')).toBe(await editUrl.getAttribute('aria-describedby'));
    await shot('24-agents-edit-invalid-url');
    expect((await gql(`{ agents(first: 10) { edges { node { name upstreamUrl } } } }`)).agents.edges.map((e: any) => e.node)).toEqual([{ name: 'planner', upstreamUrl: 'https://planner.example:8443/' }]);
    await editUrl.fill('https://planner-2.example/v2');
    await editUrl.press('Enter');
    await agents.getByRole('row', { name: /planner-2\.example/ }).waitFor();
    await expect(agents.getByRole('row', { name: /planner/ }).textContent()).resolves.toContain('https://planner-2.example/v2');
    // The key scoped to it is still listed on the agent.
    await agents
      .getByRole('row', { name: /planner/ })
      .getByRole('link', { name: 'planner-key' })
      .waitFor();

    // Membership: the workflow loses its agent.
    await page.getByRole('table', { name: 'Workflows' }).getByRole('button', { name: 'Edit nightly-plan' }).click();
    const wfEdit = page.getByRole('form', { name: 'Edit workflow nightly-plan' });
    await wfEdit.getByRole('checkbox', { name: 'planner' }).uncheck();
    await wfEdit.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('form', { name: 'New workflow' }).waitFor();
    await expect(
      page
        .getByRole('table', { name: 'Workflows' })
        .getByRole('row', { name: /nightly-plan/ })
        .textContent(),
    ).resolves.not.toContain('planner.example');
    expect((await gql(`{ workflows(first: 10) { edges { node { agents { id } } } } }`)).workflows.edges[0].node.agents).toEqual([]);
    await shot('25-agents-edited');
  });

  test('every form field of the agents page has a label', async () => {
    await page.goto(`${h.url}/dashboard/#/agents`);
    await page.getByRole('heading', { name: 'Agents and workflows' }).waitFor();
    await page.getByRole('table', { name: 'Agent groups' }).getByRole('button', { name: 'Edit planners' }).click();
    await page.getByRole('form', { name: 'Edit agent group planners' }).waitFor();
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')].filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')).map((el) => el.outerHTML),
    );
    expect(unlabelled).toEqual([]);
  });
});
