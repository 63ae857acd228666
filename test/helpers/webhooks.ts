import crypto from 'node:crypto';
import { Client } from 'pg';
import { migratePostgres, openDatabase, type Database } from '../../src/infra/db';

import { createRedis } from '../../src/infra/redis';
import { configureWebhooks } from '../../src/webhooks/runtime';
import { startWorkers, type WorkerSettings, type Workers } from '../../workers';
import { adminUrl } from './global-setup';
import { isolatedPrefix, startHarness, type Harness } from './harness';

// Webhook and worker tests run workers, and workers scan every account: each such test file gets
// its own database and Redis prefix, so its scans and relays never touch another file's rows
// (and another file's workers never deliver its events with different settings).

export const TEST_ENCRYPTION_KEY = crypto.randomBytes(32);

/** The process-wide webhook settings tests use: a fixed key, and the local receiver allowed. */
export function configureTestWebhooks(): void {
  configureWebhooks({ encryptionKey: TEST_ENCRYPTION_KEY, allowPrivateNetworks: true });
}

export interface IsolatedDatabase {
  url: string;
  db: Database;
  drop(): Promise<void>;
}

export async function isolatedDatabase(label: string): Promise<IsolatedDatabase> {
  const name = `kw_test_${label}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  await migratePostgres(url.toString(), { info: () => {} });
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: '/nonexistent', migrate: false });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.close();
      const a = new Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

// Re-exported for the webhook and worker tests, which take it from here.
export { isolatedPrefix };

export const FAST_SETTINGS: Omit<WorkerSettings, 'redisUrl'> = {
  retrySchedule: [0.3, 0.3, 0.3],
  timeoutMs: 3000,
  expiryWarningDays: [14, 7, 1],
  scanIntervalSeconds: 3600,
  concurrency: 8,
  lockSeconds: 5,
};

export async function startTestWorkers(opts: { db: Database; url?: string; prefix: string; settings?: Partial<WorkerSettings> }): Promise<Workers> {
  const redis = createRedis(process.env.REDIS_URL!);
  const workers = await startWorkers({
    db: opts.db,
    redis,
    prefix: opts.prefix,
    settings: { redisUrl: process.env.REDIS_URL!, databaseUrl: opts.url, ...FAST_SETTINGS, ...opts.settings },
  });
  return {
    relayNow: workers.relayNow,
    async close() {
      await workers.close();
      redis.disconnect();
    },
  };
}

export const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes description enabled disabledReason createdAt } }
}`;

export async function createEndpoint(h: Harness, secret: string, input: { url: string; eventTypes?: string[]; description?: string }) {
  const r = await h.gql(CREATE_ENDPOINT, { input: { eventTypes: ['*'], ...input } }, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createWebhookEndpoint as { secret: string; endpoint: { id: string; url: string; eventTypes: string[]; enabled: boolean } };
}

export async function createKey(h: Harness, secret: string, input: Record<string, unknown> = {}) {
  const r = await h.gql(`mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`, { input: { name: 'k', type: 'PRODUCTION', ...input } }, secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createKey as { secret: string; key: { id: string } };
}

/** Polls until `check` returns a value (not undefined/null/false), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface IsolatedHarness {
  iso: IsolatedDatabase;
  h: Harness;
  /** In-process workers on a prefix of their own, when asked for. */
  workers: Workers | null;
  close(): Promise<void>;
}

/**
 * The set-up of a webhook or worker test file: test webhook settings, a database of its own, a
 * harness on it and, with `workers`, workers relaying and delivering for it. close() undoes all.
 */
export async function startIsolatedHarness(label: string, opts: { workers?: boolean } = {}): Promise<IsolatedHarness> {
  configureTestWebhooks();
  const iso = await isolatedDatabase(label);
  const h = await startHarness({ db: iso.db });
  const workers = opts.workers ? await startTestWorkers({ db: iso.db, url: iso.url, prefix: isolatedPrefix(label) }) : null;
  return {
    iso,
    h,
    workers,
    async close() {
      await workers?.close();
      await h.close();
      await iso.drop();
    },
  };
}
