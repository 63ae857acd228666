import crypto from 'node:crypto';
import path from 'node:path';
import { openDatabase } from '../src/infra/db';
import { createAccountWithMasterKey } from '../src/keys/bootstrap';
import { configureWebhooks } from '../src/webhooks/runtime';
import { createWebhookEndpoint } from '../src/webhooks/endpoints';
import { emitEvent, emitOnce } from '../src/events/outbox';
import { postWebhook } from '../src/webhooks/post';
import { signWebhook } from '../src/webhooks/signing';
import { KEYWARDEN_NODE_ARGS, ROOT, benchPrefix, cpuSecondsOf, dropRedisPrefix, freePort, freshDatabase, startProcess, runMain } from './lib';

// Webhook delivery: deliveries per second from a `keywarden worker` process (outbox -> relay ->
// BullMQ -> sign -> POST -> record) against a bare loop of the same signed POSTs at the same
// concurrency, measured in the same run; and event-to-receipt latency with an idle queue.

const CONCURRENCY = 50;
const ENDPOINTS = 5;
/** Deliveries queued for the hanging endpoint in the last row. */
const HANGING_BACKLOG = Number(process.env.BENCH_HANGING_BACKLOG ?? 2000);

async function stats(url: string, path = '/stats'): Promise<number> {
  return ((await (await fetch(`${url}${path}`)).json()) as { count: number }).count;
}

async function waitForCount(url: string, target: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while ((await stats(url)) < target) {
    if (Date.now() - started > timeoutMs) throw new Error(`only ${await stats(url)} of ${target} deliveries arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function benchWebhooks(opts: { deliveries?: number; latencySamples?: number } = {}) {
  const total = opts.deliveries ?? 5000;
  const samples = opts.latencySamples ?? 200;
  const encryptionKey = crypto.randomBytes(32);
  configureWebhooks({ encryptionKey, allowPrivateNetworks: true });
  const fresh = await freshDatabase();
  const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '/nonexistent' });
  const port = await freePort();
  const receiver = await startProcess([path.join(ROOT, 'bench', 'webhook-receiver.js')], { PORT: String(port) }, /listening/);
  const rx = `http://127.0.0.1:${port}`;
  const prefix = benchPrefix('webhooks');
  let worker: Awaited<ReturnType<typeof startProcess>> | undefined;
  try {
    const acct = await createAccountWithMasterKey(db, 'bench');
    const actor = { accountId: acct.accountId, keyId: acct.keyId, master: true, effectivePermission: 'FULL_ACCESS' as const, ip: null };
    const endpoints: Awaited<ReturnType<typeof createWebhookEndpoint>>[] = [];
    for (let i = 0; i < ENDPOINTS; i++) endpoints.push(await createWebhookEndpoint(db, actor, { url: `${rx}/e${i}`, eventTypes: ['key.updated'] }));
    await createWebhookEndpoint(db, actor, { url: `${rx}/latency`, eventTypes: ['key.leaked'] });
    const data = { key: { id: crypto.randomUUID(), name: 'bench', status: 'ACTIVE', permission: 'EXECUTE', rateLimits: [{ window: 'MINUTE', limit: 6000 }] } };

    // Baseline: the same signed POSTs, CONCURRENCY at a time, nothing else.
    const body = JSON.stringify({ type: 'key.updated', timestamp: new Date().toISOString(), data });
    let next = 0;
    const bareCpu = process.cpuUsage();
    const bareStarted = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < total) {
          const i = next++;
          const ep = endpoints[i % ENDPOINTS];
          const headers = signWebhook([ep.secret], crypto.randomUUID(), new Date(), body);
          const r = await postWebhook({ url: ep.endpoint.url, headers: { ...headers }, body, timeoutMs: 15_000, policy: { allowPrivateNetworks: true } });
          if (r.statusCode !== 204) throw new Error(`bare loop got ${r.statusCode ?? r.error}`);
        }
      }),
    );
    const bareRate = total / ((performance.now() - bareStarted) / 1000);
    const { user, system } = process.cpuUsage(bareCpu);
    const bareCpuPerDelivery = (user + system) / total;
    await fetch(`${rx}/reset`);

    worker = await startProcess(
      // e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the worker.
      [...KEYWARDEN_NODE_ARGS, ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), path.join(ROOT, 'bin', 'keywarden.js'), 'worker'],
      {
        DATABASE_URL: fresh.url,
        KEYWARDEN_REDIS_PREFIX: prefix,
        KEYWARDEN_ENCRYPTION_KEY: encryptionKey.toString('base64'),
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_CONCURRENCY: String(CONCURRENCY),
        SCAN_INTERVAL_SECONDS: '3600',
        // The hanging endpoint's attempts hang for the whole last row.
        WEBHOOK_TIMEOUT_MS: '120000',
        LOG_LEVEL: 'info',
      },
      /workers started/,
    );

    // Idle queue: one event at a time, from commit to the receiver's clock. The first events after
    // start pay for cold code paths (first queries, first connection to the endpoint): reported
    // on their own row, not mixed into the steady-state percentiles.
    await fetch(`${rx}/trace/on`);
    const oneEvent = async (n: number): Promise<number> => {
      const id = await db.prisma.$transaction(async (tx) => {
        await emitEvent(tx, { accountId: acct.accountId, type: 'key.leaked', data: { n } });
        return (await tx.outboxEvent.findFirstOrThrow({ where: { accountId: acct.accountId, type: 'key.leaked' }, orderBy: { createdAt: 'desc' }, select: { id: true } })).id;
      });
      const committed = Date.now();
      const sample = new RegExp(`R ${id} (\\d+)`);
      let line = receiver.output().match(sample);
      while (!line) {
        // The first events after start can take seconds on a loaded machine (cold code, first connections).
        if (Date.now() - committed > 30_000) throw new Error(`latency sample never arrived; the worker's last output:\n${worker?.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 1));
        line = receiver.output().match(sample);
      }
      return Number(line[1]) - committed;
    };
    const cold = [await oneEvent(-1), await oneEvent(-2), await oneEvent(-3)];
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) latencies.push(await oneEvent(i));
    latencies.sort((a, b) => a - b);
    await fetch(`${rx}/reset`);

    // Throughput: total deliveries (total / ENDPOINTS events, each to every endpoint), committed at once.
    const events = Array.from({ length: total / ENDPOINTS }, (_, i) => ({ accountId: acct.accountId, type: 'key.updated' as const, data: { ...data, n: i } }));
    const workerCpu = cpuSecondsOf(worker.child.pid);
    const started = performance.now();
    for (let i = 0; i < events.length; i += 500) await emitOnce(db.prisma, events.slice(i, i + 500));
    await waitForCount(rx, total, 300_000);
    const rate = total / ((performance.now() - started) / 1000);
    const workerCpuAfter = cpuSecondsOf(worker.child.pid);
    // The worker process's own CPU per delivery (relay included; PostgreSQL's and Redis's not)
    // against the bare loop's: steadier than the rates when other work shares the machine.
    const workerCpuPerDelivery = workerCpu === null || workerCpuAfter === null ? null : ((workerCpuAfter - workerCpu) * 1e6) / total;

    // A hanging endpoint with a backlog: the other endpoints' event-to-receipt latency while it
    // holds its share of the slots and the rest of its deliveries wait parked behind it.
    await createWebhookEndpoint(db, actor, { url: `${rx}/hang`, eventTypes: ['key.revoked'] });
    const hanging = Array.from({ length: HANGING_BACKLOG }, (_, i) => ({ accountId: acct.accountId, type: 'key.revoked' as const, data: { n: i } }));
    for (let i = 0; i < hanging.length; i += 500) await emitOnce(db.prisma, hanging.slice(i, i + 500));
    await new Promise((r) => setTimeout(r, 2000));
    const busy: number[] = [];
    for (let i = 0; i < samples / 4; i++) busy.push(await oneEvent(10_000 + i));
    busy.sort((a, b) => a - b);

    return {
      rows: [
        ['measure', 'keywarden worker', 'bare signed POST loop', 'ratio'],
        [`deliveries/s (${total}, concurrency ${CONCURRENCY})`, Math.round(rate), Math.round(bareRate), `${Math.round((rate / bareRate) * 100)}%`],
        [
          'CPU µs per delivery (its own process)',
          workerCpuPerDelivery === null ? 'n/a' : Math.round(workerCpuPerDelivery),
          Math.round(bareCpuPerDelivery),
          workerCpuPerDelivery === null ? '' : `${Math.round((bareCpuPerDelivery / workerCpuPerDelivery) * 100)}%`,
        ],
        [`event-to-receipt, idle queue (${samples} events)`, `p50 ${latencies[Math.floor(samples / 2)]} ms, p99 ${latencies[Math.floor(samples * 0.99)]} ms`, '', ''],
        [
          `event-to-receipt beside a hanging endpoint with ${HANGING_BACKLOG} deliveries (${busy.length} events)`,
          `p50 ${busy[Math.floor(busy.length / 2)]} ms, p99 ${busy[Math.floor(busy.length * 0.99)]} ms`,
          `idle p50 ${latencies[Math.floor(samples / 2)]} ms`,
          `${Math.round((busy[Math.floor(busy.length / 2)] / Math.max(1, latencies[Math.floor(samples / 2)])) * 100)}%`,
        ],
        ['event-to-receipt, first 3 events after start', cold.map((ms) => `${ms} ms`).join(', '), '', ''],
      ],
    };
  } finally {
    await worker?.stop();
    await dropRedisPrefix(prefix);
    await receiver.stop();
    await db.close();
    await fresh.drop();
  }
}

if (require.main === module) runMain('Webhooks', () => benchWebhooks({ deliveries: Number(process.env.BENCH_DELIVERIES ?? 5000) }));
