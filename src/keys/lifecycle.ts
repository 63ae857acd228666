import type { Prisma } from '../generated/prisma/client';
import type { Database, Tx } from '../infra/db';
import { appendAudit } from '../audit/chain';
import { isKeyAdmin, mayAdministerKey, type Actor } from '../access/admin';
import { validateCondition } from '../access/condition';
import { clock } from '../infra/clock';
import { KeywardenError, badInput, forbidden, notFound } from '../infra/errors';
import { announceKeyChanges } from './events';
import { KEY_PRESETS, rotationDueAt } from './presets';
import { digestSecret, generateSecret, startOf } from './secret';
import {
  isUuid,
  normalizeName,
  normalizeRestrictions,
  normalizeScope,
  resolveExpiry,
  futureDate,
  type CreateKeyInput,
  type ScopeInput,
  type UpdateKeyInput,
} from './settings';
import { keySettingsView } from './view';

// Create, update and revoke keys. Each runs in one transaction with its audit event; caches are
// told after commit.

const withWorkflows = { scopeWorkflows: { select: { id: true } } } as const;

async function assertScopeTargetsExist(tx: Tx, accountId: string, scope: ScopeInput): Promise<void> {
  if (scope.kind === 'SINGLE_AGENT') {
    const n = await tx.agent.count({ where: { id: scope.agentId!, accountId } });
    if (n === 0) throw badInput('input.scope.agentId', `no agent with id ${scope.agentId} in this account`);
  } else if (scope.kind === 'AGENT_GROUP') {
    const n = await tx.agentGroup.count({ where: { id: scope.groupId!, accountId } });
    if (n === 0) throw badInput('input.scope.groupId', `no agent group with id ${scope.groupId} in this account`);
  } else if (scope.kind === 'WORKFLOW') {
    const ids = scope.workflowIds!;
    const found = await tx.workflow.findMany({ where: { id: { in: ids }, accountId }, select: { id: true } });
    const have = new Set(found.map((w) => w.id));
    const i = ids.findIndex((id) => !have.has(id));
    if (i >= 0) throw badInput(`input.scope.workflowIds[${i}]`, `no workflow with id ${ids[i]} in this account`);
  }
}

function scopeData(scope: ScopeInput, mode: 'create' | 'update') {
  const workflows = (scope.workflowIds ?? []).map((id) => ({ id }));
  return {
    scopeKind: scope.kind,
    scopeAgent: scope.agentId ? { connect: { id: scope.agentId } } : mode === 'update' ? { disconnect: true } : undefined,
    scopeGroup: scope.groupId ? { connect: { id: scope.groupId } } : mode === 'update' ? { disconnect: true } : undefined,
    scopeWorkflows: mode === 'create' ? { connect: workflows } : { set: workflows },
  };
}

export interface IssuedKey<K> {
  key: K;
  secret: string;
}

type KeyRecord = Prisma.ApiKeyGetPayload<{ include: typeof withWorkflows }>;

export async function createKey(db: Database, actor: Actor, input: CreateKeyInput): Promise<IssuedKey<KeyRecord>> {
  if (!actor.master) throw forbidden('only a master key can create keys; derive one from your key with deriveKey');
  const now = clock.now();
  const name = normalizeName('input.name', input.name);
  const preset = KEY_PRESETS[input.type];
  if (!preset) throw badInput('input.type', `unknown key type "${String(input.type)}"`);
  const permission = input.permission ?? preset.permission;
  const scope = normalizeScope('input.scope', input.scope ?? { kind: 'ALL_AGENTS' });
  const expiresAt = resolveExpiry(input, now);
  const restrictions = normalizeRestrictions(input, validateCondition);
  if (restrictions.rateLimits === undefined) restrictions.rateLimits = preset.rateLimits;
  if (preset.requiresIpAllowlist && !((restrictions.ipAllowlist as string[] | undefined)?.length)) {
    throw badInput('input.ipAllowlist', `is required for ${input.type} keys`);
  }
  const secret = generateSecret(preset.env);

  const key = await db.prisma.$transaction(async (tx) => {
    await assertScopeTargetsExist(tx, actor.accountId, scope);
    const created = await tx.apiKey.create({
      data: {
        account: { connect: { id: actor.accountId } },
        name,
        digest: digestSecret(secret),
        start: startOf(secret),
        type: input.type,
        permission,
        ...scopeData(scope, 'create'),
        expiresAt,
        rotationDueAt: rotationDueAt({ type: input.type, permission, rotationPeriodDays: restrictions.rotationPeriodDays as number | null | undefined, from: now }),
        ...(restrictions as object),
        metadata: (restrictions.metadata ?? undefined) as object | undefined,
        createdAt: now,
      },
      include: withWorkflows,
    });
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      action: 'key.create',
      targetType: 'ApiKey',
      targetId: created.id,
      ip: actor.ip,
      before: null,
      after: keySettingsView(created),
    });
    return created;
  });
  return { key, secret };
}

/** Loads a key the actor may administer, or fails as if it did not exist. */
export async function loadAdministeredKey(tx: Tx, actor: Actor, id: string): Promise<KeyRecord> {
  if (!isKeyAdmin(actor)) throw forbidden('this key may not administer keys (MANAGE or FULL_ACCESS needed)');
  if (!isUuid(id)) throw notFound('key', id);
  const key = await tx.apiKey.findUnique({ where: { id }, include: withWorkflows });
  if (!key || !mayAdministerKey(actor, key)) throw notFound('key', id);
  return key;
}

export async function updateKey(db: Database, actor: Actor, id: string, input: UpdateKeyInput): Promise<KeyRecord> {
  const now = clock.now();
  const data: Record<string, unknown> = normalizeRestrictions(input, validateCondition);
  if (input.name !== undefined) data.name = normalizeName('input.name', input.name);
  const scope = input.scope ? normalizeScope('input.scope', input.scope) : undefined;
  if (input.scope === null) throw badInput('input.scope', 'cannot be null; give ALL_AGENTS to remove the restriction');
  if (input.permission === null) throw badInput('input.permission', 'cannot be null');
  if (input.expiresAt) data.expiresAt = futureDate('input.expiresAt', input.expiresAt, now);
  else if (input.expiresAt === null) data.expiresAt = null;

  const updated = await db.prisma.$transaction(async (tx) => {
    const before = await loadAdministeredKey(tx, actor, id);
    if (before.status === 'REVOKED' || before.status === 'EXPIRED') {
      throw new KeywardenError('CONFLICT', `key ${id} is ${before.status.toLowerCase()} and cannot be changed`);
    }
    if (before.master && (input.permission !== undefined || scope !== undefined)) {
      throw badInput(input.permission !== undefined ? 'input.permission' : 'input.scope', 'a master key always has FULL_ACCESS to the whole account');
    }
    const permission = input.permission ?? before.permission;
    if (KEY_PRESETS[before.type].requiresIpAllowlist && data.ipAllowlist !== undefined && (data.ipAllowlist as string[]).length === 0) {
      throw badInput('input.ipAllowlist', `is required for ${before.type} keys`);
    }
    if (scope) await assertScopeTargetsExist(tx, actor.accountId, scope);
    if (input.permission !== undefined || input.rotationPeriodDays !== undefined) {
      data.rotationDueAt = rotationDueAt({
        type: before.type,
        permission,
        rotationPeriodDays: input.rotationPeriodDays !== undefined ? input.rotationPeriodDays : before.rotationPeriodDays,
        from: before.createdAt,
      });
    }
    if (input.metadata === null) data.metadata = { set: null } as never;
    const after = await tx.apiKey.update({
      where: { id },
      data: {
        ...data,
        ...(input.permission ? { permission: input.permission } : {}),
        ...(scope ? scopeData(scope, 'update') : {}),
        metadata: data.metadata === null ? (null as never) : (data.metadata as object | undefined),
      },
      include: withWorkflows,
    });
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      action: 'key.update',
      targetType: 'ApiKey',
      targetId: id,
      ip: actor.ip,
      before: keySettingsView(before),
      after: keySettingsView(after),
    });
    return after;
  });
  announceKeyChanges([id]);
  return updated;
}

/** Revokes the key and its whole subtree in one transaction, one audit event per key. */
export async function revokeKey(db: Database, actor: Actor, id: string, reason?: string | null): Promise<KeyRecord> {
  const why = reason?.trim() || null;
  if (why && why.length > 500) throw badInput('reason', 'must be at most 500 characters');
  const now = clock.now();
  const { revoked, root } = await db.prisma.$transaction(async (tx) => {
    const target = await loadAdministeredKey(tx, actor, id);
    if (target.status === 'REVOKED') throw new KeywardenError('CONFLICT', `key ${id} is already revoked`);
    if (target.master) {
      const others = await tx.apiKey.count({
        where: { accountId: actor.accountId, master: true, status: 'ACTIVE', id: { not: id }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
      });
      if (others === 0) throw new KeywardenError('CONFLICT', 'this is the account\'s last active master key; create another before revoking it');
    }
    const victims = await tx.apiKey.findMany({
      where: { accountId: actor.accountId, status: { not: 'REVOKED' }, OR: [{ id }, { ancestorIds: { has: id } }] },
      include: withWorkflows,
      orderBy: { createdAt: 'asc' },
    });
    const ids = victims.map((v) => v.id);
    await tx.apiKey.updateMany({ where: { id: { in: ids } }, data: { status: 'REVOKED', revokedAt: now, revokedReason: why } });
    for (const v of victims) {
      await appendAudit(tx, {
        accountId: actor.accountId,
        actorKeyId: actor.keyId,
        action: 'key.revoke',
        targetType: 'ApiKey',
        targetId: v.id,
        ip: actor.ip,
        before: keySettingsView(v),
        after: { ...keySettingsView(v), status: 'REVOKED', revokedAt: now, revokedReason: why, cascadedFrom: v.id === id ? null : id },
      });
    }
    const rootAfter = await tx.apiKey.findUniqueOrThrow({ where: { id }, include: withWorkflows });
    return { revoked: ids, root: rootAfter };
  });
  announceKeyChanges(revoked);
  return root;
}

/** The first master key of a new account (bootstrap and first start). */
export async function createAccountWithMasterKey(db: Database, accountName: string): Promise<{ accountId: string; keyId: string; secret: string }> {
  const name = normalizeName('--account', accountName);
  const secret = generateSecret('root');
  const now = clock.now();
  try {
    return await db.prisma.$transaction(async (tx) => {
      const account = await tx.account.create({ data: { name, createdAt: now } });
      const key = await tx.apiKey.create({
        data: {
          accountId: account.id,
          name: 'master',
          digest: digestSecret(secret),
          start: startOf(secret),
          type: 'PRODUCTION',
          master: true,
          permission: 'FULL_ACCESS',
          rotationDueAt: rotationDueAt({ type: 'PRODUCTION', permission: 'FULL_ACCESS', from: now }),
          createdAt: now,
        },
        include: withWorkflows,
      });
      await appendAudit(tx, { accountId: account.id, actorKeyId: null, action: 'account.create', targetType: 'Account', targetId: account.id, ip: null, after: { name } });
      await appendAudit(tx, { accountId: account.id, actorKeyId: null, action: 'key.create', targetType: 'ApiKey', targetId: key.id, ip: null, after: keySettingsView(key) });
      return { accountId: account.id, keyId: key.id, secret };
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw new KeywardenError('CONFLICT', `an account named "${name}" already exists`);
    throw err;
  }
}
