import { isLastingAdministrator } from '../access/usable';
import type { Tx } from '../infra/db';
import { KeywardenError } from '../infra/errors';
import { findStoredKeys, type StoredKey } from './stored';

// An account never loses its last usable administrator (access/usable isLastingAdministrator):
// a change to a master key that would leave none is refused with CONFLICT, naming what to do.

/** Whether a master key of the account other than `exceptId` is a lasting administrator, as the transaction sees it. */
export async function anotherAdministrator(tx: Tx, accountId: string, exceptId: string, now: Date): Promise<boolean> {
  const masters = await findStoredKeys(tx, { where: { accountId, master: true, status: 'ACTIVE', id: { not: exceptId } } });
  return masters.some((k) => isLastingAdministrator(k, now.getTime()));
}

/** Fields of a change that can lock a master key's holder out. */
const LOCKOUT_FIELDS = ['ipAllowlist', 'accessWindows', 'allowedCountries', 'condition', 'expiresAt'] as const;

/**
 * Refuses an update of a master key that leaves the account without a lasting administrator:
 * the key was one and would no longer be, or the change sets a restriction on it while no other
 * master key is one.
 */
export async function assertKeepsAdministrator(tx: Tx, before: StoredKey, after: StoredKey, input: Record<string, unknown>, now: Date): Promise<void> {
  if (!before.master || isLastingAdministrator(after, now.getTime())) return;
  const restricting = LOCKOUT_FIELDS.some((f) => input[f] !== undefined && input[f] !== null && !(Array.isArray(input[f]) && input[f].length === 0));
  if (!isLastingAdministrator(before, now.getTime()) && !restricting) return;
  if (await anotherAdministrator(tx, before.accountId, before.id, now)) return;
  throw new KeywardenError(
    'CONFLICT',
    'this change would leave the account without a usable master key (one that never expires, with no IP allowlist, access windows, countries or condition, any of which can lock its holder out); create such a master key first',
  );
}
