import crypto from 'node:crypto';
import stableStringify from 'fast-json-stable-stringify';
import type { Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { toJson } from '../infra/json';

// The audit log is a hash chain per account: each event's hash covers its own fields and the
// previous event's hash, so altering or removing any row breaks every hash after it.
// Appends are serialized by the row lock on the account's chain head.

export interface AuditInput {
  accountId: string;
  actorKeyId: string | null;
  /** The operator (person) who made the change; null or absent for a key or the system. */
  actorOperatorId?: string | null;
  /** The Keywarden process behind a change no key or person made: "cli" (a server command), "scheduler" (a scheduled job). */
  actorSystem?: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditRecordFields extends AuditInput {
  sequence: number;
  createdAt: Date;
  prevHash: string;
}

export function hashAuditEvent(e: AuditRecordFields): string {
  const canonical = stableStringify({
    accountId: e.accountId,
    sequence: e.sequence,
    action: e.action,
    actorKeyId: e.actorKeyId,
    // Only events made by a person carry it, so the hashes of every earlier event stay as they were.
    ...(e.actorOperatorId ? { actorOperatorId: e.actorOperatorId } : {}),
    ...(e.actorSystem ? { actorSystem: e.actorSystem } : {}),
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    before: e.before ?? null,
    after: e.after ?? null,
    createdAt: e.createdAt.toISOString(),
  });
  return crypto.createHash('sha256').update(e.prevHash).update('\n').update(canonical).digest('hex');
}

export async function appendAudit(tx: Tx, input: AuditInput): Promise<{ id: string; sequence: number; hash: string }> {
  const head = await tx.account.update({
    where: { id: input.accountId },
    data: { auditSequence: { increment: 1 } },
    select: { auditSequence: true, auditHeadHash: true },
  });
  // JSON-safe copies (Dates as ISO strings), so what is hashed is exactly what PostgreSQL stores.
  const before = toJson(input.before);
  const after = toJson(input.after);
  const fields: AuditRecordFields = {
    ...input,
    before,
    after,
    sequence: head.auditSequence,
    createdAt: clock.now(),
    prevHash: head.auditHeadHash,
  };
  const hash = hashAuditEvent(fields);
  const row = await tx.auditEvent.create({
    data: {
      accountId: fields.accountId,
      sequence: fields.sequence,
      action: fields.action,
      actorKeyId: fields.actorKeyId,
      actorOperatorId: fields.actorOperatorId ?? null,
      actorSystem: fields.actorSystem ?? null,
      targetType: fields.targetType,
      targetId: fields.targetId,
      ip: fields.ip,
      before: before ?? undefined,
      after: after ?? undefined,
      createdAt: fields.createdAt,
      prevHash: fields.prevHash,
      hash,
    },
    select: { id: true },
  });
  await tx.account.update({ where: { id: input.accountId }, data: { auditHeadHash: hash } });
  return { id: row.id, sequence: fields.sequence, hash };
}

export interface ChainStatus {
  valid: boolean;
  checked: number;
  firstBrokenSequence: number | null;
}

/** Recomputes the chain in sequence order; a gap, a changed row or a bad link is a break. */
export async function verifyAuditChain(db: Tx, accountId: string, batchSize = 1000): Promise<ChainStatus> {
  let prevHash = '';
  let expected = 1;
  let checked = 0;
  for (;;) {
    const rows = await db.auditEvent.findMany({
      where: { accountId, sequence: { gte: expected } },
      orderBy: { sequence: 'asc' },
      take: batchSize,
    });
    for (const r of rows) {
      const ok =
        r.sequence === expected &&
        r.prevHash === prevHash &&
        hashAuditEvent({
          accountId: r.accountId,
          actorKeyId: r.actorKeyId,
          actorOperatorId: r.actorOperatorId,
          actorSystem: r.actorSystem,
          action: r.action,
          targetType: r.targetType,
          targetId: r.targetId,
          ip: r.ip,
          before: r.before,
          after: r.after,
          sequence: r.sequence,
          createdAt: r.createdAt,
          prevHash: r.prevHash,
        }) === r.hash;
      if (!ok) return { valid: false, checked, firstBrokenSequence: expected };
      prevHash = r.hash;
      expected++;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const head = await db.account.findUnique({ where: { id: accountId }, select: { auditSequence: true, auditHeadHash: true } });
  if (head && (head.auditSequence !== checked || head.auditHeadHash !== prevHash)) {
    // Rows after the last one found were removed.
    return { valid: false, checked, firstBrokenSequence: checked + 1 };
  }
  return { valid: true, checked, firstBrokenSequence: null };
}
