import type { Permission } from '../generated/prisma/enums';
import type { Database, Tx } from '../infra/db';
import { appendAudit } from '../audit/chain';
import { recordSecurityEvent } from '../audit/security';
import type { Actor } from '../access/admin';
import { earliest, narrowestRateLimits } from '../access/chain';
import { validateCondition } from '../access/condition';
import type { KeySettings, ScopeSettings } from '../access/key-settings';
import { lowestPermission } from '../access/permission';
import { normalizePermissionStrings } from '../access/permission-strings';
import { emitEvent } from '../events/outbox';
import { clock } from '../infra/clock';
import { badInput, forbidden } from '../infra/errors';
import { normalizeName } from '../infra/validation';
import { assertHostnamesResolve } from './allowlist';
import { assertNoApprovalRequired } from './approval-gate';
import { assertWithinAncestors } from './hierarchy';
import { creditsData, creditsSetting } from './credits';
import { identityIdInAccount, rolesInAccount } from './identity-link';
import { keyCreated } from './key-events';
import { KEY_PRESETS, isHighPrivilege, rotationDueAt, type KeyPreset } from './presets';
import { resolveScope, scopeCreateData, scopeInputOf } from './scope';
import { generateSecret, storedSecret } from './secret';
import { normalizeRestrictions, normalizeScope, resolveExpiry, type CreateKeyInput, type ScopeInput } from './settings';
import { insertStoredKey, restrictionData, type KeyRestrictions, type StoredKey } from './stored';
import { keySettingsView } from './view';

// Creating a key, at the top of the tree (createKey) or under a parent (deriveKey, derive.ts):
// one transaction with its audit event, its key.created event and, for keys that can do the
// most harm, a security event.

export interface IssuedKey {
  key: StoredKey;
  secret: string;
}

/** What a new key will be: the input, with the type's presets and (derived) the parent's settings filled in. */
interface KeyPlan {
  name: string;
  permission: Permission;
  identityId: string | null;
  /** Own permission strings and role ids (a derived key: its parent's unless the input names them). */
  permissions: string[];
  roleIds: string[];
  /** Own strings plus the roles', once the roles are read. */
  held?: string[];
  scope: ScopeInput;
  expiresAt: Date | null;
  restrictions: Partial<KeyRestrictions> & Pick<KeyRestrictions, 'rateLimits'>;
}

/** Settings a derived key's input leaves out follow its parent; rate limits are the type's, narrowed by the parent's. */
function inheritRestrictions(given: Partial<KeyRestrictions>, preset: KeyPreset, parent: StoredKey): Partial<KeyRestrictions> {
  return {
    ...given,
    ipAllowlist: given.ipAllowlist ?? parent.ipAllowlist,
    rateLimits: given.rateLimits ?? narrowestRateLimits(preset.rateLimits, parent.rateLimits),
    quota: given.quota ?? parent.quota,
    bandwidth: given.bandwidth ?? parent.bandwidth,
    maxConcurrent: given.maxConcurrent ?? parent.maxConcurrent,
    accessWindows: given.accessWindows ?? parent.accessWindows,
    allowedCountries: given.allowedCountries ?? parent.allowedCountries,
  };
}

/** Unless the input names an expiry, a derived key expires no later than any ancestor. */
function inheritExpiry(expiresAt: Date | null, input: CreateKeyInput, chain: readonly StoredKey[]): Date | null {
  const chainExpiry = earliest(chain.map((k) => k.expiresAt));
  if (input.expiresIn != null || input.expiresAt != null || chainExpiry === null) return expiresAt;
  return expiresAt === null || expiresAt > chainExpiry ? chainExpiry : expiresAt;
}

/** `chain`: the parent and its ancestors, nearest first, when the key is derived. */
function planKey(input: CreateKeyInput, now: Date, chain?: readonly StoredKey[]): KeyPlan {
  const name = normalizeName('input.name', input.name);
  const preset = KEY_PRESETS[input.type];
  if (!preset) throw badInput('input.type', `unknown key type "${String(input.type)}"`);
  const parentEffective = chain ? lowestPermission(chain.map((k) => k.permission)) : undefined;
  const permission = input.permission ?? (parentEffective ? lowestPermission([preset.permission, parentEffective]) : preset.permission);
  const scope = normalizeScope('input.scope', input.scope ?? (chain ? scopeInputOf(chain[0]) : { kind: 'ALL_AGENTS' }));
  let expiresAt = resolveExpiry(input, now);
  let given = normalizeRestrictions(input, validateCondition);
  if (chain) {
    expiresAt = inheritExpiry(expiresAt, input, chain);
    given = inheritRestrictions(given, preset, chain[0]);
  }
  const restrictions = { ...given, rateLimits: given.rateLimits ?? preset.rateLimits };
  if (preset.requiresIpAllowlist && !restrictions.ipAllowlist?.length) throw badInput('input.ipAllowlist', `is required for ${input.type} keys`);
  // A derived key stays under its parent's identity unless the input names one.
  const identityId = input.identityId !== undefined ? input.identityId : (chain?.[0].identityId ?? null);
  const permissions = input.permissions != null ? normalizePermissionStrings('input.permissions', input.permissions) : (chain?.[0].permissions ?? []);
  const roleIds = input.roles ?? chain?.[0].roles.map((r) => r.id) ?? [];
  return { name, permission, identityId, permissions, roleIds, scope, expiresAt, restrictions };
}

/** What the plan allows, as the hierarchy compares it with the ancestors. */
function plannedSettings(plan: KeyPlan, scope: ScopeSettings): KeySettings {
  const r = plan.restrictions;
  return {
    permission: plan.permission,
    identityId: plan.identityId,
    permissions: plan.held ?? plan.permissions,
    expiresAt: plan.expiresAt,
    scope,
    ipAllowlist: r.ipAllowlist ?? [],
    rateLimits: r.rateLimits,
    quota: r.quota ?? null,
    bandwidth: r.bandwidth ?? null,
    maxConcurrent: r.maxConcurrent ?? null,
    accessWindows: r.accessWindows ?? [],
    allowedCountries: r.allowedCountries ?? [],
  };
}

interface NewKey {
  input: CreateKeyInput;
  plan: KeyPlan;
  scope: ScopeSettings;
  parent: StoredKey | undefined;
  secret: string;
  now: Date;
}

async function insertKey(tx: Tx, actor: Actor, { input, plan, scope, parent, secret, now }: NewKey): Promise<StoredKey> {
  return insertStoredKey(tx, {
    account: { connect: { id: actor.accountId } },
    name: plan.name,
    ...storedSecret(secret),
    type: input.type,
    permission: plan.permission,
    ...(plan.identityId ? { identity: { connect: { id: plan.identityId } } } : {}),
    ...creditsData(input.credits, now, 0),
    permissions: plan.permissions,
    roles: { connect: plan.roleIds.map((id) => ({ id })) },
    ...scopeCreateData(scope),
    expiresAt: plan.expiresAt,
    rotationDueAt: rotationDueAt({ type: input.type, permission: plan.permission, rotationPeriodDays: plan.restrictions.rotationPeriodDays, from: now }),
    ...restrictionData(plan.restrictions),
    ...(parent ? { parent: { connect: { id: parent.id } }, ancestorIds: [...parent.ancestorIds, parent.id] } : {}),
    createdAt: now,
  });
}

/** The audit event, key.created and, for the keys that can do the most harm, a security event. */
async function recordCreation(tx: Tx, actor: Actor, created: StoredKey, parent: StoredKey | undefined): Promise<void> {
  await appendAudit(tx, {
    accountId: actor.accountId,
    actorKeyId: actor.keyId,
    actorOperatorId: actor.operatorId,
    action: parent ? 'key.derive' : 'key.create',
    targetType: 'ApiKey',
    targetId: created.id,
    ip: actor.ip,
    before: null,
    after: keySettingsView(created),
  });
  await emitEvent(tx, keyCreated(created));
  if (isHighPrivilege(created.permission) || created.type === 'EMERGENCY') {
    await recordSecurityEvent(tx, {
      accountId: actor.accountId,
      kind: 'KEY_CREATED',
      severity: created.type === 'EMERGENCY' || created.permission === 'FULL_ACCESS' ? 'MEDIUM' : 'LOW',
      keyId: created.id,
      actorOperatorId: actor.operatorId,
      ip: actor.ip,
      details: { type: created.type, permission: created.permission, derivedFrom: parent?.id ?? null, createdBy: actor.keyId },
    });
  }
}

/**
 * Creates a key in `tx`. With `chain` (the parent and its ancestors, nearest first), the key is
 * derived: fields the input leaves out are taken from the parent, and nothing may exceed any ancestor.
 */
export async function createKeyInTx(tx: Tx, actor: Actor, input: CreateKeyInput, chain?: readonly StoredKey[], opts: { approved?: boolean } = {}): Promise<IssuedKey> {
  const now = clock.now();
  const plan = planKey(input, now, chain);
  // A key issued from an approved request (claimKeyRequest) has had its second person already.
  if (!opts.approved) await assertNoApprovalRequired(tx, actor.accountId, { permission: plan.permission, type: input.type, master: false });
  plan.identityId = await identityIdInAccount(tx, actor.accountId, plan.identityId);
  const roles = await rolesInAccount(tx, actor.accountId, plan.roleIds);
  plan.roleIds = roles.map((r) => r.id);
  plan.held = [...plan.permissions, ...roles.flatMap((r) => r.permissions)];
  const scope = await resolveScope(tx, actor.accountId, plan.scope);
  if (chain) await assertWithinAncestors(tx, { ...plannedSettings(plan, scope), credits: creditsSetting(input.credits, null) }, chain);
  const secret = generateSecret(KEY_PRESETS[input.type].env);
  const parent = chain?.[0];
  const created = await insertKey(tx, actor, { input, plan, scope, parent, secret, now });
  await recordCreation(tx, actor, created, parent);
  return { key: created, secret };
}

export async function createKey(db: Database, actor: Actor, input: CreateKeyInput): Promise<IssuedKey> {
  if (!actor.master) throw forbidden('only a master key can create keys; derive one from your key with deriveKey');
  await assertHostnamesResolve(input.ipAllowlist);
  return db.prisma.$transaction((tx) => createKeyInTx(tx, actor, input));
}
