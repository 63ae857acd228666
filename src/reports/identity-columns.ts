import type { Database } from '../infra/db';

// The identity columns of the access and usage reports, next to the key's: the identity's id and
// the caller's own id for it (externalId). Names are looked up once per identity and report, a
// batch of rows at a time.

export const IDENTITY_COLUMNS = ['identityId', 'identityExternalId'] as const;
export type IdentityColumns = Record<(typeof IDENTITY_COLUMNS)[number], string | null>;

export class IdentityNames {
  private readonly externalIds = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly accountId: string,
  ) {}

  /** Looks up the identities of `ids` not seen before in this report (one query). */
  async learn(ids: Iterable<string | null>): Promise<void> {
    const unknown = [...new Set(ids)].filter((id): id is string => id !== null && !this.externalIds.has(id));
    if (unknown.length === 0) return;
    const found = await this.db.prisma.identity.findMany({ where: { accountId: this.accountId, id: { in: unknown } }, select: { id: true, externalId: true } });
    for (const i of found) this.externalIds.set(i.id, i.externalId);
  }

  /** The columns of one row; an identity deleted meanwhile keeps its id and has no externalId. */
  columns(identityId: string | null): IdentityColumns {
    return { identityId, identityExternalId: identityId === null ? null : (this.externalIds.get(identityId) ?? null) };
  }
}
