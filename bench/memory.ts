import fs from 'node:fs';
import autocannon from 'autocannon';
import { WebSocket } from 'undici';
import { Client } from 'pg';
import { digestSecret, generateSecret, startOf } from '../src/keys/secret';
import { KEYWARDEN_NODE_ARGS, benchPrefix, dropRedisPrefix, freePort, freshDatabase, startProcess, runMain } from './lib';

// Resident memory of one API process across many verifications of many distinct keys: the key
// cache is bounded (LRU), so memory must level off rather than grow with the traffic.

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** A full garbage collection in the process whose inspector listens on `port` (DevTools protocol over a WebSocket). */
async function collectGarbage(port: number): Promise<void> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  try {
    await new Promise((resolve, reject) => {
      ws.onerror = reject;
      ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
      ws.onmessage = (m) => {
        if (JSON.parse(String(m.data)).id === 1) resolve(undefined);
      };
    });
  } finally {
    ws.close();
  }
}

/** The process's JS heap in use, from its /metrics (answered to loopback clients). */
async function heapUsedMiB(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^keywarden_nodejs_heap_size_used_bytes (\d+)/m.exec(metrics)![1]) / 2 ** 20;
}

export async function benchMemory(opts: { verifications: number; keys: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const port = await freePort();
  const prefix = benchPrefix('mem');
  // The inspector (loopback, a free port) lets the benchmark force a full collection at the end.
  const inspectPort = await freePort();
  const api = await startProcess(
    [...KEYWARDEN_NODE_ARGS, `--inspect=127.0.0.1:${inspectPort}`, 'bin/keywarden.js', 'api'],
    { DATABASE_URL: db.url, PORT: String(port), KEYWARDEN_REDIS_PREFIX: prefix, LOG_LEVEL: 'info' },
    /Keywarden API listening/,
  );
  const pid = api.child.pid!;
  try {
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const account = (await pg.query('SELECT id FROM "Account" LIMIT 1')).rows[0].id;
    const secrets: string[] = [];
    for (let batch = 0; batch < opts.keys; batch += 1000) {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let i = batch; i < Math.min(opts.keys, batch + 1000); i++) {
        const s = generateSecret('prod');
        secrets.push(s);
        const o = values.length;
        tuples.push(`(gen_random_uuid(), $${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, 'PRODUCTION', 'EXECUTE', now(), '[{"window":"MINUTE","limit":100000},{"window":"HOUR","limit":1000000}]')`);
        values.push(account, `k${i}`, digestSecret(s), startOf(s));
      }
      await pg.query(`INSERT INTO "ApiKey" (id, "accountId", name, digest, start, type, permission, "updatedAt", "rateLimits") VALUES ${tuples.join(',')}`, values);
    }
    await pg.end();
    await collectGarbage(inspectPort);
    const retainedBeforeMiB = await heapUsedMiB(port);
    const startRss = rssMiB(pid);
    let i = 0;
    let peak = startRss;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const r = rssMiB(pid);
      peak = Math.max(peak, r);
      samples.push(r);
    }, 1000);
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/v1/keys/verify`,
      connections: 32,
      amount: opts.verifications,
      requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ key: secrets[i++ % secrets.length] }) }) }],
    });
    clearInterval(sampler);
    const endRss = rssMiB(pid);
    // RSS also holds garbage V8 has not collected yet (it grows its heap lazily when memory is
    // plentiful, and collections under load still count what died while they marked): what the
    // process keeps is the heap left after a full collection once the load has stopped.
    await collectGarbage(inspectPort);
    const retainedMiB = await heapUsedMiB(port);
    const half = samples.length ? samples[Math.floor(samples.length / 2)] : endRss;
    const rows: (string | number)[][] = [
      ['measure', 'value'],
      [`verifications of ${opts.keys} distinct keys`, result.requests.total],
      ['errors + non-2xx', result.errors + result.non2xx],
      ['RSS before load (MiB)', startRss.toFixed(0)],
      ['RSS half-way (MiB)', half.toFixed(0)],
      ['RSS at the end (MiB)', endRss.toFixed(0)],
      ['peak RSS (MiB)', peak.toFixed(0)],
      ['JS heap retained (used after a forced full GC), before / after the load (MiB)', `${retainedBeforeMiB.toFixed(0)} / ${retainedMiB.toFixed(0)}`],
    ];
    return { rows, summary: { endRss, peak, half } };
  } finally {
    await api.stop();
    await dropRedisPrefix(prefix);
    await db.drop();
  }
}

if (require.main === module) runMain('Memory', () => benchMemory({ verifications: Number(process.env.BENCH_MEMORY_VERIFICATIONS ?? 1_000_000), keys: Number(process.env.BENCH_MEMORY_KEYS ?? 10_000) }));
