import type { Database } from '../infra/db';
import { isKeyAdmin, mayAdministerKey, type Actor } from '../access/admin';
import { forbidden, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { assertUsable } from './administered';
import { assertHostnamesResolve } from './allowlist';
import { createKeyInTx, type IssuedKey } from './create';
import { loadChain, reportingEscalations } from './hierarchy';
import type { CreateKeyInput } from './settings';
import { findStoredKey, lockKeyRows } from './stored';

/**
 * A child of `parentId` that may only narrow it (EXCEEDS_PARENT otherwise, with a
 * PRIVILEGE_ESCALATION security event). A MANAGE/FULL_ACCESS key may derive from itself.
 */
export async function deriveKey(db: Database, actor: Actor, parentId: string, input: CreateKeyInput): Promise<IssuedKey> {
  if (!isKeyAdmin(actor)) throw forbidden('only a master key or a MANAGE/FULL_ACCESS key can derive keys');
  if (!isUuid(parentId)) throw notFound('key', parentId);
  await assertHostnamesResolve(input.ipAllowlist);
  return reportingEscalations(db.prisma, actor, { keyId: parentId, action: 'key.derive' }, () =>
    db.prisma.$transaction(async (tx) => {
      const found = await findStoredKey(tx, { id: parentId.toLowerCase() });
      const own = found && found.id === actor.keyId && found.accountId === actor.accountId;
      if (!found || !(own || mayAdministerKey(actor, found))) throw notFound('key', parentId);
      // The chain is locked and the parent read again: a revocation of the parent or an ancestor
      // either committed already (and is seen here) or waits, and then revokes the new child too.
      await lockKeyRows(tx, [...found.ancestorIds, found.id]);
      const parent = (await findStoredKey(tx, { id: found.id }))!;
      assertUsable(parent, 'derive from it');
      return createKeyInTx(tx, actor, input, await loadChain(tx, parent));
    }),
  );
}
