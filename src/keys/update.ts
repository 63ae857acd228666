import type { Permission } from '../generated/prisma/enums';
import type { Database, Tx } from '../infra/db';
import { assertNoApprovalRequired } from './approval-gate';
import { appendAudit } from '../audit/chain';
import type { Actor } from '../access/admin';
import { validateCondition } from '../access/condition';
import { normalizePermissionStrings } from '../access/permission-strings';
import { emitEvent } from '../events/outbox';
import { clock } from '../infra/clock';
import { badInput } from '../infra/errors';
import { isUuid, normalizeName } from '../infra/validation';
import { assertUsable, loadAdministeredKey } from './administered';
import { assertKeepsAdministrator } from './administrators';
import { assertHostnamesResolve } from './allowlist';
import { announceKeyChanges } from './events';
import { assertWithinAncestors, keySettingsOf, loadChain, reportingEscalations } from './hierarchy';
import { creditsData, creditsSetting } from './credits';
import { identityIdInAccount, rolesInAccount } from './identity-link';
import { keyUpdated } from './key-events';
import { KEY_PRESETS, rotationDueAt } from './presets';
import { loadScopeMembers, resolveScope, scopeSettingsOf, scopeUpdateData } from './scope';
import { futureDate, normalizeRestrictions, normalizeScope, type ScopeInput, type UpdateKeyInput } from './settings';
import { restrictionData, updateStoredKey, type KeyRestrictions, type StoredKey } from './stored';
import { keySettingsView } from './view';

// Changing a key: only what the input names, never beyond an ancestor, in one transaction with
// its audit event and key.updated. Validated once (normalizeUpdate), so updateKeys applies the
// same change to every key.

export interface KeyUpdate {
  input: UpdateKeyInput;
  /** The columns the input names, normalized (a field left out is left as it is). */
  changes: Partial<KeyRestrictions> & { name?: string; expiresAt?: Date | null; identityId?: string | null; permissions?: string[] };
  scope?: ScopeInput;
}

/** Validates an update once (shape only); the result is applied per key by updateKeyInTx. */
export function normalizeUpdate(input: UpdateKeyInput): KeyUpdate {
  const changes: KeyUpdate['changes'] = normalizeRestrictions(input, validateCondition);
  if (input.name !== undefined) changes.name = normalizeName('input.name', input.name);
  if (input.permissions !== undefined) changes.permissions = normalizePermissionStrings('input.permissions', input.permissions ?? []);
  if (input.scope === null) throw badInput('input.scope', 'cannot be null; give ALL_AGENTS to remove the restriction');
  if (input.permission === null) throw badInput('input.permission', 'cannot be null');
  const scope = input.scope ? normalizeScope('input.scope', input.scope) : undefined;
  if (input.expiresAt) changes.expiresAt = futureDate('input.expiresAt', input.expiresAt, clock.now());
  else if (input.expiresAt === null) changes.expiresAt = null;
  return { input, changes, scope };
}

/** Refuses what a key cannot be changed to: a master key's permission or scope, a dropped required allowlist. */
function assertChangeable(before: StoredKey, update: KeyUpdate): void {
  const { input, changes, scope } = update;
  if (before.master && (input.permission !== undefined || scope !== undefined)) {
    throw badInput(input.permission !== undefined ? 'input.permission' : 'input.scope', 'a master key always has FULL_ACCESS to the whole account');
  }
  if (KEY_PRESETS[before.type].requiresIpAllowlist && changes.ipAllowlist?.length === 0) {
    throw badInput('input.ipAllowlist', `is required for ${before.type} keys`);
  }
}

/** A new permission or rotation period moves the rotation due date (counted from creation). */
function newRotationDue(before: StoredKey, input: UpdateKeyInput, permission: Permission): { rotationDueAt?: Date | null } {
  if (input.permission === undefined && input.rotationPeriodDays === undefined) return {};
  const rotationPeriodDays = input.rotationPeriodDays !== undefined ? input.rotationPeriodDays : before.rotationPeriodDays;
  return { rotationDueAt: rotationDueAt({ type: before.type, permission, rotationPeriodDays, from: before.createdAt }) };
}

export async function updateKeyInTx(tx: Tx, actor: Actor, id: string, update: KeyUpdate): Promise<StoredKey> {
  const { input, changes, scope } = update;
  const before = await loadAdministeredKey(tx, actor, id);
  assertUsable(before, 'change it');
  assertChangeable(before, update);
  const permission = input.permission ?? before.permission;
  if (permission !== before.permission) await assertNoApprovalRequired(tx, actor.accountId, { ...before, permission }, before);
  if (input.identityId !== undefined) changes.identityId = await identityIdInAccount(tx, actor.accountId, input.identityId);
  const roles = input.roles !== undefined ? await rolesInAccount(tx, actor.accountId, input.roles ?? []) : before.roles;
  const newScope = scope && (await resolveScope(tx, actor.accountId, scope));
  if (before.ancestorIds.length > 0) {
    const ancestors = (await loadChain(tx, before)).slice(1);
    const scopeAfter = newScope || scopeSettingsOf(before, await loadScopeMembers(tx, [before]));
    const settings = keySettingsOf({ ...before, ...changes, roles, permission }, scopeAfter);
    await assertWithinAncestors(tx, { ...settings, credits: creditsSetting(input.credits, before) }, ancestors);
  }
  const after = await updateStoredKey(tx, before.id, {
    name: changes.name,
    expiresAt: changes.expiresAt,
    permissions: changes.permissions,
    ...creditsData(input.credits, clock.now(), before.creditsEpoch + 1),
    ...(input.roles !== undefined ? { roles: { set: roles.map((r) => ({ id: r.id })) } } : {}),
    ...(changes.identityId !== undefined ? { identity: changes.identityId ? { connect: { id: changes.identityId } } : { disconnect: true } } : {}),
    ...restrictionData(changes),
    ...newRotationDue(before, input, permission),
    ...(input.permission ? { permission: input.permission } : {}),
    ...(newScope ? scopeUpdateData(newScope) : {}),
  });
  await assertKeepsAdministrator(tx, before, after, input as Record<string, unknown>, clock.now());
  const audit = { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, action: 'key.update', targetType: 'ApiKey', targetId: before.id, ip: actor.ip };
  await appendAudit(tx, { ...audit, before: keySettingsView(before), after: keySettingsView(after) });
  await emitEvent(tx, keyUpdated(before, after));
  return after;
}

/** Narrowing a key narrows its subtree: every instance drops the keys and their descendants. */
export async function announceWithSubtrees(db: Database, keyIds: readonly string[]): Promise<void> {
  const subtree = await db.prisma.apiKey.findMany({ where: { ancestorIds: { hasSome: [...keyIds] } }, select: { id: true } });
  announceKeyChanges([...keyIds, ...subtree.map((k) => k.id)]);
}

export async function updateKey(db: Database, actor: Actor, id: string, input: UpdateKeyInput): Promise<StoredKey> {
  const update = normalizeUpdate(input);
  await assertHostnamesResolve(input.ipAllowlist);
  const updated = await reportingEscalations(db.prisma, actor, { keyId: isUuid(id) ? id : undefined, action: 'key.update' }, () => db.prisma.$transaction((tx) => updateKeyInTx(tx, actor, id, update)));
  await announceWithSubtrees(db, [updated.id]);
  return updated;
}
