import { benchPrefix, cpuSecondsOf, dropRedisPrefix, freePort, freshDatabase, load, percentiles, runMain, sequentialLatency, startApi, startProcess } from './lib';

// The gateway's own cost: the same POST to an upstream (a bare node:http server) directly, through
// two bare proxies (bench/bare-proxy.js: the least any separate gateway process can cost, without
// and with the one Redis round trip that limits shared between instances need), and through
// /v1/agents/:id/* with a key without limits and with two rate windows. Sequential latencies are
// taken in interleaved rounds, so a change in the machine's load hits every column alike.

const ROUNDS = 4;
const PER_ROUND = 750;

interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** The process doing the proxying, for its CPU time. */
  pid?: number;
  samples: number[];
  cpuSeconds: number;
}

export async function benchGateway(opts: { duration: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const upstreamPort = await freePort();
  const upstream = await startProcess(['bench/bare-server.js'], { PORT: String(upstreamPort) }, /listening/);
  const origin = `http://127.0.0.1:${upstreamPort}`;
  const bareProxyPrefix = benchPrefix('gateway-bare');
  const [barePort, bareRedisPort] = [await freePort(), await freePort()];
  const bare = await startProcess(['bench/bare-proxy.js'], { PORT: String(barePort), UPSTREAM: origin }, /listening/);
  const bareRedis = await startProcess(['bench/bare-proxy.js'], { PORT: String(bareRedisPort), UPSTREAM: origin, BARE_PROXY_REDIS: '1', BARE_PROXY_PREFIX: bareProxyPrefix }, /listening/);
  const api = await startApi(db.url, 'gateway');
  try {
    const agent = await api.gql(`mutation { createAgent(input: { name: "bench", upstreamUrl: "${origin}" }) { id } }`);
    const agentId = agent.createAgent.id;
    const limited = await api.gql(`mutation { createKey(input: { name: "gw", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }] }) { secret } }`);
    const unlimited = await api.gql(`mutation { createKey(input: { name: "gw-unlimited", type: PRODUCTION, rateLimits: [] }) { secret } }`);
    const viaGateway = `http://127.0.0.1:${api.port}/v1/agents/${agentId}/hello`;
    const target = (name: string, url: string, pid?: number, secret?: string): Target => ({
      name,
      url,
      pid,
      headers: secret ? { authorization: `Bearer ${secret}` } : undefined,
      samples: [],
      cpuSeconds: 0,
    });
    const direct = target('direct to upstream', `${origin}/hello`, upstream.child.pid);
    const targets = [
      direct,
      target('bare proxy', `http://127.0.0.1:${barePort}/hello`, bare.child.pid),
      target('bare proxy + 1 Redis round trip', `http://127.0.0.1:${bareRedisPort}/hello`, bareRedis.child.pid),
      target('gateway, key without limits', viaGateway, api.pid, unlimited.createKey.secret),
      target('gateway, two rate windows', viaGateway, api.pid, limited.createKey.secret),
    ];
    // The bare server parses a JSON body: send one on every path.
    const body = '{}';
    for (const t of targets) await sequentialLatency({ url: t.url, method: 'POST', body, headers: t.headers, count: 500 });
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const cpuBefore = cpuSecondsOf(t.pid) ?? 0;
        t.samples.push(...(await sequentialLatency({ url: t.url, method: 'POST', body, headers: t.headers, count: PER_ROUND })).samples);
        t.cpuSeconds += (cpuSecondsOf(t.pid) ?? 0) - cpuBefore;
      }
    }
    const lat = targets.map((t) => percentiles(t.samples));
    const [d, bareLat, bareRedisLat, gUnlimited, gLimited] = lat;
    // The floor under the limited gateway: the same key's verification alone (one Redis round
    // trip, no upstream), as sequential calls to POST /v1/keys/verify.
    const verifyUrl = `http://127.0.0.1:${api.port}/v1/keys/verify`;
    const verifyBody = JSON.stringify({ key: limited.createKey.secret, permission: 'EXECUTE', agentId });
    await sequentialLatency({ url: verifyUrl, method: 'POST', body: verifyBody, count: 500 });
    const v = await sequentialLatency({ url: verifyUrl, method: 'POST', body: verifyBody, count: 3000 });
    const loaded = [targets[0], targets[2], targets[4]];
    const loads = new Map<Target, Awaited<ReturnType<typeof load>>>();
    for (const t of loaded) loads.set(t, await load({ url: t.url, body, headers: t.headers, duration: opts.duration, connections: 16 }));
    const perTarget = (f: (t: Target, i: number) => string | number) => targets.map((t, i) => f(t, i));
    const rows: (string | number)[][] = [
      ['measure', ...targets.map((t) => t.name)],
      ['p50 µs, one connection, sequential', ...perTarget((_, i) => lat[i].p50.toFixed(0))],
      ['p50 ratio to the direct call (gateway target: at most 2)', ...perTarget((_, i) => (lat[i].p50 / d.p50).toFixed(2))],
      ['p50 ratio to the bare proxy doing the same round trips', '', '', '', (gUnlimited.p50 / bareLat.p50).toFixed(2), (gLimited.p50 / bareRedisLat.p50).toFixed(2)],
      ['p99 µs, one connection, sequential', ...perTarget((_, i) => lat[i].p99.toFixed(0))],
      ['CPU µs per request of the process answering the client', ...perTarget((t) => ((t.cpuSeconds * 1e6) / (ROUNDS * PER_ROUND)).toFixed(0))],
      ['p50 µs of POST /v1/keys/verify alone, same key (the limits round trip, no upstream)', '', '', '', '', v.p50.toFixed(0)],
      ['requests/s (16 connections)', ...perTarget((t) => loads.get(t)?.rps.toFixed(0) ?? '')],
      ['errors + non-2xx', ...perTarget((t) => (loads.has(t) ? loads.get(t)!.errors + loads.get(t)!.non2xx : ''))],
    ];
    return { rows, summary: { p50Ratio: gLimited.p50 / d.p50, bareRedisRatio: bareRedisLat.p50 / d.p50 } };
  } finally {
    await api.stop();
    await bare.stop();
    await bareRedis.stop();
    await upstream.stop();
    await dropRedisPrefix(bareProxyPrefix);
    await db.drop();
  }
}

if (require.main === module) runMain('Gateway', () => benchGateway({ duration: Number(process.env.BENCH_DURATION ?? 10) }));
