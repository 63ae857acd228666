import type { Prisma } from '../generated/prisma/client';
import type { Permission } from '../generated/prisma/enums';
import type { Database, Tx } from '../infra/db';
import { appendAudit } from '../audit/chain';
import { isKeyAdmin, mayAdministerKey, type Actor } from '../access/admin';
import { validateCondition } from '../access/condition';
import { narrowestRateLimits, type HierarchySettings, type ScopeSettings } from '../access/hierarchy';
import { lowestPermission } from '../access/permission';
import { clock } from '../infra/clock';
import { isHostnameEntry, sharedHostnameResolver } from '../infra/hostnames';
import { parseAllowlistEntry } from '../access/ip';
import { KeywardenError, badInput, forbidden, notFound } from '../infra/errors';
import { announceKeyChanges } from './events';
import { emitEvent } from '../events/outbox';
import { keyCreated, keyRevoked, keyUpdated } from '../events/key-events';
import { amountOf, assertWithinAncestors, loadChainRows, reportingEscalations, toHierarchySettings, type HierarchyRow } from './hierarchy';
import { KEY_PRESETS, isHighPrivilege, rotationDueAt, type RateLimitSetting } from './presets';
import { recordSecurityEvent } from '../audit/security';
import { digestSecret, generateSecret, startOf } from './secret';
import { futureDate, isUuid, normalizeIpAllowlist, normalizeName, normalizeRestrictions, normalizeScope, resolveExpiry, type CreateKeyInput, type ScopeInput, type UpdateKeyInput } from './settings';
import { keySettingsView } from './view';
import { unrevokedDescendantsWhere } from './queries';

// Create, derive, update and revoke keys. Each public function runs in one transaction with its
// audit events; caches are told after commit. The *InTx variants serve the bulk operations.

export const withWorkflows = { scopeWorkflows: { select: { id: true } } } as const;
export type KeyRecord = Prisma.ApiKeyGetPayload<{ include: typeof withWorkflows }>;

export interface IssuedKey {
  key: KeyRecord;
  secret: string;
}

/** Checks the scope's targets exist in the account and resolves their membership. */
async function resolveScope(tx: Tx, accountId: string, scope: ScopeInput): Promise<ScopeSettings> {
  if (scope.kind === 'SINGLE_AGENT') {
    const n = await tx.agent.count({ where: { id: scope.agentId!, accountId } });
    if (n === 0) throw badInput('input.scope.agentId', `no agent with id ${scope.agentId} in this account`);
    return { kind: 'SINGLE_AGENT', agentId: scope.agentId };
  }
  if (scope.kind === 'AGENT_GROUP') {
    const group = await tx.agentGroup.findFirst({ where: { id: scope.groupId!, accountId }, select: { agents: { select: { id: true } } } });
    if (!group) throw badInput('input.scope.groupId', `no agent group with id ${scope.groupId} in this account`);
    return { kind: 'AGENT_GROUP', groupId: scope.groupId, groupAgentIds: group.agents.map((a) => a.id) };
  }
  if (scope.kind === 'WORKFLOW') {
    const ids = scope.workflowIds!;
    const found = await tx.workflow.findMany({ where: { id: { in: ids }, accountId }, select: { id: true, agents: { select: { id: true } } } });
    const have = new Set(found.map((w) => w.id));
    const i = ids.findIndex((id) => !have.has(id));
    if (i >= 0) throw badInput(`input.scope.workflowIds[${i}]`, `no workflow with id ${ids[i]} in this account`);
    return { kind: 'WORKFLOW', workflowIds: ids, workflowAgentIds: found.flatMap((w) => w.agents.map((a) => a.id)) };
  }
  return { kind: 'ALL_AGENTS' };
}

function scopeData(scope: ScopeSettings, mode: 'create' | 'update') {
  const workflows = (scope.workflowIds ?? []).map((id) => ({ id }));
  return {
    scopeKind: scope.kind,
    scopeAgent: scope.agentId ? { connect: { id: scope.agentId } } : mode === 'update' ? { disconnect: true } : undefined,
    scopeGroup: scope.groupId ? { connect: { id: scope.groupId } } : mode === 'update' ? { disconnect: true } : undefined,
    scopeWorkflows: mode === 'create' ? { connect: workflows } : { set: workflows },
  };
}

/** The hierarchy-relevant settings of a key about to be written. */
function settingsOf(data: Record<string, unknown>, permission: Permission, expiresAt: Date | null, scope: ScopeSettings): HierarchySettings {
  return {
    permission,
    expiresAt: expiresAt ? expiresAt.getTime() : null,
    scope,
    ipAllowlist: (data.ipAllowlist as string[]) ?? [],
    rateLimits: (data.rateLimits as RateLimitSetting[]) ?? [],
    quota: amountOf(data.quota),
    bandwidth: amountOf(data.bandwidth),
    maxConcurrent: (data.maxConcurrent as number | null) ?? null,
    accessWindows: (data.accessWindows as unknown[]) ?? [],
    allowedCountries: (data.allowedCountries as string[]) ?? [],
  };
}

function scopeInputOf(row: HierarchyRow): ScopeInput {
  return { kind: row.scopeKind, agentId: row.scopeAgentId, groupId: row.scopeGroupId, workflowIds: row.scopeWorkflows.map((w) => w.id) };
}

/**
 * Creates a key in `tx`. With `parent`, the key is derived: fields the input leaves out are taken
 * from the parent (narrowed by the type's presets), and nothing may exceed any ancestor.
 */
export async function createKeyInTx(tx: Tx, actor: Actor, input: CreateKeyInput, parent?: { row: KeyRecord; chain: HierarchyRow[] }): Promise<IssuedKey> {
  const now = clock.now();
  const name = normalizeName('input.name', input.name);
  const preset = KEY_PRESETS[input.type];
  if (!preset) throw badInput('input.type', `unknown key type "${String(input.type)}"`);
  const parentSettings = parent ? toHierarchySettings(parent.chain[0]) : undefined;
  const parentEffective = parent ? lowestPermission(parent.chain.map((r) => r.permission)) : undefined;

  const permission = input.permission ?? (parentEffective ? lowestPermission([preset.permission, parentEffective]) : preset.permission);
  const scopeInput = normalizeScope('input.scope', input.scope ?? (parent ? scopeInputOf(parent.chain[0]) : { kind: 'ALL_AGENTS' }));
  let expiresAt = resolveExpiry(input, now);
  const data: Record<string, unknown> = normalizeRestrictions(input, validateCondition);
  if (parent && parentSettings) {
    const explicitExpiry = input.expiresIn != null || input.expiresAt != null;
    const parentExpiry = parent.chain.reduce<number | null>((min, r) => (r.expiresAt && (min === null || r.expiresAt.getTime() < min) ? r.expiresAt.getTime() : min), null);
    if (!explicitExpiry && parentExpiry !== null && (expiresAt === null || expiresAt.getTime() > parentExpiry)) expiresAt = new Date(parentExpiry);
    data.ipAllowlist ??= parentSettings.ipAllowlist;
    data.rateLimits ??= narrowestRateLimits(preset.rateLimits, parentSettings.rateLimits);
    data.quota ??= parent.row.quota ?? null;
    data.bandwidth ??= parent.row.bandwidth ?? null;
    data.maxConcurrent ??= parent.row.maxConcurrent;
    data.accessWindows ??= parent.row.accessWindows;
    data.allowedCountries ??= parent.row.allowedCountries;
  }
  data.rateLimits ??= preset.rateLimits;
  if (preset.requiresIpAllowlist && !(data.ipAllowlist as string[] | undefined)?.length) {
    throw badInput('input.ipAllowlist', `is required for ${input.type} keys`);
  }
  const scope = await resolveScope(tx, actor.accountId, scopeInput);
  if (parent) assertWithinAncestors(settingsOf(data, permission, expiresAt, scope), parent.chain);

  const secret = generateSecret(preset.env);
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
      rotationDueAt: rotationDueAt({ type: input.type, permission, rotationPeriodDays: data.rotationPeriodDays as number | null | undefined, from: now }),
      ...(data as object),
      quota: (data.quota ?? undefined) as Prisma.InputJsonValue | undefined,
      bandwidth: (data.bandwidth ?? undefined) as Prisma.InputJsonValue | undefined,
      metadata: (data.metadata ?? undefined) as Prisma.InputJsonValue | undefined,
      ...(parent ? { parent: { connect: { id: parent.row.id } }, ancestorIds: [...parent.row.ancestorIds, parent.row.id] } : {}),
      createdAt: now,
    },
    include: withWorkflows,
  });
  await appendAudit(tx, {
    accountId: actor.accountId,
    actorKeyId: actor.keyId,
    action: parent ? 'key.derive' : 'key.create',
    targetType: 'ApiKey',
    targetId: created.id,
    ip: actor.ip,
    before: null,
    after: keySettingsView(created),
  });
  await emitEvent(tx, keyCreated(created));
  // Keys that can do the most harm are worth a security event of their own (and its alert).
  if (isHighPrivilege(permission) || input.type === 'EMERGENCY') {
    await recordSecurityEvent(tx, {
      accountId: actor.accountId,
      kind: 'KEY_CREATED',
      severity: input.type === 'EMERGENCY' || permission === 'FULL_ACCESS' ? 'MEDIUM' : 'LOW',
      keyId: created.id,
      ip: actor.ip,
      details: { type: input.type, permission, derivedFrom: parent?.row.id ?? null, createdBy: actor.keyId },
    });
  }
  return { key: created, secret };
}

/**
 * Hostnames in an IP allowlist must resolve when they are set (refused otherwise: a name that
 * does not resolve would silently deny every request). Checked before any transaction opens.
 */
export async function assertHostnamesResolve(list: string[] | null | undefined): Promise<void> {
  if (!list) return;
  // Malformed entries are refused by their shape first, without any DNS lookup.
  normalizeIpAllowlist('input.ipAllowlist', list);
  const resolver = sharedHostnameResolver();
  await Promise.all(
    list.map(async (raw, i) => {
      const entry = raw.trim();
      if (parseAllowlistEntry(entry).ok || !isHostnameEntry(entry)) return;
      const addresses = await resolver.lookup(entry).catch(() => []);
      if (addresses.length === 0) throw badInput(`input.ipAllowlist[${i}]`, `hostname "${entry}" does not resolve to any address`);
    }),
  );
}

export async function createKey(db: Database, actor: Actor, input: CreateKeyInput): Promise<IssuedKey> {
  if (!actor.master) throw forbidden('only a master key can create keys; derive one from your key with deriveKey');
  await assertHostnamesResolve(input.ipAllowlist);
  return db.prisma.$transaction((tx) => createKeyInTx(tx, actor, input));
}

/** A usable key: not revoked, expired or replaced by rotation. */
export function assertUsable(key: { id: string; status: string; expiresAt: Date | null }, what: string): void {
  const now = clock.now();
  if (key.status === 'REVOKED') throw new KeywardenError('CONFLICT', `key ${key.id} is revoked; cannot ${what}`);
  if (key.status === 'EXPIRED' || (key.expiresAt && key.expiresAt <= now)) throw new KeywardenError('CONFLICT', `key ${key.id} has expired; cannot ${what}`);
  if (key.status === 'ROTATING') throw new KeywardenError('CONFLICT', `key ${key.id} has been rotated; use its successor to ${what}`);
}

export async function deriveKey(db: Database, actor: Actor, parentId: string, input: CreateKeyInput): Promise<IssuedKey> {
  if (!isKeyAdmin(actor)) throw forbidden('only a master key or a MANAGE/FULL_ACCESS key can derive keys');
  if (!isUuid(parentId)) throw notFound('key', parentId);
  await assertHostnamesResolve(input.ipAllowlist);
  return reportingEscalations(db.prisma, actor, { keyId: parentId, action: 'key.derive' }, () =>
    db.prisma.$transaction(async (tx) => {
      const parent = await tx.apiKey.findUnique({ where: { id: parentId.toLowerCase() }, include: withWorkflows });
      const own = parent && parent.id === actor.keyId && parent.accountId === actor.accountId;
      if (!parent || !(own || mayAdministerKey(actor, parent))) throw notFound('key', parentId);
      assertUsable(parent, 'derive from it');
      const chain = await loadChainRows(tx, parent);
      const issued = await createKeyInTx(tx, actor, input, { row: parent, chain });
      return issued;
    }),
  );
}

/** Loads a key the actor may administer, or fails as if it did not exist. */
export async function loadAdministeredKey(tx: Tx, actor: Actor, id: string): Promise<KeyRecord> {
  if (!isKeyAdmin(actor)) throw forbidden('this key may not administer keys (MANAGE or FULL_ACCESS needed)');
  if (!isUuid(id)) throw notFound('key', id);
  const key = await tx.apiKey.findUnique({ where: { id: id.toLowerCase() }, include: withWorkflows });
  if (!key || !mayAdministerKey(actor, key)) throw notFound('key', id);
  return key;
}

/** Validates an update once (shape only); the result is applied per key by updateKeyInTx. */
export function normalizeUpdate(input: UpdateKeyInput) {
  const now = clock.now();
  const data: Record<string, unknown> = normalizeRestrictions(input, validateCondition);
  if (input.name !== undefined) data.name = normalizeName('input.name', input.name);
  if (input.scope === null) throw badInput('input.scope', 'cannot be null; give ALL_AGENTS to remove the restriction');
  if (input.permission === null) throw badInput('input.permission', 'cannot be null');
  const scope = input.scope ? normalizeScope('input.scope', input.scope) : undefined;
  if (input.expiresAt) data.expiresAt = futureDate('input.expiresAt', input.expiresAt, now);
  else if (input.expiresAt === null) data.expiresAt = null;
  return { input, data, scope };
}

export async function updateKeyInTx(tx: Tx, actor: Actor, id: string, update: ReturnType<typeof normalizeUpdate>): Promise<KeyRecord> {
  const { input, scope } = update;
  const data = { ...update.data };
  const before = await loadAdministeredKey(tx, actor, id);
  assertUsable(before, 'change it');
  if (before.master && (input.permission !== undefined || scope !== undefined)) {
    throw badInput(input.permission !== undefined ? 'input.permission' : 'input.scope', 'a master key always has FULL_ACCESS to the whole account');
  }
  const permission = input.permission ?? before.permission;
  if (KEY_PRESETS[before.type].requiresIpAllowlist && data.ipAllowlist !== undefined && (data.ipAllowlist as string[]).length === 0) {
    throw badInput('input.ipAllowlist', `is required for ${before.type} keys`);
  }
  const [current, ...ancestors] = await loadChainRows(tx, before);
  const resolvedScope = scope ? await resolveScope(tx, actor.accountId, scope) : toHierarchySettings(current).scope;
  if (ancestors.length > 0) {
    const expiresAt = (data.expiresAt !== undefined ? data.expiresAt : before.expiresAt) as Date | null;
    assertWithinAncestors(settingsOf({ ...before, ...data }, permission, expiresAt, resolvedScope), ancestors);
  }
  if (input.permission !== undefined || input.rotationPeriodDays !== undefined) {
    data.rotationDueAt = rotationDueAt({
      type: before.type,
      permission,
      rotationPeriodDays: input.rotationPeriodDays !== undefined ? input.rotationPeriodDays : before.rotationPeriodDays,
      from: before.createdAt,
    });
  }
  const json = (v: unknown) => (v === null ? (null as never) : (v as Prisma.InputJsonValue | undefined));
  const after = await tx.apiKey.update({
    where: { id: before.id },
    data: {
      ...data,
      ...(input.permission ? { permission: input.permission } : {}),
      ...(scope ? scopeData(resolvedScope, 'update') : {}),
      quota: json(data.quota),
      bandwidth: json(data.bandwidth),
      metadata: json(data.metadata),
    },
    include: withWorkflows,
  });
  await appendAudit(tx, {
    accountId: actor.accountId,
    actorKeyId: actor.keyId,
    action: 'key.update',
    targetType: 'ApiKey',
    targetId: before.id,
    ip: actor.ip,
    before: keySettingsView(before),
    after: keySettingsView(after),
  });
  await emitEvent(tx, keyUpdated(before, after));
  return after;
}

export async function updateKey(db: Database, actor: Actor, id: string, input: UpdateKeyInput): Promise<KeyRecord> {
  const update = normalizeUpdate(input);
  await assertHostnamesResolve(input.ipAllowlist);
  const updated = await reportingEscalations(db.prisma, actor, { keyId: isUuid(id) ? id : undefined, action: 'key.update' }, () => db.prisma.$transaction((tx) => updateKeyInTx(tx, actor, id, update)));
  // Narrowing a key narrows its subtree: cached descendants must be re-read too.
  const subtree = await db.prisma.apiKey.findMany({ where: { ancestorIds: { has: updated.id } }, select: { id: true } });
  announceKeyChanges([updated.id, ...subtree.map((k) => k.id)]);
  return updated;
}

/** Revokes the key and its whole subtree; returns the ids revoked. */
export async function revokeKeyInTx(tx: Tx, actor: Actor, id: string, reason: string | null, opts: { skipRevoked?: boolean } = {}): Promise<{ root: KeyRecord; revoked: string[] }> {
  const now = clock.now();
  const target = await loadAdministeredKey(tx, actor, id);
  if (target.status === 'REVOKED') {
    if (opts.skipRevoked) return { root: target, revoked: [] };
    throw new KeywardenError('CONFLICT', `key ${id} is already revoked`);
  }
  if (target.master) {
    const others = await tx.apiKey.count({
      where: { accountId: actor.accountId, master: true, status: 'ACTIVE', id: { not: target.id }, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
    });
    if (others === 0) throw new KeywardenError('CONFLICT', "this is the account's last active master key; create another before revoking it");
  }
  const victims = await tx.apiKey.findMany({
    // The target (not revoked, checked above) and what descendantCount counts below it.
    where: { accountId: actor.accountId, OR: [{ id: target.id }, unrevokedDescendantsWhere(target.id)] },
    include: withWorkflows,
    orderBy: { createdAt: 'asc' },
  });
  const ids = victims.map((v) => v.id);
  await tx.apiKey.updateMany({ where: { id: { in: ids } }, data: { status: 'REVOKED', revokedAt: now, revokedReason: reason } });
  for (const v of victims) {
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      action: 'key.revoke',
      targetType: 'ApiKey',
      targetId: v.id,
      ip: actor.ip,
      before: keySettingsView(v),
      after: { ...keySettingsView(v), status: 'REVOKED', revokedAt: now, revokedReason: reason, cascadedFrom: v.id === target.id ? null : target.id },
    });
    await emitEvent(tx, keyRevoked(v, now, reason, v.id === target.id ? null : target.id));
  }
  const root = await tx.apiKey.findUniqueOrThrow({ where: { id: target.id }, include: withWorkflows });
  return { root, revoked: ids };
}

export function normalizeReason(reason: string | null | undefined): string | null {
  const why = reason?.trim() || null;
  if (why && why.length > 500) throw badInput('reason', 'must be at most 500 characters');
  return why;
}

/** Revokes the key and its whole subtree in one transaction, one audit event per key. */
export async function revokeKey(db: Database, actor: Actor, id: string, reason?: string | null): Promise<KeyRecord> {
  const why = normalizeReason(reason);
  const { root, revoked } = await db.prisma.$transaction((tx) => revokeKeyInTx(tx, actor, id, why), { timeout: 60_000 });
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
