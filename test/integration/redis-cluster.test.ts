import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { type ApiFleet, rateLimitAcross, revokeAcross, startApiFleet } from '../helpers/api-fleet';
import { runCli } from '../helpers/processes';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { freePort } from '../helpers/servers';
import { TEST_ENCRYPTION_KEY, eventually, isolatedDatabase, isolatedPrefix, type IsolatedDatabase } from '../helpers/webhooks';

// A real Redis Cluster: three `redis-server --cluster-enabled yes` on free ports, joined with
// `redis-cli --cluster create`. Two `keywarden api` processes and a worker reach it through
// REDIS_CLUSTER_NODES: the limits script runs across the cluster (all keys of one check in one
// slot), a revoke on one API is honoured by the other (pub/sub), and a webhook is delivered
// (BullMQ under a hash-tagged prefix).

jest.setTimeout(240_000);

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-cluster-'));
const servers: ChildProcess[] = [];
let ports: number[] = [];
let iso: IsolatedDatabase;
let rx: Receiver;
let master: string;
let fleet: ApiFleet;

async function startCluster(): Promise<number[]> {
  // Cluster bus ports are port + 10000: pick ports whose bus port is free too.
  const picked: number[] = [];
  while (picked.length < 3) {
    const p = await freePort();
    if (p < 55000 && !picked.includes(p)) picked.push(p);
  }
  for (const port of picked) {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir);
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--save', '', '--appendonly', 'no', '--dir', nodeDir], {
      stdio: 'ignore',
    });
    servers.push(child);
  }
  for (const port of picked) await eventually(async () => (await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }))).stdout.trim() === 'PONG', 30_000, `redis ${port} up`);
  await run('redis-cli', ['--cluster', 'create', ...picked.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  for (const port of picked) await eventually(async () => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'), 30_000, `cluster ok at ${port}`);
  return picked;
}

beforeAll(async () => {
  ports = await startCluster();
  iso = await isolatedDatabase('cluster');
  rx = await startReceiver();
  const env = {
    DATABASE_URL: iso.url,
    REDIS_URL: undefined,
    REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(','),
    KEYWARDEN_REDIS_PREFIX: isolatedPrefix('cluster'),
    KEYWARDEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    KEYWARDEN_BOOTSTRAP: 'false',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '1,1,1',
    SCAN_INTERVAL_SECONDS: '2',
  };
  master = (await createAccountWithMasterKey(iso.db, 'cluster')).secret;
  fleet = await startApiFleet({ count: 2, env, master: () => master, worker: true });
});

afterAll(async () => {
  await fleet?.stop();
  await rx?.close();
  await iso?.drop();
  for (const s of servers) s.kill('SIGTERM');
  await Promise.all(servers.map((s) => new Promise((r) => (s.exitCode !== null ? r(null) : s.on('exit', r)))));
  fs.rmSync(dir, { recursive: true, force: true });
});

const gql = (api: number, query: string, variables?: Record<string, unknown>) => fleet.gql(api, query, variables);
const verify = (api: number, body: Record<string, unknown>) => fleet.verify(api, body);

test('the cluster spreads slots over three masters', async () => {
  const { stdout } = await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'nodes']);
  expect(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.includes('master')),
  ).toHaveLength(3);
});

test('a rate limit of N per hour allows exactly N across both API processes', async () => {
  const codes = await rateLimitAcross(fleet);
  expect(codes.filter((c) => c === 'VALID')).toHaveLength(6);
  expect(codes.slice(6).every((c) => c === 'RATE_LIMITED')).toBe(true);
});

test('a revoke on one API process is honoured by the other (invalidation over the cluster)', async () => {
  expect(await revokeAcross(fleet)).toEqual({ before: 'VALID', after: 'REVOKED' });
});

test('a webhook is delivered through BullMQ on the cluster', async () => {
  await gql(0, `mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventTypes: ["key.created"] }) { endpoint { id } } }`, { url: rx.url });
  const before = rx.received.length;
  await gql(1, `mutation { createKey(input: { name: "hooked", type: DEVELOPMENT }) { key { id } } }`);
  await eventually(async () => rx.received.length > before, 60_000, 'a delivery');
  const ok = await eventually(async () => (await iso.db.prisma.webhookDelivery.count({ where: { status: 'SUCCEEDED', event: { type: 'key.created' } } })) >= 1, 30_000, 'a SUCCEEDED delivery');
  expect(ok).toBe(true);
});

test('usage tallies of keys in many slots reach PostgreSQL (batched per node, not one pipeline)', async () => {
  const made: any[] = [];
  for (let i = 0; i < 4; i++) made.push(await gql(0, `mutation($n: String!) { createKey(input: { name: $n, type: DEVELOPMENT }) { secret key { id } } }`, { n: `u-${i}` }));
  for (const [i, k] of made.entries()) expect(await verify(i % 2, { key: k.createKey.secret })).toBe('VALID');
  const rows = await eventually(
    async () => {
      const n = await iso.db.prisma.usageRollup.count({ where: { keyId: { in: made.map((k) => k.createKey.key.id) } } });
      return n === made.length && n;
    },
    60_000,
    'rollups for every key',
  );
  expect(rows).toBe(4);
});

test('seed nodes that do not answer stop start-up with one line naming REDIS_CLUSTER_NODES', async () => {
  const closed = await freePort();
  const r = await runCli(['api'], { DATABASE_URL: iso.url, REDIS_URL: undefined, REDIS_CLUSTER_NODES: `127.0.0.1:${closed}`, PORT: '0', KEYWARDEN_BOOTSTRAP: 'false' });
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(`REDIS_CLUSTER_NODES=127.0.0.1:${closed}`);
});
