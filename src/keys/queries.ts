import type { Prisma } from '../generated/prisma/client';
import type { KeyStatus, KeyType } from '../generated/prisma/enums';
import type { Actor } from '../access/admin';
import type { Database } from '../infra/db';
import { clock } from '../infra/clock';
import { isUuid } from '../infra/validation';

// Read-side filters for keys: which rows an actor may list, and what a status means at a moment
// (a key past expiresAt is EXPIRED even before the sweep marks it).

export function visibleKeysWhere(actor: Actor): Prisma.ApiKeyWhereInput {
  if (actor.master) return { accountId: actor.accountId };
  return { accountId: actor.accountId, ancestorIds: { has: actor.keyId } };
}

/** Keys whose status is `status` at `now`: access/usable.ts effectiveStatus as a database filter. */
export function statusWhere(status: KeyStatus, now = clock.now()): Prisma.ApiKeyWhereInput {
  const live = { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] };
  switch (status) {
    case 'ACTIVE':
      return { status: 'ACTIVE', ...live };
    case 'ROTATING':
      return { status: 'ROTATING', graceEndsAt: { gt: now }, ...live };
    case 'EXPIRED':
      return { OR: [{ status: 'EXPIRED' }, { status: { in: ['ACTIVE', 'ROTATING'] }, expiresAt: { lte: now }, NOT: { status: 'ROTATING', graceEndsAt: { lte: now } } }] };
    case 'REVOKED':
      return { OR: [{ status: 'REVOKED' }, { status: 'ROTATING', graceEndsAt: { lte: now } }] };
  }
}

export interface KeyFilter {
  status?: KeyStatus | null;
  type?: KeyType | null;
  search?: string | null;
  expiringBefore?: Date | null;
  parentId?: string | null;
}

export function keyFilterWhere(actor: Actor, filter: KeyFilter | null | undefined): Prisma.ApiKeyWhereInput {
  const and: Prisma.ApiKeyWhereInput[] = [visibleKeysWhere(actor)];
  if (filter?.status) and.push(statusWhere(filter.status));
  if (filter?.type) and.push({ type: filter.type });
  if (filter?.search?.trim()) {
    const s = filter.search.trim();
    and.push({ OR: [{ name: { contains: s, mode: 'insensitive' } }, { start: { startsWith: s } }] });
  }
  if (filter?.expiringBefore) and.push({ expiresAt: { lte: filter.expiringBefore } });
  if (filter?.parentId) and.push(isUuid(filter.parentId) ? { parentId: filter.parentId.toLowerCase() } : { id: { in: [] } });
  return { AND: and };
}

/** Descendants a revocation of `keyId` would take along: every key below it not yet revoked. */
export function unrevokedDescendantsWhere(keyId: string): Prisma.ApiKeyWhereInput {
  return { ancestorIds: { has: keyId }, status: { not: 'REVOKED' } };
}

/** For each of `keyIds`, how many keys below it are not revoked yet: one grouped count for the whole list. */
export async function countUnrevokedDescendants(db: Database, keyIds: readonly string[]): Promise<number[]> {
  const ids = [...keyIds];
  const rows = await db.prisma.$queryRaw<{ id: string; n: number }[]>`
    SELECT a."id"::text AS "id", count(*)::int AS "n"
      FROM "ApiKey" k, unnest(k."ancestorIds") AS a("id")
     WHERE k."ancestorIds" && ${ids}::uuid[] AND k."status" <> 'REVOKED' AND a."id" = ANY(${ids}::uuid[])
     GROUP BY a."id"`;
  const counts = new Map(rows.map((r) => [r.id, r.n]));
  return ids.map((id) => counts.get(id.toLowerCase()) ?? 0);
}
