import Redis, { type Cluster, type RedisOptions } from 'ioredis';
import { redactUrl } from './db';
import { logger } from './logger';

// Redis is required (queues, counters, cache invalidation). Start-up probes it once and stops
// with one line naming REDIS_URL when it cannot be reached.
//
// Later outages are logged once when the first client loses its connection and once when the
// last one has it back (with how long it lasted and how many errors the clients saw), not per
// client, retry or request; and while a client is known to be disconnected, callers on the hot
// path ask isRedisDown() and decide at once instead of queueing a command that cannot be sent.

export class RedisUnavailableError extends Error {}

export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new RedisUnavailableError(`cannot reach Redis at REDIS_URL=${redactUrl(url)} (${(err as Error).message || String(err)})`);
  } finally {
    probe.disconnect();
  }
}

/** Connections are named `keywarden:<purpose>:<pid>` so operators (and the benchmark) can tell them apart in CLIENT LIST. */
export function createRedis(url: string, opts: RedisOptions & { purpose?: string } = {}): Redis {
  const { purpose = 'app', ...rest } = opts;
  const client = new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true, connectionName: `keywarden:${purpose}:${process.pid}`, ...rest });
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
