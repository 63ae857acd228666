import type { Database } from '../infra/db';
import { identityView } from '../identities/identities';

// The identities and roles of exportConfiguration: what recreates them elsewhere (keys name them
// by id: identityId, roleIds).

export async function exportIdentitiesAndRoles(db: Database, accountId: string) {
  const [identities, roles] = await Promise.all([
    db.prisma.identity.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    db.prisma.role.findMany({ where: { accountId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true, name: true, description: true, permissions: true } }),
  ]);
  return { identities: identities.map(identityView), roles };
}
