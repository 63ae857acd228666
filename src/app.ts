import type { AddressInfo } from 'node:net';
import type Redis from 'ioredis';
import { loadConfig, refusePlainHttpInProduction, resolveEncryptionKey, type Config } from './config';
import { openDatabase, type Database } from './infra/db';
import { createLogger, logger, setLogger } from './infra/logger';
import { createRedis, probeRedis } from './infra/redis';
import { createAccountWithMasterKey } from './keys/bootstrap';
import http from 'node:http';
import { serveMetrics } from './metrics-http';
import { wireInvalidation } from './keys/invalidation';
import { wireTargetInvalidation } from './agents/invalidation';
import { configureWebhooks } from './webhooks/runtime';
import { configureUpstreams } from './agents/upstream-policy';
import { startWorkers, type Workers } from '../workers';
import { setQueueCounts } from './infra/metrics';
import { plainListener, readTlsFiles, tlsListener } from './infra/listener';
import { readiness } from './infra/health';
import { sendJson } from './infra/http';

// Starting and stopping a Keywarden process: API, workers, or both.

export type Role = 'all' | 'api' | 'worker';

export interface Running {
  config: Config;
  db: Database;
  url?: string;
  /** Re-reads TLS_CERT_FILE/TLS_KEY_FILE (SIGHUP); false when there is no TLS or the files do not load. */
  reloadTls(): boolean;
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
  // Plain HTTP to the network in production, or bad certificate files, stop start-up before anything connects.
  if (role !== 'worker') refusePlainHttpInProduction(config, env);
  if (config.tls && role !== 'worker') readTlsFiles(config.tls);
  await probeRedis(config.redis);
  // Webhook secrets are encrypted with it (API) and decrypted to sign (workers).
  configureWebhooks({ encryptionKey: resolveEncryptionKey(config), allowPrivateNetworks: config.webhookAllowPrivateNetworks });
  configureUpstreams({ allowPrivateNetworks: config.upstreamAllowPrivateNetworks });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const closers: Closer[] = [];
  const redis: Redis = createRedis(config.redis);
  closers.push(() => void redis.disconnect());
  const state: ProcessState = { draining: false };
  const stop = async () => {
    // Only a process with a listener has anyone to tell that it is going.
    await drain(state, role !== 'worker' || config.metricsPort ? config.shutdownDrainMs : 0);
    await closeInReverse(closers);
    await db.close();
  };
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    if (role !== 'worker') api = await startApi(config, db, redis, state, closers);
    if (role === 'worker' && config.metricsPort) await startWorkerListener(config, db, redis, state, closers);
    if (role !== 'api') await startWorkerRole(config, db, redis, role, closers);
  } catch (err) {
    await stop();
    throw err;
  }
  return { config, db, url: api?.url, reloadTls: () => api?.reloadTls() ?? false, stop };
}

type Closer = () => Promise<void> | void;

interface ProcessState {
  draining: boolean;
}

/** SIGTERM: /readyz answers 503 at once; requests are still served for `ms` (so load balancers stop sending them first). */
async function drain(state: ProcessState, ms: number): Promise<void> {
  if (state.draining) return;
  state.draining = true;
  if (ms > 0) {
    logger.info({ seconds: ms / 1000 }, 'draining: /readyz answers 503 before the listener closes');
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** Stops what was started, last started first. */
async function closeInReverse(closers: Closer[]): Promise<void> {
  while (closers.length > 0) await closers.pop()!();
}

/** The API server (GraphQL, data plane, dashboards) with its cache invalidation wiring. Returns its URL. */
async function startApi(config: Config, db: Database, redis: Redis, state: ProcessState, closers: Closer[]): Promise<{ url: string; reloadTls: () => boolean }> {
  if (config.bootstrap) await bootstrapIfEmpty(db);
  // Loaded only here: a worker-only process needs neither the GraphQL schema nor the queue UI.
  // (require, not import(): under tsx's CommonJS hook a dynamic import() goes to the ESM loader.)
  const { createApp } = require('./server') as typeof import('./server');
  const { createQueueDashboard } = require('../workers/dashboard') as typeof import('../workers/dashboard');
  const dashboard = createQueueDashboard({ redisUrl: config.redisUrl, redis: config.redis, redisPrefix: config.redisPrefix, ...config.adminQueues });
  closers.push(() => dashboard.close());
  const subscriber = createRedis(config.redis, { maxRetriesPerRequest: null, purpose: 'subscriber' });
  // Its errors are the outage's, logged once when it starts and once when it ends (createRedis watches it).
  const app = createApp({
    db,
    redis,
    subscriber,
    subscriptionsPerKey: config.subscriptionsPerKey,
    trustProxy: config.trustProxy,
    prefix: config.redisPrefix,
    failureMode: config.rateLimitFailureMode,
    rateLimitMode: config.rateLimitMode,
    bruteForce: config.bruteForce,
    metricsToken: config.metricsToken,
    detectors: config.detectors,
    bulkOperationThreshold: config.bulkOperationThreshold,
    http: config.http,
    people: config.people,
    graphql: {
      depth: config.graphqlMaxDepth,
      complexity: config.graphqlMaxComplexity,
      introspection: config.graphqlIntrospection,
      perKeyPerMinute: config.graphqlRateLimit,
      maxConcurrent: config.graphqlMaxConcurrent,
    },
    queueDashboard: dashboard.handle,
    draining: () => state.draining,
  });
  setQueueCounts(() => dashboard.counts());
  // Runs after the listener has closed: leased blocks go back for the other instances.
  closers.push(() => app.limiter.release());
  const unwire = await wireInvalidation({ cache: app.cache, publisher: redis, subscriber, prefix: config.redisPrefix });
  const unwireTargets = await wireTargetInvalidation({ targets: app.targets, publisher: redis, subscriber, prefix: config.redisPrefix });
  closers.push(() => {
    unwire();
    unwireTargets();
    subscriber.disconnect();
  });
  const listener = config.tls ? tlsListener(app.handle, config.tls, config.http) : plainListener(app.server);
  await new Promise<void>((resolve, reject) => {
    listener.server.once('error', reject);
    listener.server.listen(config.port, config.host, () => resolve());
  });
  if (config.extAuthzPort) await startExtAuthzListener(config, app, closers);
  const addr = listener.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${listener.scheme}://${host}:${addr.port}`;
  closers.push(() => listener.close());
  // First of all at shutdown: open subscriptions would hold their connections (and the close) forever.
  closers.push(() => app.live?.close());
  logger.info({ url, dashboard: `${url}/dashboard/`, graphiql: `${url}/graphql`, database: db.kind, location: db.location }, 'Keywarden API listening');
  return { url, reloadTls: listener.reloadTls };
}

/** EXT_AUTHZ_PORT: Envoy's ext_authz over gRPC, deciding with the API's verification (loaded only when set). */
async function startExtAuthzListener(config: Config, app: import('./server').App, closers: Closer[]): Promise<void> {
  const { startExtAuthz } = require('./verify/ext-authz') as typeof import('./verify/ext-authz');
  const extAuthz = await startExtAuthz(app.verification, config.host, config.extAuthzPort);
  closers.push(() => extAuthz.close());
  logger.info({ port: extAuthz.port }, 'Keywarden ext_authz (gRPC) listening');
}

/** A worker-only process has no API server: its health, readiness and delivery metrics get a listener of their own. */
async function startWorkerListener(config: Config, db: Database, redis: Redis, state: ProcessState, closers: Closer[]): Promise<void> {
  const metricsServer = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      readiness(db, redis, () => state.draining).then(
        (r) => sendJson(res, r.ready ? 200 : 503, r),
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (path !== '/metrics') return res.writeHead(404).end();
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
      redis: config.redis,
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
