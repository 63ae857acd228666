import type { KeyRequest } from '../generated/prisma/client';
import type { KeyRequestStatus } from '../generated/prisma/enums';
import type { Actor } from '../access/admin';
import { APPROVAL_TRIGGERS } from '../access/approval';
import { mayApprove, mayManagePeople } from '../access/roles';
import { appendAudit } from '../audit/chain';
import { emitEvent } from '../events/outbox';
import type { EventType } from '../events/types';
import type { Database, Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { badInput, forbidden, KeywardenError, notFound } from '../infra/errors';
import { toJson } from '../infra/json';
import { isUuid } from '../infra/validation';
import { assertHostnamesResolve } from '../keys/allowlist';
import { approvalPolicy, type Policy } from '../keys/approval-gate';
import type { IssuedKey } from '../keys/create';
import { issueRequestedKey } from '../keys/requested';
import type { CreateKeyInput } from '../keys/settings';

// The two-person rule: a person (or a key) asks for a key with a justification; other people
// (OWNER or ADMIN, never the requester) approve it; the requester claims it once, and only then is
// the secret minted. A request not claimed within 7 days expires (expireKeyRequests, scheduled).

export const REQUEST_LIFETIME_MS = 7 * 86_400_000;
const MAX_APPROVALS = 10;

export { approvalPolicy, type Policy };

export async function setApprovalPolicy(db: Database, actor: Actor, input: Policy): Promise<Policy> {
  if (!mayManagePeople(actor)) throw forbidden('only an OWNER (or a master key) may change the approval policy');
  const bad = input.requireFor.find((t) => !(APPROVAL_TRIGGERS as readonly string[]).includes(t));
  if (bad) throw badInput('input.requireFor', `unknown trigger "${bad}"`);
  if (!Number.isInteger(input.approvals) || input.approvals < 1 || input.approvals > MAX_APPROVALS) throw badInput('input.approvals', `must be a whole number from 1 to ${MAX_APPROVALS}`);
  const next = { requireFor: [...new Set(input.requireFor)], approvals: input.approvals };
  return db.prisma.$transaction(async (tx) => {
    const before = await approvalPolicy(tx, actor.accountId);
    await tx.approvalPolicy.upsert({ where: { accountId: actor.accountId }, create: { accountId: actor.accountId, ...next, updatedAt: clock.now() }, update: { ...next, updatedAt: clock.now() } });
    await audit(tx, actor, 'approval_policy.set', 'ApprovalPolicy', actor.accountId, before, next);
    return next;
  });
}

function audit(tx: Tx, actor: Actor, action: string, targetType: string, targetId: string, before: unknown, after: unknown) {
  return appendAudit(tx, { accountId: actor.accountId, actorKeyId: actor.keyId, actorOperatorId: actor.operatorId, action, targetType, targetId, ip: actor.ip, before, after });
}

function requestEvent(r: KeyRequest, type: EventType, extra: Record<string, unknown> = {}) {
  return { accountId: r.accountId, type, data: { requestId: r.id, status: r.status, parentId: r.parentId, requestedBy: r.requestedById, requestedByKey: r.requestedByKeyId, ...extra } };
}

/** Rolls a transaction back after `work` succeeded: the request is checked by issuing it for real, then nothing stays. */
class DryRunDone extends Error {}

export async function requestKey(db: Database, actor: Actor, input: CreateKeyInput, parentId: string | null, justification: string): Promise<KeyRequest> {
  const why = justification.trim();
  if (!why) throw badInput('justification', 'say why the key is needed');
  await assertHostnamesResolve(input.ipAllowlist);
  // Everything createKey/deriveKey would refuse (bad input, a parent the requester may not use, more than the parent allows) is refused now.
  await db.prisma
    .$transaction(async (tx) => {
      await issueRequestedKey(tx, actor, input, parentId);
      throw new DryRunDone();
    })
    .catch((err) => {
      if (!(err instanceof DryRunDone)) throw err;
    });
  return db.prisma.$transaction(async (tx) => {
    const now = clock.now();
    const created = await tx.keyRequest.create({
      data: {
        accountId: actor.accountId,
        input: toJson(input) as object,
        parentId: parentId?.toLowerCase() ?? null,
        justification: why,
        requestedById: actor.operatorId ?? null,
        requestedByKeyId: actor.keyId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + REQUEST_LIFETIME_MS),
      },
    });
    await audit(tx, actor, 'key_request.create', 'KeyRequest', created.id, null, { input: created.input, parentId: created.parentId, justification: why });
    await emitEvent(tx, requestEvent(created, 'key_request.created', { justification: why }));
    return created;
  });
}

/** The request, locked for this transaction; a live one past its expiry is marked EXPIRED first. */
async function lockRequest(tx: Tx, actor: Actor, id: string): Promise<KeyRequest> {
  if (!isUuid(id)) throw notFound('key request', id);
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT "id"::text AS "id" FROM "KeyRequest" WHERE "id" = ${id.toLowerCase()}::uuid AND "accountId" = ${actor.accountId}::uuid FOR UPDATE`;
  if (rows.length === 0) throw notFound('key request', id);
  const r = await tx.keyRequest.findUniqueOrThrow({ where: { id: rows[0].id } });
  if ((r.status === 'PENDING' || r.status === 'APPROVED') && r.expiresAt.getTime() <= clock.nowMs()) return tx.keyRequest.update({ where: { id: r.id }, data: { status: 'EXPIRED' } });
  return r;
}

const conflict = (message: string) => new KeywardenError('CONFLICT', message);

function isRequester(actor: Actor, r: KeyRequest): boolean {
  return actor.operatorId ? r.requestedById === actor.operatorId : r.requestedByKeyId !== null && r.requestedByKeyId === actor.keyId;
}

export async function approveKeyRequest(db: Database, actor: Actor, id: string): Promise<KeyRequest> {
  if (!mayApprove(actor)) throw forbidden('approvals come from people with the role OWNER or ADMIN');
  return db.prisma.$transaction(async (tx) => {
    const r = await lockRequest(tx, actor, id);
    if (r.status !== 'PENDING') throw conflict(`the request is ${r.status}; only a PENDING request can be approved`);
    if (isRequester(actor, r)) throw forbidden('a request cannot be approved by the person who made it');
    const already = await tx.keyApproval.findUnique({ where: { requestId_operatorId: { requestId: r.id, operatorId: actor.operatorId! } } });
    if (already) throw conflict('you have already approved this request');
    await tx.keyApproval.create({ data: { requestId: r.id, operatorId: actor.operatorId!, at: clock.now() } });
    const count = await tx.keyApproval.count({ where: { requestId: r.id } });
    const { approvals: required } = await approvalPolicy(tx, actor.accountId);
    const updated = count >= required ? await tx.keyRequest.update({ where: { id: r.id }, data: { status: 'APPROVED' } }) : r;
    await audit(tx, actor, 'key_request.approve', 'KeyRequest', r.id, { status: r.status }, { status: updated.status, approvals: count, required });
    await emitEvent(tx, requestEvent(updated, 'key_request.approved', { approvals: count, required, approvedBy: actor.operatorId }));
    return updated;
  });
}

export async function rejectKeyRequest(db: Database, actor: Actor, id: string, reason: string): Promise<KeyRequest> {
  if (!mayApprove(actor)) throw forbidden('rejections come from people with the role OWNER or ADMIN');
  const why = reason.trim();
  if (!why) throw badInput('reason', 'say why the request is rejected');
  return db.prisma.$transaction(async (tx) => {
    const r = await lockRequest(tx, actor, id);
    if (r.status !== 'PENDING' && r.status !== 'APPROVED') throw conflict(`the request is ${r.status}; it can no longer be rejected`);
    const updated = await tx.keyRequest.update({ where: { id: r.id }, data: { status: 'REJECTED', rejectedById: actor.operatorId, reason: why } });
    await audit(tx, actor, 'key_request.reject', 'KeyRequest', r.id, { status: r.status }, { status: 'REJECTED', reason: why });
    await emitEvent(tx, requestEvent(updated, 'key_request.rejected', { reason: why, rejectedBy: actor.operatorId }));
    return updated;
  });
}

/** The requester takes the key, once: the secret is minted here and shown only in this answer. */
export async function claimKeyRequest(db: Database, actor: Actor, id: string): Promise<IssuedKey> {
  const issued = await db.prisma.$transaction(async (tx) => {
    const r = await lockRequest(tx, actor, id);
    if (!isRequester(actor, r)) throw forbidden('only the requester can claim a key request');
    if (r.status !== 'APPROVED') throw conflict(r.status === 'ISSUED' ? 'the key was already claimed; its secret was shown once' : `the request is ${r.status}; only an APPROVED request can be claimed`);
    const key = await issueRequestedKey(tx, actor, r.input as unknown as CreateKeyInput, r.parentId);
    await tx.keyRequest.update({ where: { id: r.id }, data: { status: 'ISSUED', keyId: key.key.id } });
    await audit(tx, actor, 'key_request.claim', 'KeyRequest', r.id, { status: 'APPROVED' }, { status: 'ISSUED', keyId: key.key.id });
    await emitEvent(tx, requestEvent({ ...r, status: 'ISSUED' }, 'key_request.claimed', { keyId: key.key.id }));
    return key;
  });
  return issued;
}

const LIVE: KeyRequestStatus[] = ['PENDING', 'APPROVED'];

/**
 * Marks live requests past their expiry EXPIRED (scheduled), each with an audit event naming the
 * scheduler and a key_request.expired webhook, in batches. A request claimed or rejected meanwhile
 * is left alone: the update re-checks the status under the row lock.
 */
export async function expireKeyRequests(db: Database, batchSize = 50): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await db.prisma.$transaction(
      async (tx) => {
        const due = await tx.keyRequest.findMany({ where: { status: { in: LIVE }, expiresAt: { lte: clock.now() } }, orderBy: { expiresAt: 'asc' }, take: batchSize, select: { id: true, status: true } });
        let n = 0;
        for (const d of due) {
          const { count } = await tx.keyRequest.updateMany({ where: { id: d.id, status: { in: LIVE } }, data: { status: 'EXPIRED' } });
          if (count === 0) continue;
          const r = await tx.keyRequest.findUniqueOrThrow({ where: { id: d.id } });
          await appendAudit(tx, {
            accountId: r.accountId,
            actorKeyId: null,
            actorSystem: 'scheduler',
            action: 'key_request.expire',
            targetType: 'KeyRequest',
            targetId: r.id,
            ip: null,
            before: { status: d.status },
            after: { status: 'EXPIRED' },
          });
          await emitEvent(tx, requestEvent(r, 'key_request.expired', { expiresAt: r.expiresAt }));
          n++;
        }
        return { n, more: due.length === batchSize };
      },
      { timeout: 60_000 },
    );
    total += expired.n;
    if (!expired.more) return total;
  }
}
