import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { loadConfig, resolveEncryptionKey, type Config } from './config';
import { openDatabase, type Database } from './infra/db';
import { createLogger, logger, setLogger } from './infra/logger';
import { createRedis, probeRedis } from './infra/redis';
import { createAccountWithMasterKey } from './keys/bootstrap';
import http from 'node:http';
import { serveMetrics } from './metrics-http';
import { wireInvalidation } from './keys/invalidation';
import { configureWebhooks } from './webhooks/runtime';
import { startWorkers, type Workers } from '../workers';
import { setQueueCounts } from './infra/metrics';

// Starting and stopping a Keywarden process: API, workers, or both.

export type Role = 'all' | 'api' | 'worker';

export interface Running {
  config: Config;
  db: Database;
  url?: string;
  stop(): Promise<void>;
}

/** First start: an empty database gets the account "default"; its master key is printed once. */
async function bootstrapIfEmpty(db: Database, out: NodeJS.WritableStream = process.stdout): Promise<boolean> {
  if ((await db.prisma.account.count()) > 0) return false;
  try {
    const created = await createAccountWithMasterKey(db, 'default');
    out.write(
      `\nKeywarden created the account "default". Its master key is shown this once (only a digest is stored):\n\n` +
        `${created.secret}\n\n` +
        `Paste it into the dashboard (/dashboard/), or open GraphiQL (/graphql) and send it as "Authorization: Bearer <key>".\n\n`,
    );
    return true;
  } catch (err) {
    // Another instance starting at the same moment created it first.
    if ((err as { code?: string }).code === 'CONFLICT') return false;
    throw err;
  }
}

export async function start(role: Role, env: NodeJS.ProcessEnv = process.env): Promise<Running> {
  const config = loadConfig(env);
  setLogger(createLogger(config.logLevel));
  await probeRedis(config.redisUrl);
  // Webhook secrets are encrypted with it (API) and decrypted to sign (workers).
  configureWebhooks({ encryptionKey: resolveEncryptionKey(config), allowPrivateNetworks: config.webhookAllowPrivateNetworks });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const closers: Closer[] = [];
  const redis: Redis = createRedis(config.redisUrl);
  redis.on('error', (err) => logger.error({ err: err.message }, 'redis error'));
  closers.push(() => void redis.disconnect());
  const stop = async () => {
    await closeInReverse(closers);
    await db.close();
  };
  let url: string | undefined;
  try {
    if (role !== 'worker') url = await startApi(config, db, redis, closers);
    if (role === 'worker' && config.metricsPort) await startMetricsListener(config, closers);
    if (role !== 'api') await startWorkerRole(config, db, redis, role, closers);
  } catch (err) {
    await stop();
    throw err;
  }
  return { config, db, url, stop };
}

type Closer = () => Promise<void> | void;

/** Stops what was started, last started first. */
async function closeInReverse(closers: Closer[]): Promise<void> {
  while (closers.length > 0) await closers.pop()!();
}

/** The API server (GraphQL, data plane, dashboards) with its cache invalidation wiring. Returns its URL. */
async function startApi(config: Config, db: Database, redis: Redis, closers: Closer[]): Promise<string> {
  if (config.bootstrap) await bootstrapIfEmpty(db);
  // Loaded only here: a worker-only process needs neither the GraphQL schema nor the queue UI.
  // (require, not import(): under tsx's CommonJS hook a dynamic import() goes to the ESM loader.)
  const { createApp } = require('./server') as typeof import('./server');
  const { createQueueDashboard } = require('../workers/dashboard') as typeof import('../workers/dashboard');
  const dashboard = createQueueDashboard({ redisUrl: config.redisUrl, redisPrefix: config.redisPrefix });
  closers.push(() => dashboard.close());
  const app = createApp({
    db,
    redis,
    trustProxy: config.trustProxy,
    prefix: config.redisPrefix,
    failureMode: config.rateLimitFailureMode,
    bruteForce: config.bruteForce,
    metricsToken: config.metricsToken,
    detectors: config.detectors,
    bulkOperationThreshold: config.bulkOperationThreshold,
    people: config.people,
    queueDashboard: dashboard.handle,
  });
  setQueueCounts(() => dashboard.counts());
  const subscriber = createRedis(config.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on('error', (err) => logger.error({ err: err.message }, 'redis subscriber error'));
  const unwire = await wireInvalidation({ cache: app.cache, publisher: redis, subscriber, prefix: config.redisPrefix });
  closers.push(() => {
    unwire();
    subscriber.disconnect();
  });
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen(config.port, config.host, () => resolve());
  });
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        app.server.close(() => resolve());
        app.server.closeIdleConnections();
      }),
  );
  logger.info({ url, dashboard: `${url}/dashboard/`, graphiql: `${url}/graphql`, database: db.kind, location: db.location }, 'Keywarden API listening');
  return url;
}

/** A worker-only process has no API server: its delivery metrics get a listener of their own. */
async function startMetricsListener(config: Config, closers: Closer[]): Promise<void> {
  const metricsServer = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') return res.writeHead(404).end();
    serveMetrics(req, res, config.metricsToken).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => metricsServer.listen(config.metricsPort, config.host, resolve));
  closers.push(() => new Promise<void>((resolve) => metricsServer.close(() => resolve())));
}

async function startWorkerRole(config: Config, db: Database, redis: Redis, role: Role, closers: Closer[]): Promise<void> {
  const workers: Workers = await startWorkers({
    db,
    redis,
    prefix: config.redisPrefix,
    settings: {
      redisUrl: config.redisUrl,
      databaseUrl: config.databaseUrl,
      retrySchedule: config.webhookRetrySchedule,
      timeoutMs: config.webhookTimeoutMs,
      expiryWarningDays: config.expiryWarningDays,
      scanIntervalSeconds: config.scanIntervalSeconds,
      concurrency: config.webhookConcurrency,
      lockSeconds: config.jobLockSeconds,
      // With the API in the same process, its invalidation wiring already publishes.
      publishKeyChanges: role === 'worker',
      usageAnomaly: config.usageAnomaly,
    },
  });
  closers.push(() => workers.close());
}
