import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { earliest } from '../access/chain';
import { assertNoApprovalRequired } from './approval-gate';
import { appendAudit } from '../audit/chain';
import { emitEvent } from '../events/outbox';
import { clock } from '../infra/clock';
import { normalizeGrace } from '../infra/validation';
import { assertUsable, loadAdministeredKey } from './administered';
import { announceKeyChanges } from './events';
import { keyRotated } from './key-events';
import { KEY_PRESETS, rotationDueAt } from './presets';
import { generateSecret, storedSecret } from './secret';
import { insertStoredKey, restrictionData, updateStoredKey, type StoredKey } from './stored';
import { keySettingsView } from './view';
import { successorCreditsData } from './credits';

// Rotation: a successor with the same settings and a new secret takes the key's place in the
// tree; the old key stays valid until graceEndsAt (0 = now) as ROTATING, then stops.

export interface Rotated {
  key: StoredKey;
  secret: string;
  previous: StoredKey;
  /** The old key and every key under it: their cached chains changed. */
  affected: string[];
}

/** Same lifetime as the old key, from now; never past an ancestor's expiry. */
async function successorExpiry(tx: Tx, old: StoredKey, now: Date): Promise<Date | null> {
  const own = old.expiresAt ? new Date(now.getTime() + (old.expiresAt.getTime() - old.createdAt.getTime())) : null;
  if (old.ancestorIds.length === 0) return own;
  const ancestors = await tx.apiKey.findMany({ where: { id: { in: old.ancestorIds }, expiresAt: { not: null } }, select: { expiresAt: true } });
  return earliest([own, ...ancestors.map((a) => a.expiresAt)]);
}

/** The successor: the old key's settings and place in the tree, a new secret and due date. */
async function insertSuccessor(tx: Tx, old: StoredKey, secret: string, now: Date): Promise<StoredKey> {
  return insertStoredKey(tx, {
    accountId: old.accountId,
    name: old.name,
    ...storedSecret(secret),
    type: old.type,
    master: old.master,
    permission: old.permission,
    identityId: old.identityId,
    permissions: old.permissions,
    roles: { connect: old.roles.map((r) => ({ id: r.id })) },
    ...successorCreditsData(old),
    scopeKind: old.scopeKind,
    scopeAgentId: old.scopeAgentId,
    scopeGroupId: old.scopeGroupId,
    scopeWorkflows: { connect: old.scopeWorkflows.map((w) => ({ id: w.id })) },
    expiresAt: await successorExpiry(tx, old, now),
    rotationDueAt: rotationDueAt({ type: old.type, permission: old.permission, rotationPeriodDays: old.rotationPeriodDays, from: now }),
    ...restrictionData(old),
    parentId: old.parentId,
    ancestorIds: old.ancestorIds,
    predecessorId: old.id,
    createdAt: now,
  });
}

/** Children move to the successor; every descendant's ancestor list follows. Returns the children moved. */
async function moveSubtree(tx: Tx, old: StoredKey, successor: StoredKey): Promise<{ children: string[]; descendants: string[] }> {
  const children = await tx.apiKey.findMany({ where: { parentId: old.id }, select: { id: true } });
  await tx.apiKey.updateMany({ where: { parentId: old.id }, data: { parentId: successor.id } });
  await tx.$executeRaw`UPDATE "ApiKey" SET "ancestorIds" = array_replace("ancestorIds", ${old.id}::uuid, ${successor.id}::uuid) WHERE ${old.id}::uuid = ANY("ancestorIds")`;
  const descendants = await tx.apiKey.findMany({ where: { ancestorIds: { has: successor.id } }, select: { id: true } });
  return { children: children.map((c) => c.id), descendants: descendants.map((d) => d.id) };
}

export async function rotateKeyInTx(tx: Tx, actor: Actor, id: string, graceSeconds: number): Promise<Rotated> {
  const now = clock.now();
  const old = await loadAdministeredKey(tx, actor, id);
  assertUsable(old, 'rotate it');
  await assertNoApprovalRequired(tx, actor.accountId, old);
  const secret = generateSecret(old.master ? 'root' : KEY_PRESETS[old.type].env);
  const successor = await insertSuccessor(tx, old, secret, now);
  const graceEndsAt = new Date(now.getTime() + graceSeconds * 1000);
  const previous = await updateStoredKey(tx, old.id, { status: 'ROTATING', graceEndsAt });
  const { children, descendants } = await moveSubtree(tx, old, successor);

  const audit = { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, ip: actor.ip, targetType: 'ApiKey' };
  await appendAudit(tx, { ...audit, action: 'key.rotate', targetId: old.id, before: keySettingsView(old), after: { ...keySettingsView(previous), successorId: successor.id } });
  await appendAudit(tx, { ...audit, action: 'key.create', targetId: successor.id, before: null, after: keySettingsView(successor) });
  for (const c of children) {
    await appendAudit(tx, { ...audit, action: 'key.reparent', targetId: c, before: { parentId: old.id }, after: { parentId: successor.id } });
  }
  await emitEvent(tx, keyRotated(successor, previous));
  return { key: successor, secret, previous, affected: [old.id, ...descendants] };
}

export async function rotateKey(db: Database, actor: Actor, id: string, gracePeriodSeconds?: number | null): Promise<Rotated> {
  const grace = normalizeGrace(gracePeriodSeconds);
  const rotated = await db.prisma.$transaction((tx) => rotateKeyInTx(tx, actor, id, grace), { timeout: 60_000 });
  announceKeyChanges(rotated.affected);
  return rotated;
}
