import { spawnCli, type Spawned } from './processes';
import { freePort } from './servers';
import { eventually } from './webhooks';

// Several `keywarden api` processes (and optionally a worker) started as users start them, on one
// database and one Redis set-up, for the tests that show what holds across instances: the Redis
// Cluster and Sentinel tests run the same checks through this.

export interface ApiFleet {
  urls: string[];
  worker: Spawned | undefined;
  /** A GraphQL request to API `api` with the master key; throws on errors. */
  gql(api: number, query: string, variables?: Record<string, unknown>): Promise<any>;
  /** POST /v1/keys/verify on API `api`: the answer's code. */
  verify(api: number, body: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

export async function startApiFleet(opts: { count: number; env: Record<string, string | undefined>; master: () => string; worker?: boolean }): Promise<ApiFleet> {
  const urls: string[] = [];
  const processes: Spawned[] = [];
  for (let i = 0; i < opts.count; i++) {
    const port = await freePort();
    processes.push(spawnCli(['api'], { ...opts.env, PORT: String(port) }));
    urls.push(`http://127.0.0.1:${port}`);
  }
  const worker = opts.worker ? spawnCli(['worker'], opts.env) : undefined;
  const fleet: ApiFleet = {
    urls,
    worker,
    async gql(api, query, variables = {}) {
      const res = await fetch(`${urls[api]}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.master()}` }, body: JSON.stringify({ query, variables }) });
      const json = (await res.json()) as any;
      if (json.errors) throw new Error(JSON.stringify(json.errors));
      return json.data;
    },
    async verify(api, body) {
      const res = await fetch(`${urls[api]}/v1/keys/verify`, { method: 'POST', body: JSON.stringify(body) });
      return ((await res.json()) as { code: string }).code;
    },
    async stop() {
      for (const p of [...processes, worker].filter((p): p is Spawned => !!p)) {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          p.child.kill('SIGTERM');
          await p.exited;
        }
      }
    },
  };
  try {
    await Promise.all([...processes.map((p) => p.waitFor(/Keywarden API listening/, 120_000)), ...(worker ? [worker.waitFor(/workers started/, 120_000)] : [])]);
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/** A key limited to 6 per hour, verified 10 times alternating over the first two APIs: the codes in order. */
export async function rateLimitAcross(fleet: ApiFleet): Promise<string[]> {
  const k = await fleet.gql(0, `mutation { createKey(input: { name: "rl", type: PRODUCTION, rateLimits: [{ window: HOUR, limit: 6 }, { window: DAY, limit: 100 }] }) { secret } }`);
  const codes: string[] = [];
  for (let i = 0; i < 10; i++) codes.push(await fleet.verify(i % 2, { key: k.createKey.secret }));
  return codes;
}

/** A key verified on API 1, revoked on API 0: what API 1 answers once it has heard (within 10 s), and what it answered first. */
export async function revokeAcross(fleet: ApiFleet): Promise<{ before: string; after: string }> {
  const k = await fleet.gql(0, `mutation { createKey(input: { name: "rv", type: PRODUCTION }) { secret key { id } } }`);
  const before = await fleet.verify(1, { key: k.createKey.secret });
  await fleet.gql(0, `mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: k.createKey.key.id });
  const after = await eventually(
    async () => {
      const c = await fleet.verify(1, { key: k.createKey.secret });
      return c === 'REVOKED' && c;
    },
    10_000,
    'REVOKED on the other API',
  );
  return { before, after };
}
