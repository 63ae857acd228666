import type { Database, Tx } from '../infra/db';
import type { Actor } from '../access/admin';
import { recordSecurityEvent } from '../audit/security';
import { badInput } from '../infra/errors';
import { normalizeGrace } from '../infra/validation';
import { assertHostnamesResolve } from './allowlist';
import { announceKeyChanges } from './events';
import { reportingEscalations } from './hierarchy';
import { normalizeReason, revokeKeyInTx } from './revoke';
import { rotateKeyInTx, type Rotated } from './rotate';
import type { UpdateKeyInput } from './settings';
import { getStoredKey, type StoredKey } from './stored';
import { announceWithSubtrees, normalizeUpdate, updateKeyInTx } from './update';

// Bulk operations: all-or-nothing in one transaction, authorized key by key; a change to more
// keys than the threshold (BULK_OPERATION_THRESHOLD, passed in from the configuration) raises one
// BULK_OPERATION security event.

const MAX_BULK_IDS = 500;

export interface BulkOptions {
  /** A change to more keys than this raises a BULK_OPERATION security event. */
  threshold: number;
}

function normalizeIds(ids: readonly string[]): string[] {
  if (ids.length === 0) throw badInput('ids', 'must list at least one key id');
  if (ids.length > MAX_BULK_IDS) throw badInput('ids', `at most ${MAX_BULK_IDS} ids at once`);
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    const norm = String(id).toLowerCase();
    if (seen.has(norm)) throw badInput(`ids[${i}]`, `${id} is listed twice`);
    seen.add(norm);
  });
  return [...seen];
}

interface BulkRun<T> {
  action: string;
  work: (tx: Tx) => Promise<T>;
  changedCount: (r: NoInfer<T>) => number;
}

async function inBulk<T>(db: Database, actor: Actor, { threshold }: BulkOptions, { action, work, changedCount }: BulkRun<T>): Promise<T> {
  return db.prisma.$transaction(
    async (tx) => {
      const result = await work(tx);
      const changed = changedCount(result);
      if (changed > threshold) {
        await recordSecurityEvent(tx, { accountId: actor.accountId, kind: 'BULK_OPERATION', keyId: actor.keyId, actorOperatorId: actor.operatorId, ip: actor.ip, details: { action, keys: changed, threshold } });
      }
      return result;
    },
    { timeout: 120_000, maxWait: 10_000 },
  );
}

export async function revokeKeys(db: Database, actor: Actor, ids: readonly string[], reason: string | null | undefined, opts: BulkOptions): Promise<StoredKey[]> {
  const list = normalizeIds(ids);
  const why = normalizeReason(reason);
  const result = await inBulk(db, actor, opts, {
    action: 'key.revoke',
    work: async (tx) => {
      const revoked: string[] = [];
      // A key already revoked by an earlier id's cascade in this call is not an error.
      for (const id of list) {
        const r = await revokeKeyInTx(tx, actor, id, why, { skipRevoked: revoked.includes(id) });
        revoked.push(...r.revoked);
      }
      const roots: StoredKey[] = [];
      for (const id of list) roots.push(await getStoredKey(tx, id));
      return { roots, revoked };
    },
    changedCount: (r) => r.revoked.length,
  });
  announceKeyChanges(result.revoked);
  return result.roots;
}

export async function rotateKeys(db: Database, actor: Actor, ids: readonly string[], gracePeriodSeconds: number | null | undefined, opts: BulkOptions): Promise<Rotated[]> {
  const list = normalizeIds(ids);
  const grace = normalizeGrace(gracePeriodSeconds);
  const rotated = await inBulk(db, actor, opts, {
    action: 'key.rotate',
    work: async (tx) => {
      const out: Rotated[] = [];
      for (const id of list) out.push(await rotateKeyInTx(tx, actor, id, grace));
      return out;
    },
    changedCount: (r) => r.length,
  });
  announceKeyChanges(rotated.flatMap((r) => r.affected));
  return rotated;
}

export async function updateKeys(db: Database, actor: Actor, ids: readonly string[], input: UpdateKeyInput, opts: BulkOptions): Promise<StoredKey[]> {
  const list = normalizeIds(ids);
  const update = normalizeUpdate(input);
  await assertHostnamesResolve(input.ipAllowlist);
  const updated = await reportingEscalations(db.prisma, actor, { action: 'key.update' }, () =>
    inBulk(db, actor, opts, {
      action: 'key.update',
      work: async (tx) => {
        const out: StoredKey[] = [];
        for (const id of list) out.push(await updateKeyInTx(tx, actor, id, update));
        return out;
      },
      changedCount: (r) => r.length,
    }),
  );
  await announceWithSubtrees(
    db,
    updated.map((k) => k.id),
  );
  return updated;
}
