import Redis from 'ioredis';
import { startOwnRedis } from '../test/helpers/servers';
import { freshDatabase, load, loadGenerator, runMain, startApi, type LoadResult } from './lib';
import { commandsSentBy } from './verify';

// What one verification costs Redis, on a redis-server of the bench's own (a fresh one on a
// free port: nothing else talks to it, so its figures are this API process's alone), for two
// cached keys of one API process:
// - key only: two rate windows and a quota (the verify suite's key);
// - with an identity: the same key's limits, plus an identity with a shared rate window, plus credits.
// Per case: the limits script's usec per call (INFO commandstats, evalsha), the redis-server
// process's CPU per verification (INFO cpu), the commands the script runs inside Redis and the
// commands the API sends per verification (MONITOR), and requests/s of both cases in alternating
// rounds of the same run.

const KEY_LIMITS = `type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }], quota: { units: 2000000000, period: MONTH }`;

interface RedisCost {
  /** usec per call of the limits script (evalsha). */
  scriptUsec: number;
  scriptCallsPerVerify: number;
  /** redis-server user + system CPU per verification, usec. */
  cpuUsecPerVerify: number;
  /** Commands run inside Redis per verification, by name (those at 0.5 or more). */
  inner: string;
}

/** INFO commandstats as name -> { calls, usec }. */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m) stats.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

async function cpuUsec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** Redis's side of `n` verifications of one key: stats reset before, read after. */
async function redisCost(redis: Redis, url: string, body: string, n: number): Promise<RedisCost> {
  await redis.config('RESETSTAT');
  const cpuBefore = await cpuUsec(redis);
  const r = await load({ url, body, amount: n, connections: 8 });
  const cpu = (await cpuUsec(redis)) - cpuBefore;
  const stats = await commandStats(redis);
  const script = stats.get('evalsha') ?? { calls: 0, usec: 0 };
  const outer = new Set(['evalsha', 'eval', 'info', 'config', 'client', 'monitor', 'ping', 'select']);
  const inner = [...stats]
    .filter(([name, s]) => !outer.has(name) && s.calls / r.requests >= 0.5)
    .map(([name, s]) => `${name} ${(s.calls / r.requests).toFixed(2)}`)
    .join(', ');
  return { scriptUsec: script.usec / Math.max(1, script.calls), scriptCallsPerVerify: script.calls / r.requests, cpuUsecPerVerify: cpu / r.requests, inner };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchLimitsRedis(opts: { duration: number; verifications: number; rounds?: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const own = await startOwnRedis();
  const api = await startApi(db.url, 'redis', { REDIS_URL: own.url });
  const redis = new Redis(own.url);
  try {
    const keySecret = (await api.gql(`mutation { createKey(input: { name: "bench-key", ${KEY_LIMITS} }) { secret } }`)).createKey.secret;
    const identity = (await api.gql(`mutation { createIdentity(input: { externalId: "bench-customer", rateLimits: [{ window: MINUTE, limit: 100000000 }] }) { id } }`)).createIdentity;
    const identitySecret = (await api.gql(`mutation { createKey(input: { name: "bench-identity", ${KEY_LIMITS}, identityId: "${identity.id}", credits: { remaining: 2000000000 } }) { secret } }`)).createKey.secret;
    const url = `http://127.0.0.1:${api.port}/v1/keys/verify`;
    const bodies = { key: JSON.stringify({ key: keySecret, permission: 'READ_ONLY' }), identity: JSON.stringify({ key: identitySecret, permission: 'READ_ONLY' }) };
    for (const body of Object.values(bodies)) await load({ url, body, duration: 2 });

    // Alternating rounds, so both cases see the same moments of a shared machine.
    const rps = { key: [] as number[], identity: [] as number[] };
    const failures: LoadResult[] = [];
    for (let round = 0; round < (opts.rounds ?? 3); round++) {
      for (const which of ['key', 'identity'] as const) {
        const r = await load({ url, body: bodies[which], duration: opts.duration });
        rps[which].push(r.rps);
        failures.push(r);
      }
    }
    const cost = { key: await redisCost(redis, url, bodies.key, opts.verifications), identity: await redisCost(redis, url, bodies.identity, opts.verifications) };
    const sent = async (body: string) => {
      let counted!: LoadResult;
      const n = await commandsSentBy(redis, api.pid, async () => {
        counted = await load({ url, body, amount: 2000, connections: 8 });
      });
      failures.push(counted);
      return n / counted.requests;
    };
    const sentPer = { key: await sent(bodies.key), identity: await sent(bodies.identity) };
    const ratios = rps.identity.map((r, i) => r / rps.key[i]);
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
    const rows: (string | number)[][] = [
      ['measure', 'key: two rate windows + quota', 'key with identity (shared window) + credits'],
      ['limits script usec per call (INFO commandstats, evalsha)', cost.key.scriptUsec.toFixed(2), cost.identity.scriptUsec.toFixed(2)],
      ['limits script calls per verification', cost.key.scriptCallsPerVerify.toFixed(3), cost.identity.scriptCallsPerVerify.toFixed(3)],
      ['redis-server CPU usec per verification (INFO cpu)', cost.key.cpuUsecPerVerify.toFixed(2), cost.identity.cpuUsecPerVerify.toFixed(2)],
      ['commands run inside Redis per verification', cost.key.inner, cost.identity.inner],
      ['Redis commands sent per verification (incl. usage flushes)', sentPer.key.toFixed(3), sentPer.identity.toFixed(3)],
      [`requests/s, 32 connections, ${loadGenerator()} (median, range of ${rps.key.length} rounds)`, `${median(rps.key).toFixed(0)} (${range(rps.key)})`, `${median(rps.identity).toFixed(0)} (${range(rps.identity)})`],
      ['ratio to key only, same round (median, range; target: at least 0.90)', '1.00', `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`],
      ['errors + non-2xx (all runs)', failures.reduce((n, r) => n + r.errors + r.non2xx, 0), ''],
    ];
    return { rows, summary: { keyScriptUsec: cost.key.scriptUsec, identityScriptUsec: cost.identity.scriptUsec, identityRatio: median(ratios), identitySent: sentPer.identity } };
  } finally {
    redis.disconnect();
    await api.stop();
    await own.stop();
    await db.drop();
  }
}

if (require.main === module) {
  runMain('Limits in Redis', () => benchLimitsRedis({ duration: Number(process.env.BENCH_DURATION ?? 3), verifications: Number(process.env.BENCH_REDIS_VERIFICATIONS ?? 10_000) }));
}
