import type { Tx } from '../infra/db';
import { isKeyAdmin, mayAdministerKey, type Actor } from '../access/admin';
import { isExpired, type KeyState } from '../access/usable';
import { clock } from '../infra/clock';
import { KeywardenError, forbidden, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { findStoredKey, type StoredKey } from './stored';

// The key an admin operation acts on: one the caller may administer, and still usable.

/** Loads a key the actor may administer, or fails as if it did not exist. */
export async function loadAdministeredKey(tx: Tx, actor: Actor, id: string): Promise<StoredKey> {
  if (!isKeyAdmin(actor)) throw forbidden('this key may not administer keys (MANAGE or FULL_ACCESS needed)');
  if (!isUuid(id)) throw notFound('key', id);
  const key = await findStoredKey(tx, { id: id.toLowerCase() });
  if (!key || !mayAdministerKey(actor, key)) throw notFound('key', id);
  return key;
}

/** A key that may still be changed or derived from: not revoked, expired or replaced by rotation. */
export function assertUsable(key: KeyState & { id: string }, what: string): void {
  if (key.status === 'REVOKED') throw new KeywardenError('CONFLICT', `key ${key.id} is revoked; cannot ${what}`);
  if (isExpired(key, clock.nowMs())) throw new KeywardenError('CONFLICT', `key ${key.id} has expired; cannot ${what}`);
  if (key.status === 'ROTATING') throw new KeywardenError('CONFLICT', `key ${key.id} has been rotated; use its successor to ${what}`);
}
