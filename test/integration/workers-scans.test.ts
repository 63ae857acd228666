import { openDatabase, type Database } from '../../src/infra/db';
import { createRedis } from '../../src/infra/redis';
import { keyChanges } from '../../src/keys/events';
import { endRotationGrace, expireKeys, remindRotationDue, warnExpiringKeys } from '../../src/keys/scheduled';
import { keyInvalidationChannel as invalidationChannel } from '../../src/infra/redis-keys';
import type { Harness } from '../helpers/harness';
import { spawnCli, type Spawned } from '../helpers/processes';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { TEST_ENCRYPTION_KEY, createEndpoint, createKey, isolatedPrefix, startIsolatedHarness, type IsolatedDatabase, type IsolatedHarness } from '../helpers/webhooks';

// The scheduled scans (expiry warnings, expiry sweep, rotation reminders, end of rotation grace):
// each occasion produces one event, however many processes scan at once.

jest.setTimeout(90_000);

const DAY = 86_400_000;
let stack: IsolatedHarness;
let iso: IsolatedDatabase;
let h: Harness;
let rx: Receiver;
const children: Spawned[] = [];

beforeAll(async () => {
  stack = await startIsolatedHarness('wk_scans');
  ({ iso, h } = stack);
  rx = await startReceiver();
});
afterAll(async () => {
  for (const c of children) {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  }
  await rx.close();
  await stack.close();
});

function spawnWorker(prefix: string): Spawned {
  const p = spawnCli(['worker'], {
    DATABASE_URL: iso.url,
    KEYWARDEN_REDIS_PREFIX: prefix,
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    SCAN_INTERVAL_SECONDS: '1',
    EXPIRY_WARNING_DAYS: '14,7,1',
    JOB_LOCK_SECONDS: '2',
  });
  children.push(p);
  return p;
}

const eventsOf = (accountId: string, type: string) => iso.db.prisma.outboxEvent.findMany({ where: { accountId, type }, orderBy: { createdAt: 'asc' } });
const keyIdOf = (e: { data: unknown }) => (e.data as { key: { id: string } }).key.id;

test('two worker processes scanning every second send each key.expiring warning exactly once, with daysLeft', async () => {
  const acct = await h.newAccount('scan-expiring');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.expiring'] });
  const in10 = await createKey(h, acct.secret, { name: 'ten', expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
  const in3 = await createKey(h, acct.secret, { name: 'three', expiresAt: new Date(Date.now() + 3 * DAY).toISOString() });
  const in12h = await createKey(h, acct.secret, { name: 'half', expiresAt: new Date(Date.now() + DAY / 2).toISOString() });
  const far = await createKey(h, acct.secret, { name: 'far', expiresAt: new Date(Date.now() + 60 * DAY).toISOString() });

  const prefix = isolatedPrefix('scans');
  const [a, b] = [spawnWorker(prefix), spawnWorker(prefix)];
  await Promise.all([a.waitFor(/workers started/), b.waitFor(/workers started/)]);
  await rx.waitFor((r) => r.length >= 3, 20_000, 'three warnings');
  // Several more ticks in both processes.
  await new Promise((r) => setTimeout(r, 3500));
  // Meanwhile, four scans at once from this process, on two connections: nothing new.
  const other: Database = await openDatabase({ databaseUrl: iso.url, dataDir: '/nonexistent', migrate: false });
  try {
    const again = await Promise.all([warnExpiringKeys(iso.db, [14, 7, 1]), warnExpiringKeys(other, [14, 7, 1]), warnExpiringKeys(iso.db, [14, 7, 1]), warnExpiringKeys(other, [14, 7, 1])]);
    expect(again).toEqual([0, 0, 0, 0]);
  } finally {
    await other.close();
  }
  for (const c of [a, b]) c.child.kill('SIGTERM');
  await Promise.all([a.exited, b.exited]);

  const got = rx.received.map((r) => JSON.parse(r.body)).filter((x) => x.type === 'key.expiring');
  const byKey = Object.fromEntries(got.map((x) => [x.data.key.id, x.data]));
  expect(got).toHaveLength(3);
  expect(byKey[in10.key.id]).toMatchObject({ daysLeft: 10, thresholdDays: 14 });
  expect(byKey[in3.key.id]).toMatchObject({ daysLeft: 3, thresholdDays: 7 });
  expect(byKey[in12h.key.id]).toMatchObject({ daysLeft: 1, thresholdDays: 1 });
  expect(byKey[far.key.id]).toBeUndefined();
  expect(await eventsOf(acct.accountId, 'key.expiring')).toHaveLength(3);
  const deliveries = await iso.db.prisma.webhookDelivery.count({ where: { endpointId: ep.endpoint.id } });
  expect(deliveries).toBe(3);
});

test('a key crossing into the next threshold is warned again for it, and once only', async () => {
  const acct = await h.newAccount('scan-bands');
  const k = await createKey(h, acct.secret, { expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
  expect(await warnExpiringKeys(iso.db, [14, 7, 1])).toBeGreaterThanOrEqual(1);
  const sixDaysLater = new Date(Date.now() + 6 * DAY);
  await warnExpiringKeys(iso.db, [14, 7, 1], { now: sixDaysLater });
  await warnExpiringKeys(iso.db, [14, 7, 1], { now: sixDaysLater });
  const mine = (await eventsOf(acct.accountId, 'key.expiring')).map((e) => [keyIdOf(e), (e.data as any).thresholdDays, (e.data as any).daysLeft]);
  expect(mine).toEqual([
    [k.key.id, 14, 10],
    [k.key.id, 7, 4],
  ]);
});

test('the expiry sweep marks expired keys EXPIRED with one key.expired each and tells the verify caches', async () => {
  const acct = await h.newAccount('scan-expire');
  const k = await createKey(h, acct.secret);
  await iso.db.prisma.apiKey.update({ where: { id: k.key.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
  const announced: string[] = [];
  const listen = (ids: string[]) => announced.push(...ids);
  keyChanges.on('changed', listen);
  try {
    const counts = await Promise.all([expireKeys(iso.db), expireKeys(iso.db)]);
    expect(counts[0] + counts[1]).toBeGreaterThanOrEqual(1);
  } finally {
    keyChanges.off('changed', listen);
  }
  expect(announced).toContain(k.key.id);
  const row = await iso.db.prisma.apiKey.findUniqueOrThrow({ where: { id: k.key.id } });
  expect(row.status).toBe('EXPIRED');
  expect((await eventsOf(acct.accountId, 'key.expired')).map(keyIdOf)).toEqual([k.key.id]);
  expect(await expireKeys(iso.db)).toBe(0);
});

test('rotation reminders send key.rotation_due once per due date', async () => {
  const acct = await h.newAccount('scan-rotation');
  const k = await createKey(h, acct.secret);
  await iso.db.prisma.apiKey.update({ where: { id: k.key.id }, data: { rotationDueAt: new Date(Date.now() - DAY) } });
  await remindRotationDue(iso.db);
  await remindRotationDue(iso.db);
  expect(await eventsOf(acct.accountId, 'key.rotation_due')).toHaveLength(1);
  // A new due date (the period was changed) is a new occasion.
  await iso.db.prisma.apiKey.update({ where: { id: k.key.id }, data: { rotationDueAt: new Date(Date.now() - 1000) } });
  await remindRotationDue(iso.db);
  expect(await eventsOf(acct.accountId, 'key.rotation_due')).toHaveLength(2);
});

test('a worker-only process ends rotation grace: the old key becomes REVOKED and every instance is told over Redis', async () => {
  const acct = await h.newAccount('scan-grace');
  const k = await createKey(h, acct.secret);
  const prefix = isolatedPrefix('grace');
  const sub = createRedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const messages: string[] = [];
  sub.on('message', (_ch, m) => messages.push(m));
  await sub.subscribe(invalidationChannel(prefix));
  try {
    const w = spawnWorker(prefix);
    await w.waitFor(/workers started/);
    const rotated = await h.gql(`mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 0) { key { id } } }`, { id: k.key.id }, acct.secret);
    expect(rotated.errors).toBeUndefined();
    const started = Date.now();
    while (!messages.some((m) => m.includes(k.key.id)) && Date.now() - started < 15_000) await new Promise((r) => setTimeout(r, 50));
    expect(messages.some((m) => JSON.parse(m).includes(k.key.id))).toBe(true);
    const old = await iso.db.prisma.apiKey.findUniqueOrThrow({ where: { id: k.key.id } });
    expect(old).toMatchObject({ status: 'REVOKED', revokedReason: 'rotation grace period ended' });
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
  } finally {
    sub.disconnect();
  }
  expect(await endRotationGrace(iso.db)).toBe(0);
});
