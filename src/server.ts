import http from 'node:http';
import type Redis from 'ioredis';
import type { Database } from './infra/db';
import { logger } from './infra/logger';
import { createGraphQLHandler } from './graphql/yoga';
import { KeyCache } from './verify/cache';
import { handleVerify } from './verify/http';
import { HttpError, sendError, sendJson } from './infra/http';
import { createLeakedHandler, type LeakedRateLimit } from './verify/leaked-http';
import { TargetDirectory } from './verify/targets';
import { UseRecorder } from './verify/effects';
import { UsageBuffer } from './verify/usage';
import { DEFAULT_DETECTORS, VerificationDetectors, type DetectorOptions } from './audit/detectors';
import { BruteForceGuard, DEFAULT_BRUTE_FORCE, type BruteForceOptions } from './verify/bruteforce';
import { createGateway, matchGatewayRoute } from './verify/gateway';
import { ConcurrencyLimiter, Limiter } from './limits';
import { sharedHostnameResolver } from './infra/hostnames';
import { resolveKeyByDigest } from './keys/resolve';
import { createDashboardHandler } from './dashboard';
import { serveMetrics } from './metrics-http';

// One HTTP server: GraphQL (yoga), the data plane and health endpoints.

export interface AppDeps {
  db: Database;
  redis: Redis;
  trustProxy: boolean;
  /** KEYWARDEN_REDIS_PREFIX: every Redis key this app writes starts with it. */
  prefix: string;
  failureMode?: 'open' | 'closed';
  bruteForce?: BruteForceOptions;
  gateway?: { upstreamTimeoutMs?: number; maxBodyBytes?: number; bufferBodyBytes?: number };
  metricsToken?: string;
  detectors?: DetectorOptions;
  cache?: KeyCache;
  /** POST /v1/keys/leaked requests per IP (default 10 per minute). */
  leakedRateLimit?: LeakedRateLimit;
  /** BULK_OPERATION_THRESHOLD (default 10). */
  bulkOperationThreshold?: number;
  /** The queue dashboard under /admin/queues (workers/dashboard.ts); it checks the master key itself. */
  queueDashboard?: (req: http.IncomingMessage, res: http.ServerResponse, keys: KeyCache) => void;
}

export interface App {
  server: http.Server;
  cache: KeyCache;
  uses: UseRecorder;
  usage: UsageBuffer;
  graphql: ReturnType<typeof createGraphQLHandler>;
}

export function createApp(deps: AppDeps): App {
  const cache = deps.cache ?? new KeyCache((digest) => resolveKeyByDigest(deps.db.prisma, digest));
  const targets = new TargetDirectory(deps.db);
  const graphql = createGraphQLHandler({ db: deps.db, cache, trustProxy: deps.trustProxy, redis: deps.redis, prefix: deps.prefix, bulkOperationThreshold: deps.bulkOperationThreshold });
  const uses = new UseRecorder(deps.db);
  const onLimitsError = (err: Error, operation: string) => logger.error({ err: err.message, operation }, 'Redis failed during a limits check; answering per RATE_LIMIT_FAILURE_MODE');
  const limitOptions = { failureMode: deps.failureMode ?? 'open', onError: onLimitsError };
  const limiter = new Limiter(deps.redis, deps.prefix, limitOptions);
  const slots = new ConcurrencyLimiter(deps.redis, deps.prefix, limitOptions);
  const guard = new BruteForceGuard(deps.redis, deps.prefix, deps.bruteForce ?? DEFAULT_BRUTE_FORCE);
  const hostnames = sharedHostnameResolver();
  const usage = new UsageBuffer(deps.redis, deps.prefix);
  usage.start();
  const detectors = new VerificationDetectors(deps.db, deps.redis, deps.prefix, deps.detectors ?? DEFAULT_DETECTORS);
  const verifyDeps = { cache, targets, uses, limiter, guard, hostnames, usage, detectors, trustProxy: deps.trustProxy };
  const gateway = createGateway({ ...verifyDeps, slots, ...deps.gateway });
  const dashboard = createDashboardHandler();
  const leaked = createLeakedHandler({ db: deps.db, redis: deps.redis, prefix: deps.prefix, trustProxy: deps.trustProxy, rateLimit: deps.leakedRateLimit });

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0];
    const fail = (err: unknown) => {
      // The client left before its request was complete: nothing to answer, and no fault of ours.
      if (req.destroyed && !req.complete) {
        logger.debug({ path, err: err instanceof Error ? err.message : String(err) }, 'client left mid-request');
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) return sendError(res, err);
      logger.error({ err, path }, 'request failed');
      sendError(res, new HttpError(500, 'INTERNAL', 'internal error'));
    };
    try {
      if (path === '/v1/keys/verify') {
        if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } }, { allow: 'POST' });
        handleVerify(verifyDeps, req, res).catch(fail);
        return;
      }
      if (path === '/v1/keys/leaked') {
        leaked(req, res).catch(fail);
        return;
      }
      const gatewayRoute = matchGatewayRoute(path);
      if (gatewayRoute) {
        gateway(gatewayRoute, req, res).catch(fail);
        return;
      }
      if (path === '/graphql') {
        graphql(req, res);
        return;
      }
      if (deps.queueDashboard && (path === '/admin/queues' || path.startsWith('/admin/queues/'))) return deps.queueDashboard(req, res, cache);
      if (path === '/dashboard' || path.startsWith('/dashboard/')) return dashboard(req, res, path);
      if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(302, { location: '/dashboard/' });
        res.end();
        return;
      }
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/metrics') {
        serveMetrics(req, res, deps.metricsToken).catch(fail);
        return;
      }
      if (path === '/readyz') {
        readiness(deps).then(
          (r) => sendJson(res, r.ready ? 200 : 503, r),
          (err) => fail(err),
        );
        return;
      }
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${path}` } });
    } catch (err) {
      fail(err);
    }
  });
  server.keepAliveTimeout = 65_000;
  return { server, cache, uses, usage, graphql };
}

async function readiness(deps: AppDeps): Promise<{ ready: boolean; database: string; redis: string }> {
  const [database, redis] = await Promise.all([
    deps.db.prisma.$queryRawUnsafe('SELECT 1').then(
      () => 'ok',
      (e: Error) => `error: ${e.message}`,
    ),
    Promise.race([
      deps.redis.ping().then(
        () => 'ok',
        (e: Error) => `error: ${e.message}`,
      ),
      new Promise<string>((r) => setTimeout(() => r('error: timeout'), 2000).unref()),
    ]),
  ]);
  return { ready: database === 'ok' && redis === 'ok', database, redis };
}
