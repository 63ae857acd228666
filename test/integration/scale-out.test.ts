import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { spawnCli, type Spawned } from '../helpers/processes';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { TEST_ENCRYPTION_KEY, eventually, isolatedDatabase, isolatedPrefix, type IsolatedDatabase } from '../helpers/webhooks';

// Scale-out as operators run it: two `keywarden api` and two `keywarden worker` processes on one
// PostgreSQL and one Redis. Limits hold across the APIs, a revoke on one is honoured by the
// other within a second, events reach the receiver once per event and endpoint, and killing a
// worker loses nothing.

jest.setTimeout(180_000);

let iso: IsolatedDatabase;
let rx: Receiver;
let master: string;
const apis: { p: Spawned; url: string }[] = [];
const workers: Spawned[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let env: Record<string, string>;

beforeAll(async () => {
  iso = await isolatedDatabase('scale');
  rx = await startReceiver();
  env = {
    DATABASE_URL: iso.url,
    KEYWARDEN_REDIS_PREFIX: isolatedPrefix('scale'),
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    KEYWARDEN_BOOTSTRAP: 'false',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1',
    JOB_LOCK_SECONDS: '2',
    SCAN_INTERVAL_SECONDS: '2',
  };
  master = (await createAccountWithMasterKey(iso.db, 'scale-out')).secret;
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const p = spawnCli(['api'], { ...env, PORT: String(port) });
    apis.push({ p, url: `http://127.0.0.1:${port}` });
  }
  for (let i = 0; i < 2; i++) workers.push(spawnCli(['worker'], env));
  await Promise.all([...apis.map((a) => a.p.waitFor(/Keywarden API listening/, 90_000)), ...workers.map((w) => w.waitFor(/workers started/, 90_000))]);
});

afterAll(async () => {
  for (const p of [...apis.map((a) => a.p), ...workers]) {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }
  await rx.close();
  await iso.drop();
});

async function gql(api: number, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${apis[api].url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${master}` }, body: JSON.stringify({ query, variables }) });
  const json = (await res.json()) as any;
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
}
async function verify(api: number, body: Record<string, unknown>) {
  const res = await fetch(`${apis[api].url}/v1/keys/verify`, { method: 'POST', body: JSON.stringify(body) });
  return ((await res.json()) as { code: string }).code;
}

test('a rate limit of N per minute allows exactly N across both API processes', async () => {
  const k = await gql(0, `mutation { createKey(input: { name: "rl", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 6 }] }) { secret } }`);
  const codes = [];
  for (let i = 0; i < 10; i++) codes.push(await verify(i % 2, { key: k.createKey.secret }));
  expect(codes.filter((c) => c === 'VALID')).toHaveLength(6);
  expect(codes.slice(6).every((c) => c === 'RATE_LIMITED')).toBe(true);
});

test('a revoke on one API process is honoured by the other within one second', async () => {
  const k = await gql(0, `mutation { createKey(input: { name: "rv", type: PRODUCTION }) { secret key { id } } }`);
  expect(await verify(1, { key: k.createKey.secret })).toBe('VALID');
  await gql(0, `mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: k.createKey.key.id });
  const started = Date.now();
  let code = '';
  do {
    code = await verify(1, { key: k.createKey.secret });
    if (code === 'REVOKED') break;
    await new Promise((r) => setTimeout(r, 20));
  } while (Date.now() - started < 1000);
  expect(code).toBe('REVOKED');
});

test('200 events reach the receiver once per event and endpoint; killing a worker midway loses none', async () => {
  await gql(0, `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventTypes: ["key.created"] }) { endpoint { id } } }`, { url: rx.url });
  const before = rx.received.length;
  const made: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    made.push(gql(i % 2, `mutation($n: String!) { createKey(input: { name: $n, type: DEVELOPMENT }) { key { id } } }`, { n: `ev-${i}` }));
    if (i === 100) {
      workers[0].child.kill('SIGKILL');
      await workers[0].exited;
    }
    if (made.length >= 10) await Promise.all(made.splice(0));
  }
  await Promise.all(made);
  const delivered = await eventually(
    async () => {
      const ok = await iso.db.prisma.webhookDelivery.count({ where: { status: 'SUCCEEDED', event: { type: 'key.created' } } });
      return ok >= 200 && ok;
    },
    90_000,
    '200 succeeded deliveries',
  );
  expect(delivered).toBe(200);
  const ids = rx.received.slice(before).map((r) => r.id);
  const distinct = new Set(ids);
  expect(distinct.size).toBe(200);
  // At-least-once: only a delivery in flight at the moment of the kill may be sent twice.
  expect(ids.length - distinct.size).toBeLessThanOrEqual(Number(process.env.WEBHOOK_CONCURRENCY ?? 50));
  const rows = await iso.db.prisma.webhookDelivery.findMany({ where: { event: { type: 'key.created' } }, include: { attempts: true } });
  expect(rows.every((d) => d.attempts.filter((a) => a.statusCode === 200).length === 1)).toBe(true);
});
