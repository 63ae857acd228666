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
