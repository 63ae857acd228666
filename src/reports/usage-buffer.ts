import type Redis from 'ioredis';
import { logger } from '../infra/logger';
import { isRedisDown } from '../infra/redis';
import { accessLogKey, lastUsedKey, usageCountriesKey, usageDirtyKey, usageHourKey } from '../infra/redis-keys';

// Usage on the hot path without a Redis command per request: verifications are tallied in
// process and written to Redis once a second in one pipeline (per key and hour counters, the
// last-used time, the recent-access log, countries seen). A worker moves the Redis tallies into
// PostgreSQL rollups (src/reports/usage-flush.ts). A process that dies loses at most the last
// second of tallies; it never blocks or slows a verification.

const ACCESS_LOG_LENGTH = 1000;
const HOUR_MS = 3_600_000;

export interface UsageEntry {
  keyId: string;
  accountId: string;
  code: string;
  units: number;
  bytes: number;
  ip?: string;
  country?: string | null;
  agentId?: string;
  workflowId?: string;
  atMs: number;
}

interface Tally {
  keyId: string;
  accountId: string;
  hour: number;
  requests: number;
  allowed: number;
  denied: number;
  units: number;
  bytes: number;
  deniedByCode: Record<string, number>;
}

export class UsageBuffer {
  private tallies = new Map<string, Tally>();
  private lastUsed = new Map<string, number>();
  private access = new Map<string, UsageEntry[]>();
  private countries = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(e: UsageEntry): void {
    const hour = Math.floor(e.atMs / HOUR_MS) * HOUR_MS;
    const id = `${e.keyId}|${hour}`;
    let t = this.tallies.get(id);
    if (!t) {
      t = { keyId: e.keyId, accountId: e.accountId, hour, requests: 0, allowed: 0, denied: 0, units: 0, bytes: 0, deniedByCode: {} };
      this.tallies.set(id, t);
    }
    t.requests++;
    if (e.code === 'VALID') {
      t.allowed++;
      t.units += e.units;
      t.bytes += e.bytes;
      this.lastUsed.set(e.keyId, Math.max(e.atMs, this.lastUsed.get(e.keyId) ?? 0));
      if (e.country) this.countries.add(`${e.keyId}|${e.accountId}|${e.country}`);
    } else {
      t.denied++;
      t.deniedByCode[e.code] = (t.deniedByCode[e.code] ?? 0) + 1;
    }
    // Only the newest ACCESS_LOG_LENGTH entries survive a flush: entries are kept as they came
    // and serialized at flush time, and the array is cut back in bulk rather than shifted per call.
    let log = this.access.get(e.keyId);
    if (!log) {
      log = [];
      this.access.set(e.keyId, log);
    }
    log.push(e);
    if (log.length >= 2 * ACCESS_LOG_LENGTH) log.splice(0, log.length - ACCESS_LOG_LENGTH);
  }

  /** Writes what was tallied since the last flush to Redis, in one pipeline. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.tallies.size === 0 && this.access.size === 0) return Promise.resolve();
    const tallies = this.tallies;
    const lastUsed = this.lastUsed;
    const access = this.access;
    const countries = this.countries;
    this.tallies = new Map();
    this.lastUsed = new Map();
    this.access = new Map();
    this.countries = new Set();
    const p = this.redis.pipeline();
    for (const t of tallies.values()) {
      const k = usageHourKey(this.prefix, t.keyId, t.hour);
      p.hincrby(k, 'requests', t.requests);
      if (t.allowed) p.hincrby(k, 'allowed', t.allowed);
      if (t.denied) p.hincrby(k, 'denied', t.denied);
      if (t.units) p.hincrby(k, 'units', t.units);
      if (t.bytes) p.hincrbyfloat(k, 'bytes', t.bytes);
      for (const [code, n] of Object.entries(t.deniedByCode)) p.hincrby(k, `denied:${code}`, n);
      p.expire(k, 7 * 86_400);
      p.sadd(usageDirtyKey(this.prefix), `${t.keyId}|${t.hour}|${t.accountId}`);
    }
    for (const [keyId, ms] of lastUsed) p.hset(lastUsedKey(this.prefix), keyId, String(ms));
    for (const [keyId, entries] of access) {
      const log = accessLogKey(this.prefix, keyId);
      p.lpush(log, ...entries.slice(-ACCESS_LOG_LENGTH).map(accessLine));
      p.ltrim(log, 0, ACCESS_LOG_LENGTH - 1);
    }
    if (countries.size) p.sadd(usageCountriesKey(this.prefix), ...countries);
    this.flushing = p
      .exec()
      .then(() => undefined)
      // During an outage (logged once by infra/redis) every flush fails: not one line a second.
      .catch((err) => (isRedisDown(this.redis) ? undefined : logger.warn({ err: (err as Error).message }, 'could not write usage tallies to Redis')))
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** One line of a key's access log, as stored (JSON) and read back. */
export interface AccessLogEntry {
  at: string;
  ip: string | null;
  country: string | null;
  agentId: string | null;
  workflowId: string | null;
  code: string;
}

function accessLine(e: UsageEntry): string {
  const entry: AccessLogEntry = { at: new Date(e.atMs).toISOString(), ip: e.ip ?? null, country: e.country ?? null, agentId: e.agentId ?? null, workflowId: e.workflowId ?? null, code: e.code };
  return JSON.stringify(entry);
}

/** The newest `first` access-log entries of a key (newest first). */
export async function recentAccess(redis: Redis, prefix: string, keyId: string, first: number): Promise<AccessLogEntry[]> {
  const rows = await redis.lrange(accessLogKey(prefix, keyId), 0, Math.max(0, first - 1));
  return rows.map((r) => JSON.parse(r) as AccessLogEntry);
}
