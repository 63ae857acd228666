import type { Permission } from '../generated/prisma/enums';

export const PERMISSION_ORDER: readonly Permission[] = ['READ_ONLY', 'EXECUTE', 'MANAGE', 'FULL_ACCESS'];

export function permissionRank(p: Permission): number {
  return PERMISSION_ORDER.indexOf(p);
}

/** Does `held` include `required`? Each level includes the ones before it. */
export function permits(held: Permission, required: Permission): boolean {
  return permissionRank(held) >= permissionRank(required);
}

/** The lowest of several permissions: what a key may do after inheritance. */
export function lowestPermission(perms: readonly Permission[]): Permission {
  return perms.reduce((low, p) => (permissionRank(p) < permissionRank(low) ? p : low), 'FULL_ACCESS' as Permission);
}

export function canAdministerKeys(p: Permission): boolean {
  return permits(p, 'MANAGE');
}
