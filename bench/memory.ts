import fs from 'node:fs';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { digestSecret, generateSecret, startOf } from '../src/keys/secret';
import { KEYWARDEN_NODE_ARGS, benchPrefix, dropRedisPrefix, freePort, freshDatabase, startProcess, table, runMain } from './lib';

// Resident memory of one API process across many verifications of many distinct keys: the key
// cache is bounded (LRU), so memory must level off rather than grow with the traffic.

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** The heap size (MiB) each Mark-Compact left, from --trace-gc lines such as "Mark-Compact 830.8 (891.3) -> 175.3 (434.9) MB". */
export function liveHeapAfterFullGcs(output: string): number[] {
  return [...output.matchAll(/Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+) \(/g)].map((m) => Math.round(Number(m[1])));
}

export async function benchMemory(opts: { verifications: number; keys: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const port = await freePort();
  const prefix = benchPrefix('mem');
  // --trace-gc: each full collection prints the heap it left, which is what is live.
  const api = await startProcess([...KEYWARDEN_NODE_ARGS, '--trace-gc', 'bin/keywarden.js', 'api'], { DATABASE_URL: db.url, PORT: String(port), KEYWARDEN_REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }, /Keywarden API listening/);
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
    const startRss = rssMiB(pid);
    const outputBeforeLoad = api.output().length;
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
    // plentiful): the live heap after each full collection shows what the process keeps.
    const live = liveHeapAfterFullGcs(api.output().slice(outputBeforeLoad));
    const half = samples.length ? samples[Math.floor(samples.length / 2)] : endRss;
    const rows: (string | number)[][] = [
      ['measure', 'value'],
      [`verifications of ${opts.keys} distinct keys`, result.requests.total],
      ['errors + non-2xx', result.errors + result.non2xx],
      ['RSS before load (MiB)', startRss.toFixed(0)],
      ['RSS half-way (MiB)', half.toFixed(0)],
      ['RSS at the end (MiB)', endRss.toFixed(0)],
      ['peak RSS (MiB)', peak.toFixed(0)],
      ['live JS heap after each full GC under load (MiB): smallest, largest, last', live.length ? `${Math.min(...live)}, ${Math.max(...live)}, ${live[live.length - 1]} (${live.length} collections)` : 'no full GC'],
    ];
    return { rows, summary: { endRss, peak, half } };
  } finally {
    await api.stop();
    await dropRedisPrefix(prefix);
    await db.drop();
  }
}

if (require.main === module) runMain('Memory', () => benchMemory({ verifications: Number(process.env.BENCH_MEMORY_VERIFICATIONS ?? 1_000_000), keys: Number(process.env.BENCH_MEMORY_KEYS ?? 10_000) }));
