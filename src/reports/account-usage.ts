import { Prisma } from '../generated/prisma/client';
import type { Actor } from '../access/admin';
import type { Database } from '../infra/db';
import { validateUsageRange, type Granularity, type UsagePoint } from './usage-points';

// The account overview: traffic, busiest keys and denials summed over many keys, read from the
// hourly rollups only (never the verification log). Whose keys count follows the admin rules of
// the key list: a master key's whole account, a MANAGE/FULL_ACCESS key the keys below it.

/** Whose rollups count: an account, narrowed to the subtree below one key where `subtreeOf` is set. */
export interface UsageScope {
  accountId: string;
  subtreeOf: string | null;
}

export function usageScopeOf(actor: Actor): UsageScope {
  return { accountId: actor.accountId, subtreeOf: actor.master ? null : actor.keyId };
}

export interface KeyUsageTotal {
  keyId: string;
  requests: number;
  denied: number;
}

export interface CodeCount {
  code: string;
  count: number;
}

export const MAX_TOP_KEYS = 100;

/** The WHERE clause over `UsageRollup r` for a scope and [from, to). */
function rollupsWhere(scope: UsageScope, from: Date, to: Date): Prisma.Sql {
  const subtree = scope.subtreeOf ? Prisma.sql`AND r."keyId" IN (SELECT k."id" FROM "ApiKey" k WHERE k."accountId" = ${scope.accountId}::uuid AND k."ancestorIds" @> ARRAY[${scope.subtreeOf}::uuid])` : Prisma.empty;
  return Prisma.sql`WHERE r."accountId" = ${scope.accountId}::uuid AND r."hour" >= ${from} AND r."hour" < ${to} ${subtree}`;
}

/** Requests per hour or day (UTC) over every key in scope; buckets without traffic are left out. */
export async function accountUsage(db: Database, scope: UsageScope, from: Date, to: Date, granularity: Granularity): Promise<UsagePoint[]> {
  validateUsageRange(from, to, granularity);
  const unit = Prisma.raw(granularity === 'HOUR' ? `'hour'` : `'day'`);
  const rows = await db.prisma.$queryRaw<{ start: Date; requests: number; allowed: number; denied: number; units: number; bytes: number }[]>`
    SELECT date_trunc(${unit}, r."hour") AS start,
           SUM(r."requests")::int AS requests, SUM(r."allowed")::int AS allowed, SUM(r."denied")::int AS denied,
           SUM(r."units")::int AS units, SUM(r."bytes")::float8 AS bytes
      FROM "UsageRollup" r ${rollupsWhere(scope, from, to)}
     GROUP BY 1 ORDER BY 1`;
  return rows.map((r) => ({ start: new Date(r.start), requests: Number(r.requests), allowed: Number(r.allowed), denied: Number(r.denied), units: Number(r.units), bytes: Number(r.bytes) }));
}

/**
 * Requests per hour or day (UTC) of each identity's keys in scope (each rollup row carries the
 * identity of its key), for many identities in one grouped read.
 */
export async function identitiesUsage(db: Database, scope: UsageScope, identityIds: readonly string[], from: Date, to: Date, granularity: Granularity): Promise<Map<string, UsagePoint[]>> {
  validateUsageRange(from, to, granularity);
  const unit = Prisma.raw(granularity === 'HOUR' ? `'hour'` : `'day'`);
  const rows = await db.prisma.$queryRaw<{ identityId: string; start: Date; requests: number; allowed: number; denied: number; units: number; bytes: number }[]>`
    SELECT r."identityId"::text AS "identityId", date_trunc(${unit}, r."hour") AS start,
           SUM(r."requests")::int AS requests, SUM(r."allowed")::int AS allowed, SUM(r."denied")::int AS denied,
           SUM(r."units")::int AS units, SUM(r."bytes")::float8 AS bytes
      FROM "UsageRollup" r ${rollupsWhere(scope, from, to)} AND r."identityId" = ANY(${[...identityIds]}::uuid[])
     GROUP BY 1, 2 ORDER BY 2`;
  const out = new Map<string, UsagePoint[]>();
  for (const { identityId, ...r } of rows) {
    const list = out.get(identityId) ?? [];
    list.push({ start: new Date(r.start), requests: Number(r.requests), allowed: Number(r.allowed), denied: Number(r.denied), units: Number(r.units), bytes: Number(r.bytes) });
    out.set(identityId, list);
  }
  return out;
}

/**
 * The keys in scope with the most requests in [from, to), busiest first. With `deniedCode`: the
 * keys denied with that code, most such denials first, `denied` counting only those.
 */
export async function topKeys(db: Database, scope: UsageScope, from: Date, to: Date, first: number, deniedCode?: string | null): Promise<KeyUsageTotal[]> {
  validateUsageRange(from, to, 'DAY');
  const n = Math.min(Math.max(Math.trunc(first), 1), MAX_TOP_KEYS);
  const denied = deniedCode ? Prisma.sql`SUM(COALESCE((r."deniedByCode"->>${deniedCode})::int, 0))` : Prisma.sql`SUM(r."denied")`;
  const order = deniedCode ? Prisma.sql`3 DESC, 2 DESC` : Prisma.sql`2 DESC`;
  const having = deniedCode ? Prisma.sql`HAVING ${denied} > 0` : Prisma.empty;
  const rows = await db.prisma.$queryRaw<{ keyId: string; requests: number; denied: number }[]>`
    SELECT r."keyId"::text AS "keyId", SUM(r."requests")::int AS requests, ${denied}::int AS denied
      FROM "UsageRollup" r ${rollupsWhere(scope, from, to)}
     GROUP BY 1 ${having} ORDER BY ${order}, 1 LIMIT ${n}`;
  return rows.map((r) => ({ keyId: r.keyId, requests: Number(r.requests), denied: Number(r.denied) }));
}

/** Denied verifications in [from, to) by denial code, most frequent first. */
export async function deniedByCode(db: Database, scope: UsageScope, from: Date, to: Date): Promise<CodeCount[]> {
  validateUsageRange(from, to, 'DAY');
  const rows = await db.prisma.$queryRaw<{ code: string; count: number }[]>`
    SELECT d.key AS code, SUM(d.value::int)::int AS count
      FROM "UsageRollup" r CROSS JOIN LATERAL jsonb_each_text(r."deniedByCode") AS d ${rollupsWhere(scope, from, to)}
     GROUP BY 1 HAVING SUM(d.value::int) > 0 ORDER BY 2 DESC, 1`;
  return rows.map((r) => ({ code: r.code, count: Number(r.count) }));
}
