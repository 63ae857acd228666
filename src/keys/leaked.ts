import { emitEvent } from '../events/outbox';
import type { Actor } from '../access/admin';
import type { Tx, Database } from '../infra/db';
import { recordSecurityEvent } from '../audit/security';
import { KeywardenError } from '../infra/errors';
import { logger } from '../infra/logger';
import { announceKeyChanges } from './events';
import { keyLeaked } from './key-events';
import { revokeKeyInTx } from './revoke';
import { digestSecret, parseSecret } from './secret';
import { getStoredKey, type StoredKey } from './stored';

// Leaked keys (POST /v1/keys/leaked, `keywarden scan --report`): anyone may report secrets they
// found, as with public credential-revocation APIs. Each well-formed secret that matches a key
// not yet revoked revokes that key and its subtree and raises KEY_LEAKED, in one transaction per
// key. The reporter learns nothing about which secrets matched (the HTTP layer answers before
// this runs), so the endpoint cannot be used to test guesses.

export interface LeakReport {
  secrets: readonly string[];
  source: string | null;
  url: string | null;
  /** The reporter's address, recorded as the actor's IP in the audit log. */
  ip: string | null;
}

interface LeakOutcome {
  /** Keys that matched a reported secret and were not revoked before. */
  matched: number;
  /** Every key revoked, subtrees included. */
  revoked: string[];
}

/**
 * No key made the change: the audit log shows a null actor and the reporter's IP. A master
 * actor of the key's account passes revokeKeyInTx's administration check, which is the rule
 * here: a valid secret in the report is the authority.
 */
function systemActor(accountId: string, ip: string | null): Actor {
  return { accountId, keyId: null as unknown as string, master: true, effectivePermission: 'FULL_ACCESS', ip };
}

function leakReason(source: string | null): string {
  return source ? `leaked (${source})` : 'leaked';
}

/** Distinct digests of the well-formed secrets; malformed entries are dropped without a read. */
function leakedDigests(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => parseSecret(s) !== null).map(digestSecret))];
}

/**
 * Hook point for what else a leak announces within the same transaction. The KEY_LEAKED
 * security event (and with it the security.alert webhook) is written here; the `key.leaked`
 * webhook event (key-events.ts keyLeaked) belongs here as well, next to it.
 */
async function announceLeakInTx(tx: Tx, key: StoredKey, report: LeakReport, outcome: { revoked: string[]; note?: string }): Promise<void> {
  await recordSecurityEvent(tx, {
    accountId: key.accountId,
    kind: 'KEY_LEAKED',
    severity: 'CRITICAL',
    keyId: key.id,
    ip: report.ip,
    details: {
      source: report.source,
      url: report.url,
      revokedKeyIds: outcome.revoked,
      ...(outcome.note ? { note: outcome.note } : {}),
    },
  });
  await emitEvent(tx, keyLeaked(key, report));
}

async function handleOne(db: Database, keyId: string, accountId: string, report: LeakReport): Promise<string[]> {
  const actor = systemActor(accountId, report.ip);
  const reason = leakReason(report.source);
  try {
    return await db.prisma.$transaction(
      async (tx) => {
        const { root, revoked } = await revokeKeyInTx(tx, actor, keyId, reason, { skipRevoked: true });
        // Revoked meanwhile (by a concurrent report or by an ancestor's leak in this one): nothing new.
        if (revoked.length === 0) return [];
        await announceLeakInTx(tx, root, report, { revoked });
        return revoked;
      },
      { timeout: 60_000 },
    );
  } catch (err) {
    // The account's last active master key cannot be revoked without locking everyone out; the
    // owner is told at CRITICAL severity to create a new master key and revoke this one.
    if (err instanceof KeywardenError && err.code === 'CONFLICT') {
      await db.prisma.$transaction(async (tx) => {
        const key = await getStoredKey(tx, keyId);
        await announceLeakInTx(tx, key, report, { revoked: [], note: `not revoked: ${err.message}` });
      });
      return [];
    }
    throw err;
  }
}

export async function revokeLeakedKeys(db: Database, report: LeakReport): Promise<LeakOutcome> {
  const digests = leakedDigests(report.secrets);
  if (digests.length === 0) return { matched: 0, revoked: [] };
  const keys = await db.prisma.apiKey.findMany({
    where: { digest: { in: digests }, status: { not: 'REVOKED' } },
    select: { id: true, accountId: true },
    orderBy: { createdAt: 'asc' },
  });
  const revoked: string[] = [];
  for (const k of keys) {
    try {
      const ids = await handleOne(db, k.id, k.accountId, report);
      // Caches drop the keys as each transaction commits, not after the whole report.
      announceKeyChanges(ids);
      revoked.push(...ids);
    } catch (err) {
      // One failure must not spare the other reported keys.
      logger.error({ err, keyId: k.id }, 'could not revoke a leaked key');
    }
  }
  return { matched: keys.length, revoked };
}
