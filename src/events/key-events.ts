import type { SecurityEvent } from '../generated/prisma/client';
import { keySettingsView } from '../keys/view';
import type { NewEvent } from './outbox';

// What subscribers are told about keys and security events. Keys go through keySettingsView,
// which carries every setting and never the digest; secrets never reach the outbox at all.

type KeyRow = Parameters<typeof keySettingsView>[0];

export function keyCreated(key: KeyRow): NewEvent {
  return { accountId: key.accountId, type: 'key.created', data: { key: keySettingsView(key) } };
}

export function keyUpdated(before: KeyRow, after: KeyRow): NewEvent {
  return { accountId: after.accountId, type: 'key.updated', data: { key: keySettingsView(after), previous: keySettingsView(before) } };
}

/** `key` as it was before; a key revoked because an ancestor was names that ancestor. */
export function keyRevoked(key: KeyRow, revokedAt: Date, reason: string | null, cascadedFrom: string | null): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.revoked',
    data: { key: { ...keySettingsView(key), status: 'REVOKED', revokedAt, revokedReason: reason }, cascadedFrom },
  };
}

export function keyRotated(successor: KeyRow, previous: KeyRow): NewEvent {
  return { accountId: successor.accountId, type: 'key.rotated', data: { key: keySettingsView(successor), previous: keySettingsView(previous) } };
}

export function securityAlert(e: SecurityEvent): NewEvent {
  return {
    accountId: e.accountId,
    type: 'security.alert',
    data: { id: e.id, kind: e.kind, severity: e.severity, keyId: e.keyId, ip: e.ip, details: e.details, createdAt: e.createdAt },
  };
}

const DAY_MS = 86_400_000;

/** Once per key, threshold and expiry date: a key given a new expiry is warned again. */
export function keyExpiring(key: KeyRow & { expiresAt: Date }, thresholdDays: number, now: Date): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.expiring',
    data: { key: keySettingsView(key), daysLeft: Math.ceil((key.expiresAt.getTime() - now.getTime()) / DAY_MS), thresholdDays, expiresAt: key.expiresAt },
    dedupeKey: `key.expiring:${key.id}:${thresholdDays}:${key.expiresAt.getTime()}`,
  };
}

export function keyExpired(key: KeyRow): NewEvent {
  return { accountId: key.accountId, type: 'key.expired', data: { key: keySettingsView(key) }, dedupeKey: `key.expired:${key.id}` };
}

/** Once per due date: rotating the key gives its successor a new one. */
export function keyRotationDue(key: KeyRow & { rotationDueAt: Date }): NewEvent {
  return {
    accountId: key.accountId,
    type: 'key.rotation_due',
    data: { key: keySettingsView(key), rotationDueAt: key.rotationDueAt },
    dedupeKey: `key.rotation_due:${key.id}:${key.rotationDueAt.getTime()}`,
  };
}

/** For POST /v1/keys/leaked: the key as it was found, and where. */
export function keyLeaked(key: KeyRow, found: { source?: string | null; url?: string | null }): NewEvent {
  return { accountId: key.accountId, type: 'key.leaked', data: { key: keySettingsView(key), source: found.source ?? null, url: found.url ?? null } };
}
