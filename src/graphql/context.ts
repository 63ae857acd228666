import DataLoader from 'dataloader';
import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { KeywardenError } from '../infra/errors';
import type { Permission } from '../generated/prisma/enums';
import { authenticate, type AuthResult } from '../keys/authenticate';
import type { KeyCache } from '../verify/cache';

// Per-request GraphQL context: the calling key (authenticated once), the database and loaders
// that batch per-row lookups so lists never cost a query per row.

export interface GraphQLContext {
  db: Database;
  auth: AuthResult;
  loaders: {
    /** Key id -> its own permission (effectivePermission reads the ancestors through it). */
    keyPermission: DataLoader<string, Permission | null>;
  };
}

export async function buildContext(deps: { db: Database; cache: KeyCache }, authorization: string | null, ip: string | null): Promise<GraphQLContext> {
  const auth = await authenticate(deps.cache, authorization, ip);
  const db = deps.db;
  return {
    db,
    auth,
    loaders: {
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
