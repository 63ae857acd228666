import type { NewEvent } from '../events/outbox';
import type { StoredKey } from './stored';
import { keySettingsView } from './view';

// What subscribers are told about keys. Keys go through keySettingsView, which carries every
// setting and never the digest; secrets never reach the outbox at all.

export function keyCreated(key: StoredKey): NewEvent {
  return { accountId: key.accountId, type: 'key.created', data: { key: keySettingsView(key) } };
}

export function keyUpdated(before: StoredKey, after: StoredKey): NewEvent {
  return { accountId: after.accountId, type: 'key.updated', data: { key: keySettingsView(after), previous: keySettingsView(before) } };
}

/** `key` as it was before; a key revoked because an ancestor was names that ancestor. */
export function keyRevoked(key: StoredKey, revokedAt: Date, reason: string | null, cascadedFrom: string | null): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.revoked',
    data: { key: { ...keySettingsView(key), status: 'REVOKED', revokedAt, revokedReason: reason }, cascadedFrom },
  };
}

export function keyRotated(successor: StoredKey, previous: StoredKey): NewEvent {
  return { accountId: successor.accountId, type: 'key.rotated', data: { key: keySettingsView(successor), previous: keySettingsView(previous) } };
}

const DAY_MS = 86_400_000;

/** Once per key, threshold and expiry date: a key given a new expiry is warned again. */
export function keyExpiring(key: StoredKey, expiresAt: Date, thresholdDays: number, now: Date): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.expiring',
    data: { key: keySettingsView(key), daysLeft: Math.ceil((expiresAt.getTime() - now.getTime()) / DAY_MS), thresholdDays, expiresAt },
    dedupeKey: `key.expiring:${key.id}:${thresholdDays}:${expiresAt.getTime()}`,
  };
}

export function keyExpired(key: StoredKey): NewEvent {
  return { accountId: key.accountId, type: 'key.expired', data: { key: keySettingsView(key) }, dedupeKey: `key.expired:${key.id}` };
}

/** Once per due date: rotating the key gives its successor a new one. */
export function keyRotationDue(key: StoredKey, rotationDueAt: Date): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.rotation_due',
    data: { key: keySettingsView(key), rotationDueAt },
    dedupeKey: `key.rotation_due:${key.id}:${rotationDueAt.getTime()}`,
  };
}

/** For POST /v1/keys/leaked: the key as it was found, and where. */
export function keyLeaked(key: StoredKey, found: { source?: string | null; url?: string | null }): NewEvent {
  return { accountId: key.accountId, type: 'key.leaked', data: { key: keySettingsView(key), source: found.source ?? null, url: found.url ?? null } };
}
