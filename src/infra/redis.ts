import Redis, { Cluster, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redactUrl } from './db';
import { logger } from './logger';

// Redis is required (queues, counters, cache invalidation). It is one node (REDIS_URL), a Redis
// Cluster (REDIS_CLUSTER_NODES) or a master found through Sentinels (REDIS_SENTINELS and
// REDIS_SENTINEL_NAME). Start-up probes it once and stops with one line naming the variable when
// it cannot be reached.
//
// A Cluster client is handed around as `Redis`: ioredis' Cluster answers the same commands, scripts
// and pub/sub. What differs is multi-key work: every script's keys share one hash tag (see
// redis-keys.ts), BullMQ's prefix is one hash tag, and batches of commands on keys of many slots
// go through `commandBatch` rather than one pipeline.
//
// Later outages are logged once when the first client loses its connection and once when the
// last one has it back (with how long it lasted and how many errors the clients saw), not per
// client, retry or request; and while a client is known to be disconnected, callers on the hot
// path ask isRedisDown() and decide at once instead of queueing a command that cannot be sent.

export type RedisTarget =
  | { kind: 'url'; url: string }
  /** Seed nodes; REDIS_URL still gives the password and TLS (rediss:) for every node, when set. */
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; url?: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; url?: string };

export class RedisUnavailableError extends Error {}

type Target = RedisTarget | string;

function asTarget(target: Target): RedisTarget {
  return typeof target === 'string' ? { kind: 'url', url: target } : target;
}

/** The variable an operator set, for messages. */
function describe(target: RedisTarget): string {
  if (target.kind === 'cluster') return `REDIS_CLUSTER_NODES=${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (target.kind === 'sentinel') return `REDIS_SENTINELS=${target.sentinels.map((n) => `${n.host}:${n.port}`).join(',')} (master "${target.name}")`;
  return `REDIS_URL=${redactUrl(target.url)}`;
}

/** Password, user, TLS and database of a redis:// or rediss:// URL, as client options. */
function urlOptions(url: string | undefined): RedisOptions {
  if (!url) return {};
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || 0);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(db ? { db } : {}),
  };
}

function connect(target: RedisTarget, opts: RedisOptions): Redis {
  if (target.kind === 'url') return new Redis(target.url, opts);
  if (target.kind === 'sentinel') return new Redis({ ...urlOptions(target.url), ...opts, sentinels: target.sentinels, name: target.name });
  const { enableAutoPipelining, autoPipeliningIgnoredCommands, lazyConnect, enableOfflineQueue, retryStrategy, ...redisOptions } = opts;
  const clusterOptions: ClusterOptions = {
    enableAutoPipelining,
    autoPipeliningIgnoredCommands,
    lazyConnect,
    enableOfflineQueue,
    redisOptions: { ...urlOptions(target.url), ...redisOptions },
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy as ClusterOptions['clusterRetryStrategy'] } : {}),
  };
  return new Cluster(target.nodes, clusterOptions) as unknown as Redis;
}

export async function probeRedis(target: Target, timeoutMs = 3000): Promise<void> {
  const t = asTarget(target);
  const probe = connect(t, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await withTimeout(probe.connect(), timeoutMs * 2);
    await withTimeout(probe.ping(), timeoutMs);
  } catch (err) {
    throw new RedisUnavailableError(`cannot reach Redis at ${describe(t)} (${(err as Error).message || String(err)})`);
  } finally {
    probe.disconnect();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/** Connections are named `keywarden:<purpose>:<pid>` so operators (and the benchmark) can tell them apart in CLIENT LIST. */
export function createRedis(target: Target, opts: RedisOptions & { purpose?: string } = {}): Redis {
  const { purpose = 'app', ...rest } = opts;
  const client = connect(asTarget(target), { maxRetriesPerRequest: 2, enableAutoPipelining: true, connectionName: `keywarden:${purpose}:${process.pid}`, ...rest });
  watchRedis(client, purpose);
  return client;
}

/** ioredis states in which a command cannot be sent now (it would wait in the offline queue). */
const DISCONNECTED = new Set(['close', 'reconnecting', 'end']);
const watched = new WeakSet<object>();
const down = new Set<object>();
let outage: { since: number; errors: number } | null = null;

/** True while the client is known to have no connection: what needs it should decide at once. */
export function isRedisDown(client: Redis | Cluster): boolean {
  return down.has(client) || DISCONNECTED.has(client.status);
}

/** True while any watched client has lost its connection. */
export function redisOutage(): boolean {
  return outage !== null;
}

/**
 * An error a Redis client (or a BullMQ queue or worker on one) reported: logged when it is the
 * first of an outage or no outage is under way, otherwise only counted.
 */
export function noteRedisError(err: Error, source: string): void {
  if (outage) {
    outage.errors++;
    return;
  }
  logger.warn({ err: err.message, source }, 'Redis error');
}

/** Follows a client's connection for the outage log and isRedisDown (createRedis does it). */
export function watchRedis(client: Redis | Cluster, purpose: string): void {
  if (watched.has(client)) return;
  watched.add(client);
  client.on('error', (err: Error) => {
    if (!down.has(client)) {
      down.add(client);
      if (!outage) {
        outage = { since: performance.now(), errors: 0 };
        logger.warn({ err: err.message, source: purpose }, 'Redis unreachable; limits answer per RATE_LIMIT_FAILURE_MODE until it is back (one line when it is)');
      }
    }
    if (outage) outage.errors++;
  });
  client.on('ready', () => {
    if (!down.delete(client) || down.size > 0 || !outage) return;
    logger.warn({ downMs: Math.round(performance.now() - outage.since), errors: outage.errors }, 'Redis reachable again');
    outage = null;
  });
  // Closed on purpose (or given up): no longer part of an outage.
  client.on('end', () => {
    if (down.delete(client) && down.size === 0) outage = null;
  });
}

/**
 * Commands sent together, read back as a pipeline's `[error, result]` pairs. On one node it is a
 * pipeline (one round trip). A Cluster refuses a pipeline whose keys live on several nodes, so
 * there each command goes on its own and the client's auto-pipelining batches them per node.
 */
export function commandBatch(redis: Redis): ChainableCommander {
  if (!redis.isCluster) return redis.pipeline();
  const sent: Promise<unknown>[] = [];
  const batch = new Proxy({} as ChainableCommander, {
    get(_t, name: string) {
      if (name === 'exec')
        return () =>
          Promise.all(
            sent.map((p) =>
              p.then(
                (r) => [null, r] as [null, unknown],
                (e: Error) => [e, null] as [Error, null],
              ),
            ),
          );
      return (...args: unknown[]) => {
        const command = (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
        sent.push(command.apply(redis, args));
        return batch;
      };
    },
  });
  return batch;
}
