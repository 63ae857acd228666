import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { openDatabase, type Database } from '../../src/infra/db';
import { createRedis } from '../../src/infra/redis';
import { createAccountWithMasterKey } from '../../src/keys/bootstrap';
import { createApp, type App, type AppDeps } from '../../src/server';
import { wireInvalidation } from '../../src/keys/invalidation';
import { wireTargetInvalidation } from '../../src/agents/invalidation';

// A real Keywarden API (PostgreSQL + Redis) inside the test process. GraphQL goes through
// yoga.fetch; the data plane through a real HTTP listener on an ephemeral port.

export interface GqlResult<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

export interface Harness {
  db: Database;
  redis: Redis;
  app: App;
  url: string;
  prefix: string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, secret?: string | null, headers?: Record<string, string>): Promise<GqlResult<T>>;
  newAccount(label?: string): Promise<{ accountId: string; keyId: string; secret: string; name: string }>;
  verify(body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A Redis prefix of its own, under the run's prefix, so the global teardown removes its keys. */
export function isolatedPrefix(label: string): string {
  return `${process.env.KEYWARDEN_REDIS_PREFIX}:${label}-${crypto.randomBytes(3).toString('hex')}`;
}

export function uniqueName(label = 'acct'): string {
  return `${label}-${crypto.randomBytes(5).toString('hex')}`;
}

export async function startHarness(opts: { db?: Database; app?: Partial<Omit<AppDeps, 'db' | 'redis'>>; port?: number } = {}): Promise<Harness> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests through jest (global setup creates the database)');
  const db = opts.db ?? (await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', migrate: false }));
  const redis = createRedis(process.env.REDIS_URL!);
  const subscriber = createRedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const prefix = process.env.KEYWARDEN_REDIS_PREFIX!;
  const app = createApp({ db, redis, subscriber, trustProxy: false, prefix, ...opts.app });
  const unwireKeys = await wireInvalidation({ cache: app.cache, publisher: redis, subscriber, prefix });
  const unwireTargets = await wireTargetInvalidation({ targets: app.targets, publisher: redis, subscriber, prefix });
  const unwire = () => {
    unwireKeys();
    unwireTargets();
  };
  await new Promise<void>((resolve) => app.server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  return {
    db,
    redis,
    app,
    url: base,
    prefix,
    async gql(query, variables, secret, headers = {}) {
      const res = await app.graphql.fetch('http://keywarden.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const json = (await res.json()) as GqlResult;
      return { ...json, status: res.status };
    },
    async newAccount(label) {
      const name = uniqueName(label);
      return { ...(await createAccountWithMasterKey(db, name)), name };
    },
    async verify(body, headers = {}) {
      const res = await fetch(`${base}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed };
    },
    async close() {
      app.live?.close();
      unwire();
      await new Promise<void>((resolve) => {
        app.server.close(() => resolve());
        app.server.closeAllConnections();
      });
      subscriber.disconnect();
      redis.disconnect();
      if (!opts.db) await db.close();
    },
  };
}
