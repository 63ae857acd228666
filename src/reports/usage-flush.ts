import type Redis from 'ioredis';
import type { Database, Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { commandBatch } from '../infra/redis';
import { lastUsedKey, usageCountriesKey, usageDirtyKey, usageHourKey } from '../infra/redis-keys';
import { recordSecurityEvent } from '../audit/security';

// Moves usage tallies from Redis into PostgreSQL in batches (run by a worker every few seconds),
// and runs the detectors that need history: GEO_ANOMALY (a key used from a country it was never
// used from before; its first country is not an anomaly) and USAGE_ANOMALY (see below).
// A batch is claimed with SPOP/read-and-delete, so two workers never count the same tally twice;
// a worker that dies between claiming and writing loses that batch (seconds of counts).

const HOUR_MS = 3_600_000;

const TAKE_HASH = `
local v = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return v
`;

export interface AnomalyRule {
  /** An hour is anomalous when its requests reach `factor` x the key's mean hourly requests over the previous 24 hours... */
  factor: number;
  /** ...and at least this many requests. */
  minRequests: number;
}

const DEFAULT_ANOMALY_RULE: AnomalyRule = { factor: 10, minRequests: 100 };

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

export async function flushUsage(db: Database, redis: Redis, prefix: string, opts: { batch?: number; rule?: AnomalyRule } = {}): Promise<{ rows: number; countries: number }> {
  const touched = await flushTallies(db, redis, prefix, opts.batch ?? 500);
  await flushLastUsed(db, redis, prefix);
  const countries = await flushCountries(db, redis, prefix);
  await detectUsageAnomalies(db, touched, opts.rule ?? DEFAULT_ANOMALY_RULE);
  return { rows: touched.length, countries };
}

interface TouchedHour {
  keyId: string;
  accountId: string;
  hour: number;
}

/** Hourly tallies into UsageRollup, a batch of dirty hours at a time. Returns the hours written. */
async function flushTallies(db: Database, redis: Redis, prefix: string, batch: number): Promise<TouchedHour[]> {
  const touched: TouchedHour[] = [];
  for (;;) {
    const members = (await redis.spop(usageDirtyKey(prefix), batch)) as string[];
    if (!members.length) break;
    const p = commandBatch(redis);
    for (const m of members) {
      const [keyId, hour] = m.split('|');
      p.eval(TAKE_HASH, 1, usageHourKey(prefix, keyId, Number(hour)));
    }
    const results = (await p.exec()) ?? [];
    await db.prisma.$transaction(async (tx) => {
      for (let i = 0; i < members.length; i++) {
        const [keyId, hour, accountId] = members[i].split('|');
        const tally = pairs((results[i]?.[1] as string[]) ?? []);
        if (!tally.requests) continue;
        await addToRollup(tx, keyId, accountId, Number(hour), tally);
        touched.push({ keyId, accountId, hour: Number(hour) });
      }
    });
  }
  return touched;
}

/**
 * Adds one hour's tally to its rollup row (a key deleted meanwhile is skipped). The row carries
 * the identity the key belongs to when it is flushed (seconds after the verifications), so an
 * identity's usage is the sum of its keys' rows.
 */
async function addToRollup(tx: Tx, keyId: string, accountId: string, hour: number, h: Record<string, string>): Promise<void> {
  const denied: Record<string, number> = {};
  for (const [f, v] of Object.entries(h)) if (f.startsWith('denied:')) denied[f.slice(7)] = Number(v);
  await tx.$executeRaw`
    INSERT INTO "UsageRollup" ("keyId", "accountId", "identityId", "hour", "requests", "allowed", "denied", "units", "bytes", "deniedByCode")
    SELECT k."id", ${accountId}::uuid, k."identityId", ${new Date(hour)}, ${Number(h.requests)}, ${Number(h.allowed ?? 0)}, ${Number(h.denied ?? 0)},
           ${Number(h.units ?? 0)}, ${Number(h.bytes ?? 0)}, ${JSON.stringify(denied)}::jsonb
      FROM "ApiKey" k WHERE k."id" = ${keyId}::uuid
    ON CONFLICT ("keyId", "hour") DO UPDATE SET
      "identityId" = EXCLUDED."identityId",
      "requests" = "UsageRollup"."requests" + EXCLUDED."requests",
      "allowed" = "UsageRollup"."allowed" + EXCLUDED."allowed",
      "denied" = "UsageRollup"."denied" + EXCLUDED."denied",
      "units" = "UsageRollup"."units" + EXCLUDED."units",
      "bytes" = "UsageRollup"."bytes" + EXCLUDED."bytes",
      "deniedByCode" = (
        SELECT COALESCE(jsonb_object_agg(k, COALESCE(("UsageRollup"."deniedByCode"->>k)::int, 0) + COALESCE((EXCLUDED."deniedByCode"->>k)::int, 0)), '{}'::jsonb)
        FROM jsonb_object_keys("UsageRollup"."deniedByCode" || EXCLUDED."deniedByCode") AS k
      )`;
}

/** Last-used times into ApiKey.lastUsedAt (never moved back). */
async function flushLastUsed(db: Database, redis: Redis, prefix: string): Promise<void> {
  const lastUsed = pairs((await redis.eval(TAKE_HASH, 1, lastUsedKey(prefix))) as string[]);
  const ids = Object.keys(lastUsed);
  if (ids.length === 0) return;
  await db.prisma.$executeRaw`
    UPDATE "ApiKey" AS k SET "lastUsedAt" = GREATEST(COALESCE(k."lastUsedAt", v.t), v.t)
    FROM unnest(${ids}::uuid[], ${ids.map((id) => new Date(Number(lastUsed[id])))}::timestamp[]) AS v(id, t)
    WHERE k.id = v.id`;
}

/** Countries seen into KeyCountry; a key's second and later countries raise GEO_ANOMALY. Returns how many were read. */
async function flushCountries(db: Database, redis: Redis, prefix: string): Promise<number> {
  const countries = (await redis.spop(usageCountriesKey(prefix), 10_000)) as string[];
  for (const entry of countries) {
    const [keyId, accountId, country] = entry.split('|');
    await db.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO "KeyCountry" ("keyId", "country", "firstSeenAt")
        SELECT ${keyId}::uuid, ${country}, ${clock.now()} WHERE EXISTS (SELECT 1 FROM "ApiKey" WHERE id = ${keyId}::uuid)
        ON CONFLICT DO NOTHING`;
      if (inserted === 0) return;
      const known = await tx.keyCountry.findMany({ where: { keyId }, select: { country: true } });
      if (known.length > 1) {
        await recordSecurityEvent(tx, {
          accountId,
          kind: 'GEO_ANOMALY',
          keyId,
          details: {
            country,
            knownCountries: known
              .map((k) => k.country)
              .filter((c) => c !== country)
              .sort(),
          },
        });
      }
    });
  }
  return countries.length;
}

/**
 * USAGE_ANOMALY: an hour whose requests reach `factor` times the key's mean hourly requests over
 * the 24 hours before it (hours without traffic count as 0), and at least `minRequests`. Keys
 * younger than a day have no baseline and are not judged. One event per key and hour.
 */
async function detectUsageAnomalies(db: Database, touched: TouchedHour[], rule: AnomalyRule): Promise<void> {
  const seen = new Set<string>();
  for (const t of touched) {
    const tag = `${t.keyId}|${t.hour}`;
    if (seen.has(tag)) continue;
    seen.add(tag);
    const hour = new Date(t.hour);
    const dayBefore = new Date(t.hour - 24 * HOUR_MS);
    const [current, key, history] = await Promise.all([
      db.prisma.usageRollup.findUnique({ where: { keyId_hour: { keyId: t.keyId, hour } }, select: { requests: true } }),
      db.prisma.apiKey.findUnique({ where: { id: t.keyId }, select: { createdAt: true } }),
      db.prisma.usageRollup.aggregate({ where: { keyId: t.keyId, hour: { gte: dayBefore, lt: hour } }, _sum: { requests: true } }),
    ]);
    if (!current || !key || key.createdAt > dayBefore) continue;
    const baseline = (history._sum.requests ?? 0) / 24;
    if (current.requests < rule.minRequests || current.requests < rule.factor * baseline) continue;
    await db.prisma.$transaction(async (tx) => {
      const already = await tx.securityEvent.count({ where: { keyId: t.keyId, kind: 'USAGE_ANOMALY', details: { path: ['hour'], equals: hour.toISOString() } } });
      if (already) return;
      await recordSecurityEvent(tx, {
        accountId: t.accountId,
        kind: 'USAGE_ANOMALY',
        keyId: t.keyId,
        details: { hour: hour.toISOString(), requests: current.requests, baselinePerHour: Math.round(baseline * 100) / 100, factor: rule.factor },
      });
    });
  }
}
