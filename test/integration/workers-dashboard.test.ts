import { createQueueDashboard, type QueueDashboard } from '../../workers/dashboard';
import { startHarness, type Harness } from '../helpers/harness';
import { configureTestWebhooks, createKey, isolatedPrefix } from '../helpers/webhooks';

// The operators' queue dashboard under /admin/queues: master keys only.

let h: Harness;
let dashboard: QueueDashboard;

beforeAll(async () => {
  configureTestWebhooks();
  dashboard = createQueueDashboard({ redisUrl: process.env.REDIS_URL!, redisPrefix: isolatedPrefix('dashboard') });
  h = await startHarness({ app: { queueDashboard: dashboard.handle } });
});
afterAll(async () => {
  await h.close();
  await dashboard.close();
});

const get = (path: string, authorization?: string) => fetch(`${h.url}${path}`, { headers: authorization ? { authorization } : {} });

test('without a key the dashboard answers 401 and asks for credentials', async () => {
  const r = await get('/admin/queues');
  expect(r.status).toBe(401);
  expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
  expect(r.headers.get('www-authenticate')).toMatch(/Basic realm="Keywarden queues"/);
  expect((await get('/admin/queues/api/queues', 'Bearer ak_root_notakey')).status).toBe(401);
});

test('a key that is not a master key gets 403, even with FULL_ACCESS', async () => {
  const acct = await h.newAccount('dash-nonmaster');
  const admin = await createKey(h, acct.secret, { permission: 'FULL_ACCESS', type: 'PRODUCTION' });
  expect((await get('/admin/queues', `Bearer ${admin.secret}`)).status).toBe(403);
});

test('a master key sees the board and the Keywarden queues, by Bearer or by Basic auth from a browser', async () => {
  const acct = await h.newAccount('dash-master');
  const page = await get('/admin/queues', `Bearer ${acct.secret}`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/html/);
  const html = await page.text();
  // Its scripts load from under the same path, behind the same check.
  expect(html).toContain('<base href="/admin/queues/"');
  const script = `/admin/queues/${/src="(static\/js\/[^"]+)"/.exec(html)?.[1]}`;
  expect((await get(script, `Bearer ${acct.secret}`)).status).toBe(200);
  expect((await get(script)).status).toBe(401);
  const api = await get('/admin/queues/api/queues', `Basic ${Buffer.from(`operator:${acct.secret}`).toString('base64')}`);
  expect(api.status).toBe(200);
  const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
  expect(names).toEqual(['scheduled-scans', 'webhook-deliveries']);
});
