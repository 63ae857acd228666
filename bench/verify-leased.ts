import Redis from 'ioredis';
import { freePort, freshDatabase, load, loadGenerator, runMain, startApi, startProcess, type LoadResult } from './lib';
import { commandsSentBy } from './verify';

// RATE_LIMIT_MODE=leased against exact mode and a bare node:http server, same run: one API
// process per mode on one database, the same key (two rate windows, no quota: a quota keeps
// the exact round trip in either mode), requests/s at 32 connections and Redis commands per
// verification.

const KEY = `mutation { createKey(input: { name: "bench-leased", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }] }) { secret } }`;

export async function benchVerifyLeased(opts: { duration: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const exact = await startApi(db.url, 'exact');
  const leased = await startApi(db.url, 'leased', { RATE_LIMIT_MODE: 'leased' });
  const barePort = await freePort();
  const bare = await startProcess(['bench/bare-server.js'], { PORT: String(barePort) }, /listening/);
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    const secret = (await exact.gql(KEY)).createKey.secret;
    const body = JSON.stringify({ key: secret, permission: 'READ_ONLY' });
    const urls = { bare: `http://127.0.0.1:${barePort}/`, exact: `http://127.0.0.1:${exact.port}/v1/keys/verify`, leased: `http://127.0.0.1:${leased.port}/v1/keys/verify` };
    for (const url of Object.values(urls)) await load({ url, body, duration: 2 });
    const bareMax = await load({ url: urls.bare, body, duration: opts.duration });
    const exactMax = await load({ url: urls.exact, body, duration: opts.duration });
    const leasedMax = await load({ url: urls.leased, body, duration: opts.duration });
    const perVerify = async (url: string, pid: number) => {
      let counted!: LoadResult;
      const sent = await commandsSentBy(redis, pid, async () => {
        counted = await load({ url, body, amount: 5000, connections: 8 });
      });
      return sent / counted.requests;
    };
    const exactCmds = await perVerify(urls.exact, exact.pid);
    const leasedCmds = await perVerify(urls.leased, leased.pid);
    const fail = (r: LoadResult) => r.errors + r.non2xx;
    const rows: (string | number)[][] = [
      ['measure', 'bare node:http', 'exact', 'leased'],
      [`requests/s (32 connections, ${loadGenerator()})`, bareMax.rps.toFixed(0), exactMax.rps.toFixed(0), leasedMax.rps.toFixed(0)],
      ['ratio to bare (leased target: at least 0.65)', '1.00', (exactMax.rps / bareMax.rps).toFixed(2), (leasedMax.rps / bareMax.rps).toFixed(2)],
      ['p99 ms at max load', bareMax.p99, exactMax.p99, leasedMax.p99],
      ['Redis commands sent per verification (incl. usage flushes; leased target: under 0.05 for the limits)', '', exactCmds.toFixed(3), leasedCmds.toFixed(3)],
      ['errors + non-2xx', fail(bareMax), fail(exactMax), fail(leasedMax)],
    ];
    return { rows, summary: { exactRatio: exactMax.rps / bareMax.rps, leasedRatio: leasedMax.rps / bareMax.rps, leasedCmds } };
  } finally {
    redis.disconnect();
    await leased.stop();
    await exact.stop();
    await bare.stop();
    await db.drop();
  }
}

if (require.main === module) runMain('Verify leased', () => benchVerifyLeased({ duration: Number(process.env.BENCH_DURATION ?? 10) }));
