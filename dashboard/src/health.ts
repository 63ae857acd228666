import type { KeyStatus } from './types';

// What the overview flags about a key; pure so it can be reasoned about from the fields alone.

export type Health = 'expiring-soon' | 'rotation-due' | 'unused' | 'rotating' | 'expired' | 'revoked';

export const EXPIRING_SOON_DAYS = 14;
export const UNUSED_DAYS = 90;
const DAY_MS = 86_400_000;

export interface HealthInput {
  status: KeyStatus;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  rotationDueAt: string | null;
}

export function keyHealth(k: HealthInput, now = Date.now()): Health[] {
  if (k.status === 'REVOKED') return ['revoked'];
  if (k.status === 'EXPIRED') return ['expired'];
  const flags: Health[] = [];
  if (k.status === 'ROTATING') flags.push('rotating');
  if (k.expiresAt && Date.parse(k.expiresAt) - now <= EXPIRING_SOON_DAYS * DAY_MS) flags.push('expiring-soon');
  if (k.rotationDueAt && Date.parse(k.rotationDueAt) <= now) flags.push('rotation-due');
  const lastSeen = k.lastUsedAt ?? k.createdAt;
  if (now - Date.parse(lastSeen) >= UNUSED_DAYS * DAY_MS) flags.push('unused');
  return flags;
}

export const HEALTH_LABEL: Record<Health, string> = {
  'expiring-soon': 'expiring soon',
  'rotation-due': 'rotation due',
  unused: 'unused',
  rotating: 'rotating',
  expired: 'expired',
  revoked: 'revoked',
};
