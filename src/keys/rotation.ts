import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { appendAudit } from '../audit/chain';
import { clock } from '../infra/clock';
import { announceKeyChanges } from './events';
import { emitEvent } from '../events/outbox';
import { keyRotated } from '../events/key-events';
import { assertUsable, loadAdministeredKey, withWorkflows, type KeyRecord } from './lifecycle';
import { KEY_PRESETS, rotationDueAt } from './presets';
import { digestSecret, generateSecret, startOf } from './secret';
import { keySettingsView } from './view';
import { normalizeGrace } from './settings';

// Rotation: a successor with the same settings and a new secret takes the key's place in the
// tree; the old key stays valid until graceEndsAt (0 = now) as ROTATING, then stops.

export interface Rotated {
  key: KeyRecord;
  secret: string;
  previous: KeyRecord;
  /** The old key and every key under it: their cached chains changed. */
  affected: string[];
}

export async function rotateKeyInTx(tx: Tx, actor: Actor, id: string, graceSeconds: number): Promise<Rotated> {
  const now = clock.now();
  const old = await loadAdministeredKey(tx, actor, id);
  assertUsable(old, 'rotate it');
  const preset = KEY_PRESETS[old.type];
  const secret = generateSecret(old.master ? 'root' : preset.env);
  // Same lifetime as the old key, from now; never past an ancestor's expiry.
  let expiresAt = old.expiresAt ? new Date(now.getTime() + (old.expiresAt.getTime() - old.createdAt.getTime())) : null;
  if (old.ancestorIds.length > 0) {
    const ancestors = await tx.apiKey.findMany({ where: { id: { in: old.ancestorIds }, expiresAt: { not: null } }, select: { expiresAt: true } });
    for (const a of ancestors) if (expiresAt === null || a.expiresAt! < expiresAt) expiresAt = a.expiresAt;
  }
  const json = (v: unknown) => (v === null ? undefined : (v as Prisma.InputJsonValue));
  const successor = await tx.apiKey.create({
    data: {
      accountId: old.accountId,
      name: old.name,
      digest: digestSecret(secret),
      start: startOf(secret),
      type: old.type,
      master: old.master,
      permission: old.permission,
      scopeKind: old.scopeKind,
      scopeAgentId: old.scopeAgentId,
      scopeGroupId: old.scopeGroupId,
      scopeWorkflows: { connect: old.scopeWorkflows.map((w) => ({ id: w.id })) },
      expiresAt,
      rotationPeriodDays: old.rotationPeriodDays,
      rotationDueAt: rotationDueAt({ type: old.type, permission: old.permission, rotationPeriodDays: old.rotationPeriodDays, from: now }),
      ipAllowlist: old.ipAllowlist,
      rateLimits: old.rateLimits as Prisma.InputJsonValue,
      quota: json(old.quota),
      bandwidth: json(old.bandwidth),
      maxConcurrent: old.maxConcurrent,
      accessWindows: old.accessWindows as Prisma.InputJsonValue,
      allowedCountries: old.allowedCountries,
      condition: old.condition,
      metadata: json(old.metadata),
      parentId: old.parentId,
      ancestorIds: old.ancestorIds,
      predecessorId: old.id,
      createdAt: now,
    },
    include: withWorkflows,
  });
  const graceEndsAt = new Date(now.getTime() + graceSeconds * 1000);
  const previous = await tx.apiKey.update({ where: { id: old.id }, data: { status: 'ROTATING', graceEndsAt }, include: withWorkflows });

  // Children move to the successor; every descendant's ancestor list follows.
  const children = await tx.apiKey.findMany({ where: { parentId: old.id }, select: { id: true } });
  await tx.apiKey.updateMany({ where: { parentId: old.id }, data: { parentId: successor.id } });
  await tx.$executeRaw`UPDATE "ApiKey" SET "ancestorIds" = array_replace("ancestorIds", ${old.id}::uuid, ${successor.id}::uuid) WHERE ${old.id}::uuid = ANY("ancestorIds")`;
  const descendants = await tx.apiKey.findMany({ where: { ancestorIds: { has: successor.id } }, select: { id: true } });

  const audit = { accountId: actor.accountId, actorKeyId: actor.keyId, ip: actor.ip, targetType: 'ApiKey' };
  await appendAudit(tx, { ...audit, action: 'key.rotate', targetId: old.id, before: keySettingsView(old), after: { ...keySettingsView(previous), successorId: successor.id } });
  await appendAudit(tx, { ...audit, action: 'key.create', targetId: successor.id, before: null, after: keySettingsView(successor) });
  for (const c of children) {
    await appendAudit(tx, { ...audit, action: 'key.reparent', targetId: c.id, before: { parentId: old.id }, after: { parentId: successor.id } });
  }
  await emitEvent(tx, keyRotated(successor, previous));
  return { key: successor, secret, previous, affected: [old.id, ...descendants.map((d) => d.id)] };
}

export async function rotateKey(db: Database, actor: Actor, id: string, gracePeriodSeconds?: number | null): Promise<Rotated> {
  const grace = normalizeGrace(gracePeriodSeconds);
  const rotated = await db.prisma.$transaction((tx) => rotateKeyInTx(tx, actor, id, grace), { timeout: 60_000 });
  announceKeyChanges(rotated.affected);
  return rotated;
}
