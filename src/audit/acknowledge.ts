import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { mayAdministerKey } from '../access/admin';
import { appendAudit } from './chain';
import { clock } from '../infra/clock';
import { KeywardenError, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';

/** Marks a security event as seen. A MANAGE key may acknowledge events about its own subtree. */
export async function acknowledgeSecurityEvent(db: Database, actor: Actor, id: string) {
  if (!isUuid(id)) throw notFound('security event', id);
  return db.prisma.$transaction(async (tx) => {
    const event = await tx.securityEvent.findUnique({ where: { id: id.toLowerCase() }, include: { key: { select: { id: true, accountId: true, ancestorIds: true } } } });
    const visible = event && event.accountId === actor.accountId && (actor.master || (event.key && mayAdministerKey(actor, event.key)));
    if (!event || !visible) throw notFound('security event', id);
    if (event.acknowledgedAt) throw new KeywardenError('CONFLICT', `security event ${id} was already acknowledged`);
    const updated = await tx.securityEvent.update({ where: { id: event.id }, data: { acknowledgedAt: clock.now(), acknowledgedBy: actor.keyId } });
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
