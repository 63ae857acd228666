// Every Redis key and channel name Keywarden uses, in one place. Each starts with the
// deployment's prefix (KEYWARDEN_REDIS_PREFIX), so several deployments can share one Redis.
// The part in braces is a Redis Cluster hash tag: the keys one script touches (an account's
// limit counters, one API key's slots, one client IP's counters) share a slot. The strings are what deployed Redis data is
// stored under: changing one orphans that data (test/unit/redis-keys.test.ts pins them).

/** Whose limits a counter holds: one API key's, or its identity's (shared by all its keys). */
export interface LimitOwner {
  accountId: string;
  kind: 'key' | 'identity';
  id: string;
}

// The counters of one verification (the key's and its identity's) carry the account's hash tag:
// one script touches them all, so they must share a Cluster slot.

/** A rate window's GCRA state (theoretical arrival time) of one key or identity. */
export function rateWindowKey(prefix: string, owner: LimitOwner, window: string): string {
  return `${prefix}:lim:{${owner.accountId}}:${owner.kind}:${owner.id}:rate:${window}`;
}

/** A quota ('quota') or bandwidth ('bw') counter of one key or identity for one calendar period. */
export function periodCounterKey(prefix: string, owner: LimitOwner, kind: 'quota' | 'bw', period: string, periodId: string): string {
  return `${prefix}:lim:{${owner.accountId}}:${owner.kind}:${owner.id}:${kind}:${period}:${periodId}`;
}

/** Credits spent of one API key's budget since it was set or last refilled (epoch). Kept for good. */
export function creditsSpentKey(prefix: string, accountId: string, keyId: string, epoch: number): string {
  return `${prefix}:lim:{${accountId}}:key:${keyId}:credits:${epoch}`;
}

/** The sorted set of an API key's concurrency slots in use. */
export function concurrencySlotsKey(prefix: string, keyId: string): string {
  return `${prefix}:lim:{${keyId}}:slots`;
}

/** Unknown keys presented from one client IP (brute-force guard). */
export function failedAttemptsKey(prefix: string, ip: string): string {
  return `${prefix}:bf:{${ip}}:fails`;
}

/** Admin API requests of one calling key in the current minute. */
export function adminRequestsKey(prefix: string, keyId: string): string {
  return `${prefix}:admin:{${keyId}}:requests`;
}

/** Leaked-key reports from one client IP. */
export function leakedReportsKey(prefix: string, ip: string): string {
  return `${prefix}:leaked:{${ip}}`;
}

/** Claims one security event of a kind per API key and detector window, across instances. */
export function securityAlertKey(prefix: string, keyId: string, kind: string, window: number): string {
  return `${prefix}:alert:{${keyId}}:${kind}:${window}`;
}

/** One API key's usage tallies for one hour (hour = its start, unix ms). */
export function usageHourKey(prefix: string, keyId: string, hour: number): string {
  return `${prefix}:usage:{${keyId}}:${hour}`;
}

/** The set of "keyId|hour|accountId" whose hourly tallies wait to be flushed to PostgreSQL. */
export function usageDirtyKey(prefix: string): string {
  return `${prefix}:usage:dirty`;
}

/** Hash of keyId -> last verification time (unix ms), waiting to be flushed. */
export function lastUsedKey(prefix: string): string {
  return `${prefix}:usage:lastused`;
}

/** The set of "keyId|accountId|country" seen since the last flush. */
export function usageCountriesKey(prefix: string): string {
  return `${prefix}:usage:countries`;
}

/** The newest verification attempts of one API key (a capped list, newest first). */
export function accessLogKey(prefix: string, keyId: string): string {
  return `${prefix}:access:{${keyId}}`;
}

/** Pub/sub channel carrying the ids of changed keys to every instance's key cache. */
export function keyInvalidationChannel(prefix: string): string {
  return `${prefix}:keys:invalidate`;
}

/** Pub/sub channel carrying the agents and workflows whose upstream changed to every instance's gateway. */
export function targetInvalidationChannel(prefix: string): string {
  return `${prefix}:targets:invalidate`;
}

/** BullMQ's prefix: one hash tag, so each queue's keys share a Cluster slot. */
export function bullPrefix(prefix: string): string {
  return `${prefix}:{bull}`;
}

/** Pub/sub channel of one account's live updates (new security events, changed keys) for GraphQL subscriptions. */
export function liveEventsChannel(prefix: string, accountId: string): string {
  return `${prefix}:live:${accountId}`;
}
