import crypto from 'node:crypto';
import { logger } from '../../src/infra/logger';
import { createQueueDashboard, type QueueDashboard } from '../../workers/dashboard';
import { startHarness, type Harness } from '../helpers/harness';
import { configureTestWebhooks, createKey, isolatedPrefix } from '../helpers/webhooks';

// The installation's queue dashboard under /admin/queues: only the installation token
// (ADMIN_QUEUES_TOKEN) opens it, never an account's key (its queues hold every account's jobs);
// read-only unless ADMIN_QUEUES_WRITE; every action is audited.

const TOKEN = crypto.randomBytes(24).toString('base64url');
let h: Harness;
let dashboard: QueueDashboard;
let writable: QueueDashboard;
let closed: QueueDashboard;
let which: 'read-only' | 'writable' | 'closed' = 'read-only';
const prefix = isolatedPrefix('dashboard');

beforeAll(async () => {
  configureTestWebhooks();
  dashboard = createQueueDashboard({ redisUrl: process.env.REDIS_URL!, redisPrefix: prefix, token: TOKEN });
  writable = createQueueDashboard({ redisUrl: process.env.REDIS_URL!, redisPrefix: prefix, token: TOKEN, writable: true });
  closed = createQueueDashboard({ redisUrl: process.env.REDIS_URL!, redisPrefix: prefix });
  const boards = { 'read-only': dashboard, writable, closed };
  h = await startHarness({ app: { queueDashboard: (req, res, keys) => boards[which].handle(req, res, keys) } });
});
afterAll(async () => {
  await h.close();
  await Promise.all([dashboard.close(), writable.close(), closed.close()]);
});
afterEach(() => {
  which = 'read-only';
  jest.restoreAllMocks();
});

const get = (path: string, authorization?: string, method = 'GET') => fetch(`${h.url}${path}`, { method, headers: authorization ? { authorization } : {} });
const bearer = `Bearer ${TOKEN}`;

test('without a credential the dashboard answers 401 and asks for one', async () => {
  const r = await get('/admin/queues');
  expect(r.status).toBe(401);
  expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
  expect(r.headers.get('www-authenticate')).toMatch(/Basic realm="Keywarden queues"/);
  expect((await get('/admin/queues/api/queues', 'Bearer ak_root_notakey')).status).toBe(401);
  expect((await get('/admin/queues/api/queues', `Bearer ${TOKEN}x`)).status).toBe(401);
});

test("an account's keys get 403, its master key and FULL_ACCESS keys included", async () => {
  const acct = await h.newAccount('dash-keys');
  const admin = await createKey(h, acct.secret, { permission: 'FULL_ACCESS', type: 'PRODUCTION' });
  for (const secret of [acct.secret, admin.secret]) {
    expect((await get('/admin/queues', `Bearer ${secret}`)).status).toBe(403);
    expect((await get('/admin/queues/api/queues', `Basic ${Buffer.from(`x:${secret}`).toString('base64')}`)).status).toBe(403);
    expect((await get('/admin/queues/api/queues/webhook-deliveries/pause', `Bearer ${secret}`, 'PUT')).status).toBe(403);
  }
});

test('without ADMIN_QUEUES_TOKEN the dashboard is closed to everyone', async () => {
  which = 'closed';
  const acct = await h.newAccount('dash-closed');
  const r = await get('/admin/queues', `Bearer ${acct.secret}`);
  expect(r.status).toBe(403);
  expect((await r.json()).error.message).toContain('ADMIN_QUEUES_TOKEN');
  expect((await get('/admin/queues', bearer)).status).toBe(403);
});

test('read-only by default: pausing, emptying, cleaning and obliterating are refused and change nothing; each attempt is audited', async () => {
  const info = jest.spyOn(logger, 'info');
  for (const [method, path] of [
    ['PUT', '/api/queues/webhook-deliveries/pause'],
    ['PUT', '/api/queues/webhook-deliveries/empty'],
    ['PUT', '/api/queues/webhook-deliveries/clean/failed'],
    ['PUT', '/api/queues/scheduled-scans/obliterate'],
  ]) {
    expect([path, (await get(`/admin/queues${path}`, bearer, method)).status]).toEqual([path, 405]);
  }
  const queues = (await (await get('/admin/queues/api/queues', bearer)).json()) as { queues: { name: string; isPaused: boolean; readOnlyMode: boolean }[] };
  expect(queues.queues.every((q) => q.readOnlyMode && !q.isPaused)).toBe(true);
  await new Promise((r) => setTimeout(r, 50));
  const audited = info.mock.calls.filter((c) => c[1] === 'queue dashboard action').map((c) => c[0] as any);
  expect(audited).toHaveLength(4);
  expect(audited[0]).toMatchObject({ audit: 'queues', actor: 'installation-token', method: 'PUT', status: 405 });
  expect(JSON.stringify(audited)).not.toContain(TOKEN);
});

test('ADMIN_QUEUES_WRITE allows actions to the installation token, audited with their outcome; refused key attempts are audited too', async () => {
  which = 'writable';
  const info = jest.spyOn(logger, 'info');
  expect((await get('/admin/queues/api/queues/webhook-deliveries/pause', bearer, 'PUT')).status).toBe(200);
  const paused = (await (await get('/admin/queues/api/queues', bearer)).json()) as { queues: { name: string; isPaused: boolean }[] };
  expect(paused.queues.find((q) => q.name === 'webhook-deliveries')?.isPaused).toBe(true);
  expect((await get('/admin/queues/api/queues/webhook-deliveries/resume', bearer, 'PUT')).status).toBe(200);
  const acct = await h.newAccount('dash-write');
  expect((await get('/admin/queues/api/queues/webhook-deliveries/pause', `Bearer ${acct.secret}`, 'PUT')).status).toBe(403);
  await new Promise((r) => setTimeout(r, 50));
  const audited = info.mock.calls.filter((c) => c[1] === 'queue dashboard action').map((c) => c[0] as any);
  expect(audited.map((a) => [a.actor, a.path, a.status])).toEqual([
    ['installation-token', '/admin/queues/api/queues/webhook-deliveries/pause', 200],
    ['installation-token', '/admin/queues/api/queues/webhook-deliveries/resume', 200],
    [`key:${acct.keyId}`, '/admin/queues/api/queues/webhook-deliveries/pause', 403],
  ]);
});

test('the installation token sees the board and the Keywarden queues, by Bearer or by Basic auth from a browser', async () => {
  const acct = { secret: TOKEN };
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
