import type { Permission } from '../generated/prisma/enums';
import { canAdministerKeys } from './permission';

// Who may administer what: a master key its whole account; a MANAGE/FULL_ACCESS key the keys
// derived from it; any other key only reads `viewer` (the README's "Admin API rules").

export interface Actor {
  accountId: string;
  keyId: string;
  master: boolean;
  /** After inheritance: never above any ancestor's. */
  effectivePermission: Permission;
  ip: string | null;
}

export interface AdministeredKey {
  id: string;
  accountId: string;
  ancestorIds: readonly string[];
}

export function isKeyAdmin(actor: Actor): boolean {
  return actor.master || canAdministerKeys(actor.effectivePermission);
}

/** May `actor` change `key`? Strictly below it in the tree, or anything in the account for a master key. */
export function mayAdministerKey(actor: Actor, key: AdministeredKey): boolean {
  if (key.accountId !== actor.accountId) return false;
  if (actor.master) return true;
  return canAdministerKeys(actor.effectivePermission) && key.ancestorIds.includes(actor.keyId);
}

/** May `actor` see `key` in admin queries? Its administered keys, and itself. */
export function mayReadKey(actor: Actor, key: AdministeredKey): boolean {
  return key.accountId === actor.accountId && (key.id === actor.keyId || mayAdministerKey(actor, key));
}
