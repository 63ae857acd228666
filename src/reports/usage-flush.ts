import type Redis from 'ioredis';
import type { Database } from '../infra/db';
import { clock } from '../infra/clock';
import { recordSecurityEvent } from '../audit/security';
import { usageKeys } from '../verify/usage';

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

export const DEFAULT_ANOMALY_RULE: AnomalyRule = { factor: 10, minRequests: 100 };

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

export async function flushUsage(db: Database, redis: Redis, prefix: string, opts: { batch?: number; rule?: AnomalyRule } = {}): Promise<{ rows: number; countries: number }> {
  const keys = usageKeys(prefix);
  const batch = opts.batch ?? 500;
  let rows = 0;
  const touched: { keyId: string; accountId: string; hour: number }[] = [];
  for (;;) {
    const members = (await redis.spop(keys.dirty, batch)) as string[];
    if (!members.length) break;
    const p = redis.pipeline();
    for (const m of members) {
      const [keyId, hour] = m.split('|');
      p.eval(TAKE_HASH, 1, keys.hourly(keyId, Number(hour)));
    }
    const results = (await p.exec()) ?? [];
    await db.prisma.$transaction(async (tx) => {
      for (let i = 0; i < members.length; i++) {
        const [keyId, hour, accountId] = members[i].split('|');
        const h = pairs((results[i]?.[1] as string[]) ?? []);
        if (!h.requests) continue;
        const denied: Record<string, number> = {};
        for (const [f, v] of Object.entries(h)) if (f.startsWith('denied:')) denied[f.slice(7)] = Number(v);
        await tx.$executeRaw`
          INSERT INTO "UsageRollup" ("keyId", "accountId", "hour", "requests", "allowed", "denied", "units", "bytes", "deniedByCode")
          SELECT ${keyId}::uuid, ${accountId}::uuid, ${new Date(Number(hour))}, ${Number(h.requests)}, ${Number(h.allowed ?? 0)}, ${Number(h.denied ?? 0)},
                 ${Number(h.units ?? 0)}, ${Number(h.bytes ?? 0)}, ${JSON.stringify(denied)}::jsonb
          WHERE EXISTS (SELECT 1 FROM "ApiKey" WHERE id = ${keyId}::uuid)
          ON CONFLICT ("keyId", "hour") DO UPDATE SET
            "requests" = "UsageRollup"."requests" + EXCLUDED."requests",
            "allowed" = "UsageRollup"."allowed" + EXCLUDED."allowed",
            "denied" = "UsageRollup"."denied" + EXCLUDED."denied",
            "units" = "UsageRollup"."units" + EXCLUDED."units",
            "bytes" = "UsageRollup"."bytes" + EXCLUDED."bytes",
            "deniedByCode" = (
              SELECT COALESCE(jsonb_object_agg(k, COALESCE(("UsageRollup"."deniedByCode"->>k)::int, 0) + COALESCE((EXCLUDED."deniedByCode"->>k)::int, 0)), '{}'::jsonb)
              FROM jsonb_object_keys("UsageRollup"."deniedByCode" || EXCLUDED."deniedByCode") AS k
            )`;
        rows++;
        touched.push({ keyId, accountId, hour: Number(hour) });
      }
    });
  }

  const lastUsed = pairs((await redis.eval(TAKE_HASH, 1, keys.lastUsed)) as string[]);
  const ids = Object.keys(lastUsed);
  if (ids.length) {
    await db.prisma.$executeRaw`
      UPDATE "ApiKey" AS k SET "lastUsedAt" = GREATEST(COALESCE(k."lastUsedAt", v.t), v.t)
      FROM unnest(${ids}::uuid[], ${ids.map((id) => new Date(Number(lastUsed[id])))}::timestamp[]) AS v(id, t)
      WHERE k.id = v.id`;
  }

  const countries = (await redis.spop(keys.countries, 10_000)) as string[];
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

  await detectUsageAnomalies(db, touched, opts.rule ?? DEFAULT_ANOMALY_RULE);
  return { rows, countries: countries.length };
}

/**
 * USAGE_ANOMALY: an hour whose requests reach `factor` times the key's mean hourly requests over
 * the 24 hours before it (hours without traffic count as 0), and at least `minRequests`. Keys
 * younger than a day have no baseline and are not judged. One event per key and hour.
 */
export async function detectUsageAnomalies(db: Database, touched: { keyId: string; accountId: string; hour: number }[], rule: AnomalyRule): Promise<void> {
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
