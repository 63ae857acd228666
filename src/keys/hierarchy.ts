import type { Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { findEscalations, type Escalation } from '../access/hierarchy';
import type { KeySettings, ScopeSettings } from '../access/key-settings';
import { recordSecurityEvent } from '../audit/security';
import { KeywardenError } from '../infra/errors';
import { loadScopeMembers, scopeSettingsOf } from './scope';
import { findStoredKeys, heldPermissions, type StoredKey } from './stored';
import { creditsSetting } from './credits';

// Loads a key's ancestor chain and enforces "a child only narrows".

/** What a stored key allows with `scope` (its own, membership resolved, or one about to be set), as the hierarchy rules compare it. */
export function keySettingsOf(k: StoredKey, scope: ScopeSettings): KeySettings {
  return {
    permission: k.permission,
    identityId: k.identityId,
    permissions: heldPermissions(k),
    expiresAt: k.expiresAt,
    scope,
    ipAllowlist: k.ipAllowlist,
    rateLimits: k.rateLimits,
    quota: k.quota,
    bandwidth: k.bandwidth,
    maxConcurrent: k.maxConcurrent,
    accessWindows: k.accessWindows,
    allowedCountries: k.allowedCountries,
    credits: creditsSetting(undefined, k),
  };
}

/** The key and every ancestor, nearest first. */
export async function loadChain(tx: Tx, key: { id: string; ancestorIds: string[] }): Promise<StoredKey[]> {
  const rows = await findStoredKeys(tx, { where: { id: { in: [key.id, ...key.ancestorIds] } } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return [key.id, ...[...key.ancestorIds].reverse()].flatMap((id) => byId.get(id) ?? []);
}

class EscalationError extends KeywardenError {
  constructor(readonly escalations: Escalation[]) {
    super('EXCEEDS_PARENT', `exceeds the parent key: ${escalations.map((e) => `${e.field} ${e.message}`).join('; ')}`, escalations[0]?.field);
  }
}

/** Throws EscalationError when `settings` reach beyond any key of `ancestors`. */
export async function assertWithinAncestors(tx: Tx, settings: KeySettings, ancestors: readonly StoredKey[]): Promise<void> {
  const members = await loadScopeMembers(tx, ancestors);
  const escalations = findEscalations(
    settings,
    ancestors.map((a) => keySettingsOf(a, scopeSettingsOf(a, members))),
  );
  if (escalations.length > 0) throw new EscalationError(escalations);
}

/**
 * Runs `work`; when it fails with EXCEEDS_PARENT, records a PRIVILEGE_ESCALATION security event
 * (in its own transaction: the refused change itself wrote nothing) and rethrows.
 */
export async function reportingEscalations<T>(db: { $transaction: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R> }, actor: Actor, target: { keyId?: string; action: string }, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EscalationError) {
      await db.$transaction((tx) =>
        recordSecurityEvent(tx, {
          accountId: actor.accountId,
          kind: 'PRIVILEGE_ESCALATION',
          keyId: target.keyId ?? null,
          actorOperatorId: actor.operatorId,
          ip: actor.ip,
          details: { action: target.action, actorKeyId: actor.keyId, escalations: err.escalations },
        }),
      );
    }
    throw err;
  }
}
