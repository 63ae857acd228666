import type { KeyType, Permission } from '../generated/prisma/enums';
import type { RateLimitSetting } from '../access/key-settings';
import type { SecretEnv } from './secret';

export interface KeyPreset {
  permission: Permission;
  /** null: never expires. */
  expiresInDays: number | null;
  rateLimits: RateLimitSetting[];
  /** null: rotation is due after each use instead of on a period. */
  rotationPeriodDays: number | null;
  requiresIpAllowlist: boolean;
  env: SecretEnv;
}

const DAY_MS = 86_400_000;
export const HIGH_PRIVILEGE_MAX_ROTATION_DAYS = 30;

export const KEY_PRESETS: Record<KeyType, KeyPreset> = {
  DEVELOPMENT: { permission: 'READ_ONLY', expiresInDays: 30, rateLimits: [{ window: 'MINUTE', limit: 60 }], rotationPeriodDays: 30, requiresIpAllowlist: false, env: 'dev' },
  PRODUCTION: { permission: 'EXECUTE', expiresInDays: 365, rateLimits: [{ window: 'MINUTE', limit: 6000 }], rotationPeriodDays: 90, requiresIpAllowlist: false, env: 'prod' },
  INTEGRATION: { permission: 'READ_ONLY', expiresInDays: 90, rateLimits: [{ window: 'MINUTE', limit: 600 }], rotationPeriodDays: 90, requiresIpAllowlist: false, env: 'int' },
  EMERGENCY: { permission: 'FULL_ACCESS', expiresInDays: 7, rateLimits: [{ window: 'MINUTE', limit: 12000 }], rotationPeriodDays: null, requiresIpAllowlist: true, env: 'emg' },
};

export const EXPIRATION_DAYS = { DAYS_30: 30, DAYS_90: 90, YEAR_1: 365, NEVER: null } as const;
export type Expiration = keyof typeof EXPIRATION_DAYS;

export function isHighPrivilege(permission: Permission): boolean {
  return permission === 'MANAGE' || permission === 'FULL_ACCESS';
}

/**
 * When rotation falls due: the type's period or the key's own override, capped at 30 days for
 * high-privilege keys. EMERGENCY keys have no period (due after each use).
 */
export function rotationDueAt(opts: { type: KeyType; permission: Permission; rotationPeriodDays?: number | null; from: Date }): Date | null {
  let days = opts.rotationPeriodDays ?? KEY_PRESETS[opts.type].rotationPeriodDays;
  if (days === null) return null;
  if (isHighPrivilege(opts.permission)) days = Math.min(days, HIGH_PRIVILEGE_MAX_ROTATION_DAYS);
  return new Date(opts.from.getTime() + days * DAY_MS);
}

export function addDays(from: Date, days: number): Date {
  return new Date(from.getTime() + days * DAY_MS);
}
