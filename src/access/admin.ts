import type { OperatorRole, Permission } from '../generated/prisma/enums';
import { canAdministerKeys } from './permission';

// Who may administer what: a master key its whole account; a MANAGE/FULL_ACCESS key the keys
// derived from it; any other key only reads `viewer` (the README's "Admin API rules").

export interface Actor {
  accountId: string;
  /** The calling key; null when a person (an operator) is signed in. */
  keyId: string | null;
  /** The signed-in person; null for a key. */
  operatorId?: string | null;
  /** The operator's role; null for a key (a master key can do what an OWNER can). */
  role?: OperatorRole | null;
  /** Account-wide rights: a master key, or any operator (an AUDITOR's are read-only). */
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
  return canAdministerKeys(actor.effectivePermission) && actor.keyId !== null && key.ancestorIds.includes(actor.keyId);
}

/** May `actor` see `key` in admin queries? Its administered keys, and itself. */
export function mayReadKey(actor: Actor, key: AdministeredKey): boolean {
  return key.accountId === actor.accountId && (key.id === actor.keyId || mayAdministerKey(actor, key));
}
