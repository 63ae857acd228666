import type { KeyStatus } from '../generated/prisma/enums';

// "Is this key usable", written once. A stored status lags behind time: a key past expiresAt is
// expired, and a rotated key past its grace period is revoked, before any sweep writes it. The
// verification decision, authentication, the admin operations and the reports all ask here.
// (keys/queries.ts statusWhere is the same rule as a database filter.)

export interface KeyState {
  status: KeyStatus;
  expiresAt: Date | number | null;
  graceEndsAt: Date | number | null;
}

const ms = (d: Date | number) => (typeof d === 'number' ? d : d.getTime());

/** Expired: marked so, or past its expiry. */
export function isExpired(k: KeyState, now: number): boolean {
  return k.status === 'EXPIRED' || (k.expiresAt !== null && ms(k.expiresAt) <= now);
}

/** Revoked: marked so, or rotated and past its grace period. */
export function isRevoked(k: KeyState, now: number): boolean {
  if (k.status === 'REVOKED') return true;
  return k.status === 'ROTATING' && k.graceEndsAt !== null && ms(k.graceEndsAt) <= now;
}

/** Usable for verification: ACTIVE, or ROTATING within its grace period, and not past expiry. */
export function isUsable(k: KeyState, now: number): boolean {
  return !isExpired(k, now) && !isRevoked(k, now);
}

/** The status as of `now`; a key both revoked and past expiry is REVOKED unless marked EXPIRED. */
export function effectiveStatus(k: KeyState, now: number): KeyStatus {
  if (k.status === 'EXPIRED') return 'EXPIRED';
  if (isRevoked(k, now)) return 'REVOKED';
  if (isExpired(k, now)) return 'EXPIRED';
  return k.status;
}

/** What decides whether a key is a lasting administrator of its account. */
export interface AdministratorState extends KeyState {
  master: boolean;
  ipAllowlist: readonly string[];
  accessWindows: readonly unknown[];
  allowedCountries: readonly string[];
  condition: string | null;
}

/**
 * A usable administrator nothing can lock out: a master key, ACTIVE and usable, that never
 * expires and whose requests no restriction can refuse (no IP allowlist, access windows,
 * countries or condition: any of them can exclude the very person who set it, at once or later).
 * An account keeps at least one: changes that would leave it none are refused.
 */
export function isLastingAdministrator(k: AdministratorState, now: number): boolean {
  if (!k.master || k.status !== 'ACTIVE' || !isUsable(k, now) || k.expiresAt !== null) return false;
  return k.ipAllowlist.length === 0 && k.accessWindows.length === 0 && k.allowedCountries.length === 0 && (k.condition ?? '').trim() === '';
}
