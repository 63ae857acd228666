import type { Tx } from '../infra/db';
import { badInput } from '../infra/errors';
import { isUuid } from '../infra/validation';

// Keys join an identity (the customer or system behind them) at create, derive or update. The
// identity must be one of the key's account: another account's id is refused like an unknown one.

/** The identity id to store: null leaves (or keeps out of) any identity. */
export async function identityIdInAccount(tx: Tx, accountId: string, value: string | null): Promise<string | null> {
  if (value === null) return null;
  if (!isUuid(value)) throw badInput('input.identityId', `"${value}" is not a valid id`);
  const found = await tx.identity.findFirst({ where: { id: value.toLowerCase(), accountId }, select: { id: true } });
  if (!found) throw badInput('input.identityId', `no identity with id ${value} in this account`);
  return found.id;
}
