import { freePort, freshDatabase, load, runMain, sequentialLatency, startApi, startProcess } from './lib';

// The gateway's own cost: the same GET to an upstream (a bare node:http server) directly and
// through /v1/agents/:id/*, with a key that has two rate windows; latency measured in the same run.

export async function benchGateway(opts: { duration: number }): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const db = await freshDatabase();
  const upstreamPort = await freePort();
  const upstream = await startProcess(['bench/bare-server.js'], { PORT: String(upstreamPort) }, /listening/);
  const api = await startApi(db.url, 'gateway');
  const apiPort = api.port;
  try {
    const agent = await api.gql(`mutation { createAgent(input: { name: "bench", upstreamUrl: "http://127.0.0.1:${upstreamPort}" }) { id } }`);
    const agentId = agent.createAgent.id;
    const key = await api.gql(`mutation { createKey(input: { name: "gw", type: PRODUCTION, rateLimits: [{ window: MINUTE, limit: 100000000 }, { window: HOUR, limit: 1000000000 }] }) { secret } }`);
    const auth = { authorization: `Bearer ${key.createKey.secret}` };
    const direct = `http://127.0.0.1:${upstreamPort}/hello`;
    const viaGateway = `http://127.0.0.1:${apiPort}/v1/agents/${agentId}/hello`;
    // The bare server parses a JSON body: send one on both paths.
    const body = '{}';
    await sequentialLatency({ url: direct, method: 'POST', body, count: 500 });
    await sequentialLatency({ url: viaGateway, method: 'POST', body, headers: auth, count: 500 });
    const d = await sequentialLatency({ url: direct, method: 'POST', body, count: 3000 });
    const g = await sequentialLatency({ url: viaGateway, method: 'POST', body, headers: auth, count: 3000 });
    // The floor under the gateway: the same key's verification alone (one Redis round trip, no
    // upstream), as sequential calls to POST /v1/keys/verify.
    const verifyUrl = `http://127.0.0.1:${apiPort}/v1/keys/verify`;
    const verifyBody = JSON.stringify({ key: key.createKey.secret, permission: 'EXECUTE', agentId });
    await sequentialLatency({ url: verifyUrl, method: 'POST', body: verifyBody, count: 500 });
    const v = await sequentialLatency({ url: verifyUrl, method: 'POST', body: verifyBody, count: 3000 });
    const dLoad = await load({ url: direct, body, duration: opts.duration, connections: 16 });
    const gLoad = await load({ url: viaGateway, body, headers: auth, duration: opts.duration, connections: 16 });
    const rows: (string | number)[][] = [
      ['measure', 'direct to upstream', 'through the gateway', 'ratio'],
      ['p50 µs, one connection, sequential', d.p50.toFixed(0), g.p50.toFixed(0), (g.p50 / d.p50).toFixed(2)],
      ['p99 µs, one connection, sequential', d.p99.toFixed(0), g.p99.toFixed(0), (g.p99 / d.p99).toFixed(2)],
      ['p50 µs added by the gateway', '', (g.p50 - d.p50).toFixed(0), ''],
      ['p50 µs of POST /v1/keys/verify alone, same key (the limits round trip, no upstream)', '', v.p50.toFixed(0), (v.p50 / d.p50).toFixed(2)],
      ['requests/s (16 connections)', dLoad.rps.toFixed(0), gLoad.rps.toFixed(0), (gLoad.rps / dLoad.rps).toFixed(2)],
      ['errors + non-2xx', dLoad.errors + dLoad.non2xx, gLoad.errors + gLoad.non2xx, ''],
    ];
    return { rows, summary: { p50Ratio: g.p50 / d.p50 } };
  } finally {
    await api.stop();
    await upstream.stop();
    await db.drop();
  }
}

if (require.main === module) runMain('Gateway', () => benchGateway({ duration: Number(process.env.BENCH_DURATION ?? 10) }));
