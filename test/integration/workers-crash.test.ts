import { relayOutbox } from '../../src/events/relay';
import type { Harness } from '../helpers/harness';
import { spawnCli, type Spawned } from '../helpers/processes';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { TEST_ENCRYPTION_KEY, createEndpoint, createKey, eventually, isolatedPrefix, startIsolatedHarness, startTestWorkers, type IsolatedDatabase, type IsolatedHarness } from '../helpers/webhooks';

// No event is lost when a process dies after the change that caused it committed (README, Webhooks and workers):
// a worker killed mid-delivery, a relay dying between its commit and the hand-over to the queue,
// events committed while no worker ran. SIGTERM lets the delivery in flight finish.

jest.setTimeout(90_000);

let stack: IsolatedHarness;
let iso: IsolatedDatabase;
let h: Harness;
let rx: Receiver;
let prefix: string;
const children: Spawned[] = [];

beforeAll(async () => {
  stack = await startIsolatedHarness('wk_crash');
  ({ iso, h } = stack);
});
afterAll(() => stack.close());
beforeEach(async () => {
  rx = await startReceiver();
  // A fresh queue namespace per test: no job of one test is left for the next one's workers.
  prefix = isolatedPrefix('crash');
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.child.exitCode === null && c.child.signalCode === null) {
      c.child.kill('SIGKILL');
      await c.exited;
    }
  }
  await rx.close();
});

function spawnWorker(extra: Record<string, string> = {}): Spawned {
  const p = spawnCli(['worker'], {
    DATABASE_URL: iso.url,
    KEYWARDEN_REDIS_PREFIX: prefix,
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1',
    WEBHOOK_TIMEOUT_MS: '30000',
    JOB_LOCK_SECONDS: '2',
    SCAN_INTERVAL_SECONDS: '3600',
    ...extra,
  });
  children.push(p);
  return p;
}

const deliveryOf = (endpointId: string) => iso.db.prisma.webhookDelivery.findFirst({ where: { endpointId }, include: { attempts: { orderBy: { number: 'asc' } } } });

test('a worker killed (SIGKILL) mid-delivery: another worker takes the job over and the event is delivered, with the same webhook-id', async () => {
  const acct = await h.newAccount('crash-kill');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  rx.reply((r) => (r.n === 1 ? { hang: true } : undefined));
  const a = spawnWorker();
  await a.waitFor(/workers started/);
  await createKey(h, acct.secret);
  await rx.waitFor((r) => r.length >= 1, 15_000, 'the first attempt');
  a.child.kill('SIGKILL');
  expect(await a.exited).toBeNull();

  const b = spawnWorker();
  await b.waitFor(/workers started/);
  await rx.waitFor((r) => r.length >= 2, 30_000, 'the attempt after take-over');
  expect(rx.received[1].id).toBe(rx.received[0].id);
  const d = await eventually(async () => {
    const x = await deliveryOf(ep.endpoint.id);
    return x?.status === 'SUCCEEDED' && x;
  });
  // The killed attempt never reached the database; the one that succeeded is attempt 1.
  expect(d.attempts.map((x) => [x.number, x.statusCode])).toEqual([[1, 200]]);
  expect(rx.received).toHaveLength(2);
});

test('a worker killed mid-batch: the batch is taken over, the attempts it recorded are not sent again, the one cut off is delivered', async () => {
  const acct = await h.newAccount('crash-batch');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  // Committed while no worker runs, so the relay hands all six over in one batch job.
  for (let i = 0; i < 6; i++) await createKey(h, acct.secret, { name: `batch-${i}` });
  let hungId = '';
  rx.reply((r) => {
    if (hungId || r.n < 4) return undefined;
    hungId = r.id;
    return { hang: true };
  });
  const a = spawnWorker();
  await a.waitFor(/workers started/);
  await eventually(async () => (await iso.db.prisma.webhookDelivery.count({ where: { endpointId: ep.endpoint.id, status: 'SUCCEEDED' } })) === 5, 15_000, 'five recorded');
  a.child.kill('SIGKILL');
  expect(await a.exited).toBeNull();
  expect(rx.received).toHaveLength(6);

  const b = spawnWorker();
  await b.waitFor(/workers started/);
  const all = await eventually(
    async () => {
      const d = await iso.db.prisma.webhookDelivery.findMany({ where: { endpointId: ep.endpoint.id }, include: { attempts: true, event: true } });
      return d.every((x) => x.status === 'SUCCEEDED') && d;
    },
    30_000,
    'all six delivered',
  );
  expect(all).toHaveLength(6);
  expect(all.map((d) => d.attempts.length)).toEqual([1, 1, 1, 1, 1, 1]);
  // Seven requests: each delivery once, and the one cut off again with the same webhook-id.
  expect(rx.received).toHaveLength(7);
  expect(rx.received[6].id).toBe(hungId);
  expect(new Set(rx.received.map((r) => r.id))).toEqual(new Set(all.map((d) => d.event.id)));
});

test('a relay that dies between its commit and the hand-over to the queue leaves a pending delivery that the outbox sweep delivers', async () => {
  const acct = await h.newAccount('crash-relay');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  await createKey(h, acct.secret);
  // No worker is running: the event is committed and waits. A relay then fans it out, commits,
  // and "dies" before the queue hears of it.
  await expect(relayOutbox(iso.db, async () => Promise.reject(new Error('simulated crash')))).rejects.toThrow('simulated crash');
  const orphan = await deliveryOf(ep.endpoint.id);
  expect(orphan).toMatchObject({ status: 'PENDING', attemptCount: 0 });
  expect(orphan!.enqueuedAt).not.toBeNull();

  const workers = await startTestWorkers({ db: iso.db, url: iso.url, prefix, settings: { scanIntervalSeconds: 1, overdueGraceMs: 500 } });
  try {
    await rx.waitFor((r) => r.length >= 1, 15_000, 'the swept delivery');
    const d = await eventually(async () => {
      const x = await deliveryOf(ep.endpoint.id);
      return x?.status === 'SUCCEEDED' && x;
    });
    expect(d.id).toBe(orphan!.id);
    expect(rx.received).toHaveLength(1);
  } finally {
    await workers.close();
  }
});

test('events committed while no worker runs are delivered once a worker starts', async () => {
  const acct = await h.newAccount('crash-offline');
  await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  for (let i = 0; i < 3; i++) await createKey(h, acct.secret, { name: `offline-${i}` });
  expect(await iso.db.prisma.outboxEvent.count({ where: { accountId: acct.accountId, relayedAt: null } })).toBe(3);
  const w = spawnWorker();
  await w.waitFor(/workers started/);
  await rx.waitFor((r) => r.length >= 3, 15_000, 'three deliveries');
  expect(new Set(rx.received.map((r) => r.id)).size).toBe(3);
});

test('SIGTERM lets the delivery in flight finish and be recorded, then the worker exits 0', async () => {
  const acct = await h.newAccount('crash-term');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  rx.reply(() => ({ status: 200, delayMs: 1500 }));
  const w = spawnWorker();
  await w.waitFor(/workers started/);
  await createKey(h, acct.secret);
  await rx.waitFor((r) => r.length >= 1);
  w.child.kill('SIGTERM');
  expect(await w.exited).toBe(0);
  const d = await deliveryOf(ep.endpoint.id);
  expect(d?.status).toBe('SUCCEEDED');
  expect(d?.attempts.map((x) => x.statusCode)).toEqual([200]);
});
