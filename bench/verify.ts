import Redis from 'ioredis';
import { Client } from 'pg';
import { freePort, freshDatabase, load, loadGenerator, runMain, startApi, startProcess, type LoadResult } from './lib';

// POST /v1/keys/verify for a cached key with two rate windows and a quota, against a bare
// node:http server answering the same JSON, measured in the same run on this machine.
// Also: Redis commands per verification (INFO commandstats delta) and database transactions
// on the cached path (pg_stat_database delta).

/**
 * Commands the API process itself sends while `work` runs: MONITOR, filtered to the addresses of
 * that process's named connections (commands a Lua script runs inside Redis show as "lua" and are
 * not counted; neither is anything other processes on the same Redis send).
 */
export async function commandsSentBy(redis: Redis, pid: number, work: () => Promise<unknown>): Promise<number> {
  const list = await redis.client('LIST');
  const addrs = new Set(
    String(list)
      .split('\n')
      .filter((l) => new RegExp(`name=keywarden:[a-z]+:${pid}\\b`).test(l))
      .map((l) => /addr=(\S+)/.exec(l)![1]),
  );
  const monitor = await redis.monitor();
  let count = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string) => {
    if (addrs.has(source)) count++;
  });
  await work();
  await new Promise((r) => setTimeout(r, 1500)); // a usage flush (once a second) lands in the count too
  monitor.disconnect();
  return count;
}

/** wrk reports fractions of a millisecond, autocannon whole ones. */
const ms = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

async function transactions(dbUrl: string): Promise<number> {
  const c = new Client({ connectionString: dbUrl });
  await c.connect();
  const name = new URL(dbUrl).pathname.slice(1);
  await new Promise((r) => setTimeout(r, 1200)); // let backends flush their statistics
  const r = await c.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [name]);
  await c.end();
  return Number(r.rows[0].n);
}

export async function benchVerify(opts: { duration: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const api = await startApi(db.url, 'verify');
  const apiPort = api.port;
  const barePort = await freePort();
  const bare = await startProcess(['bench/bare-server.js'], { PORT: String(barePort) }, /listening/);
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const created = await api.gql(
      `mutation { createKey(input: { name: "bench", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }], quota: { units: 2000000000, period: MONTH } }) { secret } }`,
    );
    const secret = created.createKey.secret;
    const body = JSON.stringify({ key: secret, permission: 'READ_ONLY' });
    const verifyUrl = `http://127.0.0.1:${apiPort}/v1/keys/verify`;
    const bareUrl = `http://127.0.0.1:${barePort}/`;
    // Warm both (JIT, caches, connections).
    await load({ url: verifyUrl, body, duration: 2 });
    await load({ url: bareUrl, body, duration: 2 });

    const bareMax = await load({ url: bareUrl, body, duration: opts.duration });
    const verifyMax = await load({ url: verifyUrl, body, duration: opts.duration });
    const half = Math.max(100, Math.floor(verifyMax.rps / 2));
    // Latency at half load with a few connections, as agent services would hold them.
    const verifyHalf = await load({ url: verifyUrl, body, duration: opts.duration, overallRate: half, connections: 8 });
    const bareHalf = await load({ url: bareUrl, body, duration: opts.duration, overallRate: half, connections: 8 });

    const n = 2000;
    const txBefore = await transactions(db.url);
    let counted!: LoadResult;
    const sent = await commandsSentBy(redis, api.pid, async () => {
      counted = await load({ url: verifyUrl, body, amount: n, connections: 8 });
    });
    const txAfter = await transactions(db.url);
    const fail = (r: LoadResult) => r.errors + r.non2xx;
    const rows: (string | number)[][] = [
      ['measure', 'bare node:http', 'POST /v1/keys/verify', 'ratio'],
      [`requests/s (32 connections, ${loadGenerator()})`, bareMax.rps.toFixed(0), verifyMax.rps.toFixed(0), (verifyMax.rps / bareMax.rps).toFixed(2)],
      ['p50 ms at max load', ms(bareMax.p50), ms(verifyMax.p50), ''],
      ['p99 ms at max load', ms(bareMax.p99), ms(verifyMax.p99), ''],
      [`p50 / p99 ms at ${half} req/s (half the verify max, 8 connections, autocannon)`, `${bareHalf.p50} / ${bareHalf.p99}`, `${verifyHalf.p50} / ${verifyHalf.p99}`, ''],
      ['errors + non-2xx', fail(bareMax) + fail(bareHalf), fail(verifyMax) + fail(verifyHalf) + fail(counted), ''],
      ['Redis commands sent per verification (incl. usage flushes)', '', (sent / counted.requests).toFixed(3), ''],
      ['database transactions per cached verification', '', ((txAfter - txBefore) / counted.requests).toFixed(3), ''],
    ];
    return {
      rows,
      summary: { ratio: verifyMax.rps / bareMax.rps, p99Half: verifyHalf.p99, redisPerVerify: sent / counted.requests, dbPerVerify: (txAfter - txBefore) / counted.requests },
    };
  } finally {
    redis.disconnect();
    await api.stop();
    await bare.stop();
    await db.drop();
  }
}

if (require.main === module) runMain('Verify', () => benchVerify({ duration: Number(process.env.BENCH_DURATION ?? 10) }));
