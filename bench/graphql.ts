import { migratePostgres, openDatabase } from '../src/infra/db';
import { createRedis } from '../src/infra/redis';
import { createAccountWithMasterKey } from '../src/keys/bootstrap';
import { createApp } from '../src/server';
import { benchPrefix, dropRedisPrefix, freshDatabase, runMain } from './lib';

// SQL queries per GraphQL request for keys(first: N) with parent, children and usage: the count
// must not grow with N (relations are loaded per request, not per row).

const QUERY = `query($n: Int) { keys(first: $n) { edges { node { id name effectivePermission parent { id name } children(first: 5) { edges { node { id } } } usage(from: "2026-01-01T00:00:00Z", to: "2027-01-01T00:00:00Z") { requests } scope { kind workflows { id } } } } } }`;

export async function benchGraphql(): Promise<{ rows: (string | number)[][]; summary: Record<string, number> }> {
  const fresh = await freshDatabase();
  await migratePostgres(fresh.url, { info: () => {} });
  const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '/nonexistent', migrate: false });
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = benchPrefix('gql');
  const app = createApp({ db, redis, trustProxy: false, prefix });
  try {
    const acct = await createAccountWithMasterKey(db, 'bench');
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await app.graphql.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${acct.secret}` }, body: JSON.stringify({ query, variables }) });
      const json = (await res.json()) as any;
      if (json.errors) throw new Error(JSON.stringify(json.errors));
      return json.data;
    };
    // 120 keys: 40 parents with 2 children each.
    for (let i = 0; i < 40; i++) {
      const p = await gql(`mutation { createKey(input: { name: "p${i}", type: PRODUCTION, permission: MANAGE }) { key { id } } }`);
      for (let j = 0; j < 2; j++) await gql(`mutation($id: ID!) { deriveKey(parentId: $id, input: { name: "c${i}-${j}", type: PRODUCTION, permission: READ_ONLY }) { key { id } } }`, { id: p.createKey.key.id });
    }
    const rows: (string | number)[][] = [['keys(first: N) with parent, children, usage', 'SQL queries per request']];
    const counts: number[] = [];
    for (const n of [1, 10, 100]) {
      await gql(QUERY, { n }); // warm the key cache used for authentication
      const before = db.queryCount();
      await gql(QUERY, { n });
      counts.push(db.queryCount() - before);
      rows.push([`N = ${n}`, db.queryCount() - before]);
    }
    return { rows, summary: { grows: counts[2] > counts[1] ? 1 : 0 } };
  } finally {
    await app.usage.stop();
    redis.disconnect();
    await dropRedisPrefix(prefix);
    await db.close();
    await fresh.drop();
  }
}

if (require.main === module) runMain('GraphQL', () => benchGraphql());
