import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { mayAdministerKey } from '../access/admin';
import { appendAudit } from './chain';
import { clock } from '../infra/clock';
import { forbidden, KeywardenError, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';

/** The key whose action raised an event: the one that asked (escalation, creation), else the key it is about. */
function causingKeyId(event: { keyId: string | null; details: unknown }): string | null {
  const d = (event.details ?? {}) as { actorKeyId?: unknown; createdBy?: unknown };
  if (typeof d.actorKeyId === 'string') return d.actorKeyId;
  if (typeof d.createdBy === 'string') return d.createdBy;
  return event.keyId;
}

/**
 * Marks a security event as seen. A master key may acknowledge any event of its account; a
 * MANAGE key only events about keys strictly below it that were raised by keys strictly below it:
 * never one about its own actions or its own use (a key above it has to).
 */
export async function acknowledgeSecurityEvent(db: Database, actor: Actor, id: string) {
  if (!isUuid(id)) throw notFound('security event', id);
  return db.prisma.$transaction(async (tx) => {
    const event = await tx.securityEvent.findUnique({ where: { id: id.toLowerCase() }, include: { key: { select: { id: true, accountId: true, ancestorIds: true } } } });
    const visible = event && event.accountId === actor.accountId && (actor.master || (event.key && mayAdministerKey(actor, event.key)));
    if (!event || !visible) throw notFound('security event', id);
    const causedBy = causingKeyId(event);
    if (!actor.master) {
      const cause = causedBy ? await tx.apiKey.findUnique({ where: { id: causedBy }, select: { id: true, accountId: true, ancestorIds: true } }) : null;
      if (!cause || !mayAdministerKey(actor, cause)) throw forbidden(`security event ${id} is about this key's own actions: only a key above it may acknowledge it`);
    }
    if (event.acknowledgedAt) throw new KeywardenError('CONFLICT', `security event ${id} was already acknowledged`);
    const updated = await tx.securityEvent.update({ where: { id: event.id }, data: { acknowledgedAt: clock.now(), acknowledgedBy: actor.keyId, acknowledgedByOperatorId: actor.operatorId ?? null } });
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      actorOperatorId: actor.operatorId,
      action: 'securityEvent.acknowledge',
      targetType: 'SecurityEvent',
      targetId: event.id,
      ip: actor.ip,
      before: { acknowledgedAt: null },
      after: { acknowledgedAt: updated.acknowledgedAt },
    });
    return updated;
  });
}
