import Redis, { type RedisOptions } from 'ioredis';
import { redactUrl } from './db';

// Redis is required (queues, counters, cache invalidation). Start-up probes it once and stops
// with one line naming REDIS_URL when it cannot be reached.

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
  return new Redis(url, { maxRetriesPerRequest: 2, enableAutoPipelining: true, connectionName: `keywarden:${purpose}:${process.pid}`, ...rest });
}
