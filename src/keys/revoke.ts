import type { Database, Tx } from '../infra/db';
import { appendAudit } from '../audit/chain';
import type { Actor } from '../access/admin';
import { isLastingAdministrator } from '../access/usable';
import { emitEvent } from '../events/outbox';
import { clock } from '../infra/clock';
import { KeywardenError, badInput } from '../infra/errors';
import { loadAdministeredKey } from './administered';
import { anotherAdministrator } from './administrators';
import { announceKeyChanges } from './events';
import { keyRevoked } from './key-events';
import { statusWhere, unrevokedDescendantsWhere } from './queries';
import { findStoredKeys, getStoredKey, lockKeyRows, type StoredKey } from './stored';
import { keySettingsView } from './view';

// Revoking a key revokes its whole subtree, one audit event and one key.revoked per key, in one
// transaction. The account's last active master key cannot go: the account would lock itself out.

export function normalizeReason(reason: string | null | undefined): string | null {
  const why = reason?.trim() || null;
  if (why && why.length > 500) throw badInput('reason', 'must be at most 500 characters');
  return why;
}

async function assertNotLastMaster(tx: Tx, target: StoredKey, now: Date): Promise<void> {
  if (!target.master) return;
  const others = await tx.apiKey.count({ where: { AND: [{ accountId: target.accountId, master: true, id: { not: target.id } }, statusWhere('ACTIVE', now)] } });
  if (others === 0) throw new KeywardenError('CONFLICT', "this is the account's last active master key; create another before revoking it");
  // The others may all be restricted (an allowlist, a condition, an expiry): one must be able to administer.
  if (isLastingAdministrator(target, now.getTime()) && !(await anotherAdministrator(tx, target.accountId, target.id, now))) {
    throw new KeywardenError('CONFLICT', "this is the account's last usable master key (the others are restricted or expire); create an unrestricted one before revoking it");
  }
}

async function recordRevocations(tx: Tx, actor: Actor, victims: readonly StoredKey[], root: StoredKey, change: { now: Date; reason: string | null }): Promise<void> {
  const { now, reason } = change;
  for (const v of victims) {
    const cascadedFrom = v.id === root.id ? null : root.id;
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      actorOperatorId: actor.operatorId,
      action: 'key.revoke',
      targetType: 'ApiKey',
      targetId: v.id,
      ip: actor.ip,
      before: keySettingsView(v),
      after: { ...keySettingsView(v), status: 'REVOKED', revokedAt: now, revokedReason: reason, cascadedFrom },
    });
    await emitEvent(tx, keyRevoked(v, now, reason, cascadedFrom));
  }
}

/** Revokes the key and its whole subtree; returns the ids revoked. */
export async function revokeKeyInTx(tx: Tx, actor: Actor, id: string, reason: string | null, opts: { skipRevoked?: boolean } = {}): Promise<{ root: StoredKey; revoked: string[] }> {
  const now = clock.now();
  // Locked before its subtree is read: a derivation from it (or below it) in flight either
  // committed (its child is in the subtree) or waits and then sees the key revoked.
  await lockKeyRows(tx, [(await loadAdministeredKey(tx, actor, id)).id]);
  const target = await loadAdministeredKey(tx, actor, id);
  if (target.status === 'REVOKED') {
    if (opts.skipRevoked) return { root: target, revoked: [] };
    throw new KeywardenError('CONFLICT', `key ${id} is already revoked`);
  }
  await assertNotLastMaster(tx, target, now);
  const victims = await findStoredKeys(tx, {
    // The target (not revoked, checked above) and what descendantCount counts below it.
    where: { accountId: actor.accountId, OR: [{ id: target.id }, unrevokedDescendantsWhere(target.id)] },
    orderBy: { createdAt: 'asc' },
  });
  const ids = victims.map((v) => v.id);
  await tx.apiKey.updateMany({ where: { id: { in: ids } }, data: { status: 'REVOKED', revokedAt: now, revokedReason: reason } });
  await recordRevocations(tx, actor, victims, target, { now, reason });
  return { root: await getStoredKey(tx, target.id), revoked: ids };
}

/** Revokes the key and its whole subtree in one transaction, one audit event per key. */
export async function revokeKey(db: Database, actor: Actor, id: string, reason?: string | null): Promise<StoredKey> {
  const why = normalizeReason(reason);
  const { root, revoked } = await db.prisma.$transaction((tx) => revokeKeyInTx(tx, actor, id, why), { timeout: 60_000 });
  announceKeyChanges(revoked);
  return root;
}
