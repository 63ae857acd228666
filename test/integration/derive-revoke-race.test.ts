import type { Actor } from '../../src/access/admin';
import { deriveKey } from '../../src/keys/derive';
import { revokeKey } from '../../src/keys/revoke';
import { createKey } from '../../src/keys/create';
import { startHarness, type Harness } from '../helpers/harness';

// deriveKey racing revokeKey on the parent (or an ancestor), in real concurrent transactions:
// afterwards no key under a revoked key is ACTIVE. Each round starts the derivations and the
// revocation together; whichever commits first, the other sees it.

let h: Harness;
let actor: Actor;
beforeAll(async () => {
  h = await startHarness();
  const acct = await h.newAccount('race');
  actor = { accountId: acct.accountId, keyId: acct.keyId, master: true, effectivePermission: 'FULL_ACCESS', ip: null };
});
afterAll(() => h.close());

const input = (name: string) => ({ name, type: 'PRODUCTION' as const, permission: 'EXECUTE' as const });

async function activeUnderRevoked(accountId: string): Promise<string[]> {
  const revoked = await h.db.prisma.apiKey.findMany({ where: { accountId, status: 'REVOKED' }, select: { id: true } });
  if (revoked.length === 0) return [];
  const orphans = await h.db.prisma.apiKey.findMany({ where: { accountId, status: 'ACTIVE', ancestorIds: { hasSome: revoked.map((r) => r.id) } }, select: { id: true } });
  return orphans.map((o) => o.id);
}

test.each([
  ['the parent', 0],
  ['a grandparent', 1],
])('derivations racing the revocation of %s leave no ACTIVE key under a revoked one', async (_label, depth) => {
  for (let round = 0; round < 12; round++) {
    const top = await createKey(h.db, actor, { ...input(`top-${round}`), permission: 'FULL_ACCESS' });
    let parent = top.key;
    for (let d = 0; d < depth; d++) parent = (await deriveKey(h.db, actor, parent.id, { ...input(`mid-${round}-${d}`), permission: 'MANAGE' })).key;
    const outcomes = await Promise.allSettled([...Array.from({ length: 4 }, (_, i) => deriveKey(h.db, actor, parent.id, input(`child-${round}-${i}`))), revokeKey(h.db, actor, top.key.id, 'race')]);
    // The revocation always wins or waits; a derivation that lost says so plainly.
    expect(outcomes[4].status).toBe('fulfilled');
    for (const o of outcomes.slice(0, 4)) if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toBe('CONFLICT');
  }
  expect(await activeUnderRevoked(actor.accountId)).toEqual([]);
});
