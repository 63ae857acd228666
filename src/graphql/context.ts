import DataLoader from 'dataloader';
import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { KeywardenError } from '../infra/errors';
import type { Permission } from '../generated/prisma/enums';
import type { AuthResult } from '../keys/authenticate';
import type Redis from 'ioredis';
import type { LiveFeed } from './live-feed';
import { usagePoints, usageRequestKey, type UsagePoint, type UsageRequest } from '../reports/usage-points';

// Per-request GraphQL context: the calling key (authenticated once), the database and loaders
// that batch per-row lookups so lists never cost a query per row.

export interface GraphQLContext {
  db: Database;
  redis?: Redis;
  prefix: string;
  /** BULK_OPERATION_THRESHOLD: more keys changed by one bulk mutation raise a security event. */
  bulkOperationThreshold: number;
  auth: AuthResult;
  /** GRAPHQL_MAX_DEPTH / GRAPHQL_MAX_COMPLEXITY and the breadth limit. */
  limits: { depth: number; complexity: number; breadth: number };
  /** Subscriptions' Redis feed; unset where the server has no subscriber connection. */
  live?: LiveFeed;
  loaders: {
    /** Key id -> its own permission (effectivePermission reads the ancestors through it). */
    keyPermission: DataLoader<string, Permission | null>;
    /** (key, range, granularity) -> usage points; one query per distinct range. */
    usage: DataLoader<UsageRequest, UsagePoint[], string>;
  };
}

/** The context of one admitted request: `auth` was decided from its header before anything was parsed. */
export function buildContext(deps: { db: Database; redis?: Redis; prefix?: string; bulkOperationThreshold?: number; live?: LiveFeed }, auth: AuthResult, limits: GraphQLContext['limits']): GraphQLContext {
  const db = deps.db;
  return {
    limits,
    db,
    redis: deps.redis,
    prefix: deps.prefix ?? 'kw',
    bulkOperationThreshold: deps.bulkOperationThreshold ?? 10,
    auth,
    live: deps.live,
    loaders: {
      usage: new DataLoader(
        async (reqs) => {
          const groups = new Map<string, UsageRequest[]>();
          for (const r of reqs) {
            const g = `${r.from.toISOString()}|${r.to.toISOString()}|${r.granularity}`;
            groups.set(g, [...(groups.get(g) ?? []), r]);
          }
          const results = new Map<string, UsagePoint[]>();
          for (const group of groups.values()) {
            const { from, to, granularity } = group[0];
            const byKey = await usagePoints(db, [...new Set(group.map((r) => r.keyId))], from, to, granularity);
            for (const r of group) results.set(usageRequestKey(r), byKey.get(r.keyId) ?? []);
          }
          return reqs.map((r) => results.get(usageRequestKey(r)) ?? []);
        },
        { cacheKeyFn: usageRequestKey },
      ),
      keyPermission: new DataLoader(async (ids) => {
        const rows = await db.prisma.apiKey.findMany({ where: { id: { in: [...ids] } }, select: { id: true, permission: true } });
        const map = new Map(rows.map((r) => [r.id, r.permission]));
        return ids.map((id) => map.get(id) ?? null);
      }),
    },
  };
}

/** The calling key, or UNAUTHENTICATED. */
export function actorOf(ctx: GraphQLContext): Actor {
  if (!ctx.auth.ok) throw new KeywardenError('UNAUTHENTICATED', ctx.auth.reason);
  return ctx.auth.actor;
}
