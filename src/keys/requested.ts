import { mayAdministerKey, type Actor } from '../access/admin';
import type { Tx } from '../infra/db';
import { forbidden, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { assertUsable } from './administered';
import { createKeyInTx, type IssuedKey } from './create';
import { loadChain } from './hierarchy';
import type { CreateKeyInput } from './settings';
import { findStoredKey } from './stored';

// A key asked for under the two-person rule (operators/requests.ts) is issued by the rules of
// createKey (no parent: a master key or an operator) or deriveKey (under a parent the requester
// administers, never exceeding it), minus the approval gate: its approvals are the point.

export async function issueRequestedKey(tx: Tx, actor: Actor, input: CreateKeyInput, parentId: string | null): Promise<IssuedKey> {
  if (!parentId) {
    if (!actor.master) throw forbidden('only a master key or an operator can ask for a key at the top of the tree; give parentId to derive one');
    return createKeyInTx(tx, actor, input, undefined, { approved: true });
  }
  const parent = isUuid(parentId) ? await findStoredKey(tx, { id: parentId.toLowerCase() }) : null;
  const own = parent && parent.id === actor.keyId && parent.accountId === actor.accountId;
  if (!parent || !(own || mayAdministerKey(actor, parent))) throw notFound('key', parentId);
  assertUsable(parent, 'derive from it');
  return createKeyInTx(tx, actor, input, await loadChain(tx, parent), { approved: true });
}
