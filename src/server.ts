import http from 'node:http';
import type Redis from 'ioredis';
import { TargetDirectory } from './agents/targets';
import { DEFAULT_DETECTORS, VerificationDetectors, type DetectorOptions } from './audit/detectors';
import { createDashboardHandler } from './dashboard';
import type { OidcConfig } from './config';
import { createAuthRoutes } from './http/auth';
import { LiveFeed } from './graphql/live-feed';
import { createGraphQLHandler, type GraphQLOptions } from './graphql/yoga';
import type { Database } from './infra/db';
import { sharedHostnameResolver } from './infra/hostnames';
import { readiness } from './infra/health';
import { HttpError, sendError, sendJson, type TrustProxy } from './infra/http';
import { logger } from './infra/logger';
import { KeyCache } from './keys/cache';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from './operators/sessions';
import { resolveKeyByDigest } from './keys/resolve';
import { BruteForceGuard, ConcurrencyLimiter, DEFAULT_BRUTE_FORCE, LeasedLimiter, Limiter, RedisDownError, type BruteForceOptions } from './limits';
import { serveMetrics } from './metrics-http';
import { UsageBuffer } from './reports/usage-buffer';
import { UseRecorder } from './keys/uses';
import { createGateway, matchGatewayRoute } from './verify/gateway';
import { createForwardAuth } from './verify/forward';
import { handleVerify } from './verify/http';
import { openApiDocument } from './verify/openapi';
import { createLeakedHandler, type LeakedRateLimit } from './verify/leaked-http';
import type { VerifyDeps } from './verify/verify';

// One HTTP server: GraphQL (yoga), the data plane and health endpoints.

export interface AppDeps {
  db: Database;
  redis: Redis;
  trustProxy: TrustProxy;
  /** KEYWARDEN_REDIS_PREFIX: every Redis key this app writes starts with it. */
  prefix: string;
  failureMode?: 'open' | 'closed';
  /** exact (default): one Redis round trip per check; leased: blocks of capacity decided locally. */
  rateLimitMode?: 'exact' | 'leased';
  bruteForce?: BruteForceOptions;
  gateway?: { upstreamTimeoutMs?: number; maxBodyBytes?: number; bufferBodyBytes?: number };
  metricsToken?: string;
  detectors?: DetectorOptions;
  cache?: KeyCache;
  /** POST /v1/keys/leaked requests per IP (default 10 per minute). */
  leakedRateLimit?: LeakedRateLimit;
  /** HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS, HTTP_MAX_CONNECTIONS: slow or too many clients. */
  http?: { requestTimeoutMs?: number; headersTimeoutMs?: number; maxConnections?: number };
  /** GRAPHQL_* settings: query limits, introspection, admission. */
  graphql?: GraphQLOptions;
  /** BULK_OPERATION_THRESHOLD (default 10). */
  bulkOperationThreshold?: number;
  /** People: KEYWARDEN_PUBLIC_URL (Keywarden's own origin for cookie-authenticated requests) and session lifetimes. */
  people?: { publicUrl?: string; sessions?: SessionPolicy; oidc?: OidcConfig | null; dashboardKeySignin?: boolean };
  /** A Redis connection in subscriber mode: GraphQL subscriptions listen on it (none without it). */
  subscriber?: Redis;
  /** SUBSCRIPTIONS_PER_KEY (default 10). */
  subscriptionsPerKey?: number;
  /** True once the process drains on SIGTERM: /readyz answers 503 while requests are still served. */
  draining?: () => boolean;
  /** The queue dashboard under /admin/queues (workers/dashboard.ts); it checks the installation token itself. */
  queueDashboard?: (req: http.IncomingMessage, res: http.ServerResponse, keys: KeyCache) => void;
}

export interface App {
  /** A plain HTTP server around `handle` (with TLS, app.ts serves `handle` through infra/listener instead). */
  server: http.Server;
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  cache: KeyCache;
  uses: UseRecorder;
  usage: UsageBuffer;
  graphql: ReturnType<typeof createGraphQLHandler>;
  live?: LiveFeed;
  limiter: Limiter;
  /** What a verification needs (the ext_authz server decides with the same). */
  verification: VerifyDeps & { trustProxy: TrustProxy };
  /** Agents' and workflows' accounts and upstreams, as the gateway caches them. */
  targets: TargetDirectory;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** The handlers behind the routes. */
interface Routes {
  verify: Handler;
  leaked: Handler;
  forward: Handler;
  gateway: ReturnType<typeof createGateway>;
  graphql: App['graphql'];
  dashboard: ReturnType<typeof createDashboardHandler>;
  auth: ReturnType<typeof createAuthRoutes>;
}

export function createApp(deps: AppDeps): App {
  const cache = deps.cache ?? new KeyCache((digest) => resolveKeyByDigest(deps.db.prisma, digest));
  const people = { sessions: deps.people?.sessions ?? DEFAULT_SESSION_POLICY, publicOrigin: deps.people?.publicUrl ? new URL(deps.people.publicUrl).origin : undefined };
  const live = deps.subscriber ? new LiveFeed({ publisher: deps.redis, subscriber: deps.subscriber, prefix: deps.prefix, maxPerKey: deps.subscriptionsPerKey }) : undefined;
  const onLimitsError = limitsErrorLog();
  const limitOptions = { failureMode: deps.failureMode ?? 'open', onError: onLimitsError };
  const limiter = deps.rateLimitMode === 'leased' ? new LeasedLimiter(deps.redis, deps.prefix, limitOptions) : new Limiter(deps.redis, deps.prefix, limitOptions);
  const verification = verificationDeps(deps, cache, limiter);
  const verifyEndpoint = { ...verification, trustProxy: deps.trustProxy };
  // The admin API records uses of ROTATING and EMERGENCY keys and counts failures as verification does, with the same recorder and detectors.
  const keyUses = { uses: verification.uses, detectors: verification.detectors };
  const graphql = createGraphQLHandler({
    db: deps.db,
    cache,
    trustProxy: deps.trustProxy,
    redis: deps.redis,
    prefix: deps.prefix,
    bulkOperationThreshold: deps.bulkOperationThreshold,
    options: deps.graphql,
    keyUses,
    live,
    ...people,
  });
  const routes: Routes = {
    verify: (req, res) => handleVerify(verifyEndpoint, req, res),
    leaked: createLeakedHandler({ db: deps.db, redis: deps.redis, prefix: deps.prefix, trustProxy: deps.trustProxy, rateLimit: deps.leakedRateLimit }),
    forward: createForwardAuth(verifyEndpoint),
    gateway: createGateway({ ...verification, trustProxy: deps.trustProxy, slots: new ConcurrencyLimiter(deps.redis, deps.prefix, limitOptions), ...deps.gateway }),
    graphql,
    dashboard: createDashboardHandler(),
    auth: authRoutes(deps),
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => route(deps, routes, cache, req, res);
  const server = http.createServer(handle);
  server.keepAliveTimeout = 65_000;
  // A client must send its headers within headersTimeout and its whole request within
  // requestTimeout; beyond maxConnections new connections are closed at once.
  server.headersTimeout = deps.http?.headersTimeoutMs ?? 20_000;
  server.requestTimeout = deps.http?.requestTimeoutMs ?? 60_000;
  server.maxConnections = deps.http?.maxConnections ?? 10_000;
  return { server, handle, cache, uses: verification.uses, usage: verification.usage, graphql, limiter, verification: verifyEndpoint, live, targets: verification.targets };
}

/**
 * A limits check that failed while Redis is known to be down is part of the outage, which is
 * logged once (infra/redis). Others (a slow Redis missing the deadline) are logged at most once
 * every 10 s, with how many there were.
 */
function limitsErrorLog(): (err: Error, operation: string) => void {
  let lastMs = -Infinity;
  let unlogged = 0;
  return (err, operation) => {
    if (err instanceof RedisDownError) return;
    const now = performance.now();
    if (now - lastMs < 10_000) {
      unlogged++;
      return;
    }
    logger.warn({ err: err.message, operation, since: unlogged }, 'Redis failed during a limits check; answering per RATE_LIMIT_FAILURE_MODE');
    lastMs = now;
    unlogged = 0;
  };
}

/** The sign-in routes; without KEYWARDEN_PUBLIC_URL (tests), Keywarden is taken to be where it listens by default. */
function authRoutes(deps: AppDeps) {
  const p = deps.people;
  return createAuthRoutes({
    db: deps.db,
    publicUrl: p?.publicUrl ?? 'http://127.0.0.1:4000',
    sessions: p?.sessions ?? DEFAULT_SESSION_POLICY,
    oidc: p?.oidc ?? null,
    dashboardKeySignin: p?.dashboardKeySignin ?? !p?.oidc,
    trustProxy: deps.trustProxy,
  });
}

/** Everything a verification needs, shared by the verify endpoint and the gateway. */
function verificationDeps(deps: AppDeps, cache: KeyCache, limiter: Limiter) {
  const usage = new UsageBuffer(deps.redis, deps.prefix);
  usage.start();
  return {
    guard: new BruteForceGuard(deps.redis, deps.prefix, deps.bruteForce ?? DEFAULT_BRUTE_FORCE),
    cache,
    targets: new TargetDirectory(deps.db),
    hostnames: sharedHostnameResolver(),
    limiter,
    usage,
    uses: new UseRecorder(deps.db),
    detectors: new VerificationDetectors(deps.db, deps.redis, deps.prefix, deps.detectors ?? DEFAULT_DETECTORS),
  } satisfies VerifyDeps;
}

function route(deps: AppDeps, routes: Routes, cache: KeyCache, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  const path = url.split('?', 1)[0];
  const fail = failureHandler(req, res, path);
  try {
    if (path === '/v1/keys/verify') {
      if (req.method !== 'POST') sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'use POST' } }, { allow: 'POST' });
      else routes.verify(req, res).catch(fail);
      return;
    }
    if (path === '/v1/keys/leaked') {
      routes.leaked(req, res).catch(fail);
      return;
    }
    if (path === '/v1/auth/forward') {
      routes.forward(req, res).catch(fail);
      return;
    }
    const gatewayRoute = matchGatewayRoute(path);
    if (gatewayRoute) {
      routes.gateway(gatewayRoute, req, res).catch(fail);
      return;
    }
    if (path === '/graphql') {
      routes.graphql(req, res);
      return;
    }
    if (path.startsWith('/auth/')) {
      routes.auth(req, res, path).catch(fail);
      return;
    }
    if (deps.queueDashboard && (path === '/admin/queues' || path.startsWith('/admin/queues/'))) deps.queueDashboard(req, res, cache);
    else if (path === '/dashboard' || path.startsWith('/dashboard/')) routes.dashboard(req, res, path);
    else operationalRoute(deps, path, req, res, fail);
  } catch (err) {
    fail(err);
  }
}

/** /, /healthz, /metrics, /readyz, and the 404 for anything else. */
function operationalRoute(deps: AppDeps, path: string, req: http.IncomingMessage, res: http.ServerResponse, fail: (err: unknown) => void): void {
  if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    res.writeHead(302, { location: '/dashboard/' });
    res.end();
    return;
  }
  if (path === '/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) {
    const text = openApiDocument();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' });
    return;
  }
  if (path === '/metrics') {
    serveMetrics(req, res, deps.metricsToken).catch(fail);
    return;
  }
  if (path === '/readyz') {
    readiness(deps.db, deps.redis, deps.draining).then((r) => sendJson(res, r.ready ? 200 : 503, r), fail);
    return;
  }
  sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${path}` } });
}

/** What a route that fails answers: nothing to a client that left, its own error for an HttpError, 500 otherwise. */
function failureHandler(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
  return (err: unknown): void => {
    // The client left before its request was complete: nothing to answer, and no fault of ours.
    if (req.destroyed && !req.complete) {
      logger.debug({ path, err: err instanceof Error ? err.message : String(err) }, 'client left mid-request');
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      sendError(res, err);
      return;
    }
    // A malformed percent-escape in the path (or a query) is the client's mistake, not ours.
    if (err instanceof URIError) {
      logger.info({ path: path.slice(0, 200) }, 'malformed percent-escape refused');
      sendError(res, new HttpError(400, 'BAD_REQUEST', 'the request path holds a malformed percent-escape'));
      return;
    }
    logger.error({ err, path }, 'request failed');
    sendError(res, new HttpError(500, 'INTERNAL', 'internal error'));
  };
}
