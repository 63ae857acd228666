import type { Database } from '../infra/db';
import { badInput } from '../infra/errors';

// Usage points for keys from the hourly rollups, by hour or by day (UTC).

export type Granularity = 'HOUR' | 'DAY';

export interface UsagePoint {
  start: Date;
  requests: number;
  allowed: number;
  denied: number;
  units: number;
  bytes: number;
}

export interface UsageRequest {
  keyId: string;
  from: Date;
  to: Date;
  granularity: Granularity;
}

export const usageRequestKey = (r: UsageRequest) => `${r.keyId}|${r.from.toISOString()}|${r.to.toISOString()}|${r.granularity}`;

const MAX_HOURLY_DAYS = 366;

export function validateUsageRange(from: Date, to: Date, granularity: Granularity): void {
  if (Number.isNaN(from.getTime())) throw badInput('from', 'is not a valid date');
  if (Number.isNaN(to.getTime())) throw badInput('to', 'is not a valid date');
  if (from > to) throw badInput('from', 'must not be after to');
  if (granularity === 'HOUR' && to.getTime() - from.getTime() > MAX_HOURLY_DAYS * 86_400_000) {
    throw badInput('to', `hourly usage covers at most ${MAX_HOURLY_DAYS} days; use granularity DAY`);
  }
}

export async function usagePoints(db: Database, keyIds: string[], from: Date, to: Date, granularity: Granularity): Promise<Map<string, UsagePoint[]>> {
  const unit = granularity === 'HOUR' ? 'hour' : 'day';
  const rows = await db.read.$queryRawUnsafe<{ keyId: string; start: Date; requests: number; allowed: number; denied: number; units: number; bytes: number }[]>(
    `SELECT "keyId", date_trunc('${unit}', "hour") AS start,
            SUM("requests")::int AS requests, SUM("allowed")::int AS allowed, SUM("denied")::int AS denied,
            SUM("units")::int AS units, SUM("bytes")::float8 AS bytes
       FROM "UsageRollup"
      WHERE "keyId" = ANY($1::uuid[]) AND "hour" >= $2 AND "hour" < $3
      GROUP BY 1, 2 ORDER BY 2`,
    keyIds,
    from,
    to,
  );
  const out = new Map<string, UsagePoint[]>();
  for (const r of rows) {
    const list = out.get(r.keyId) ?? [];
    list.push({ start: new Date(r.start), requests: Number(r.requests), allowed: Number(r.allowed), denied: Number(r.denied), units: Number(r.units), bytes: Number(r.bytes) });
    out.set(r.keyId, list);
  }
  return out;
}
