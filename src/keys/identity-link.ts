import type { Tx } from '../infra/db';
import { badInput } from '../infra/errors';
import { isUuid } from '../infra/validation';

// Keys join an identity (the customer or system behind them) and hold roles, at create, derive or
// update. Both must be of the key's account: another account's id is refused like an unknown one.

/** The identity id to store: null leaves (or keeps out of) any identity. */
export async function identityIdInAccount(tx: Tx, accountId: string, value: string | null): Promise<string | null> {
  if (value === null) return null;
  if (!isUuid(value)) throw badInput('input.identityId', `"${value}" is not a valid id`);
  const found = await tx.identity.findFirst({ where: { id: value.toLowerCase(), accountId }, select: { id: true } });
  if (!found) throw badInput('input.identityId', `no identity with id ${value} in this account`);
  return found.id;
}

/** The roles a key is to hold, each one of the key's account (errors name the entry). */
export async function rolesInAccount(tx: Tx, accountId: string, ids: readonly string[]): Promise<{ id: string; permissions: string[] }[]> {
  if (ids.length > 100) throw badInput('input.roles', 'at most 100 roles');
  ids.forEach((id, i) => {
    if (!isUuid(id)) throw badInput(`input.roles[${i}]`, `"${id}" is not a valid id`);
  });
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  const found = await tx.role.findMany({ where: { id: { in: unique }, accountId }, select: { id: true, permissions: true } });
  const i = ids.findIndex((id) => !found.some((r) => r.id === id.toLowerCase()));
  if (i >= 0) throw badInput(`input.roles[${i}]`, `no role with id ${ids[i]} in this account`);
  return found;
}
