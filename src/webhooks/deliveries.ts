import type { Prisma, WebhookDelivery } from '../generated/prisma/client';
import type { DeliveryStatus } from '../generated/prisma/enums';
import type { Database } from '../infra/db';
import type { Actor } from '../access/admin';
import { appendAudit } from '../audit/chain';
import { clock } from '../infra/clock';
import { KeywardenError, forbidden, notFound } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { notifyRelay } from '../events/outbox';
import { loadEndpoint } from './endpoints';

// Deliveries an administrator asks for: a test event to one endpoint, and sending a past event
// again. Both write the delivery row in their transaction and wake the relay at commit; the
// worker does the sending, exactly as for any other event.

export function deliveriesWhere(actor: Actor, filter: { endpointId?: string | null; status?: DeliveryStatus | null }): Prisma.WebhookDeliveryWhereInput {
  if (!actor.master) throw forbidden('only a master key can read webhook deliveries');
  const where: Prisma.WebhookDeliveryWhereInput = { accountId: actor.accountId };
  if (filter.endpointId) where.endpointId = isUuid(filter.endpointId) ? filter.endpointId.toLowerCase() : '00000000-0000-0000-0000-000000000000';
  if (filter.status) where.status = filter.status;
  return where;
}

/** A webhook.test event for this endpoint alone. */
export async function sendTestWebhook(db: Database, actor: Actor, endpointId: string): Promise<WebhookDelivery> {
  return db.prisma.$transaction(async (tx) => {
    const endpoint = await loadEndpoint(tx, actor, endpointId);
    if (!endpoint.enabled) throw new KeywardenError('CONFLICT', `webhook endpoint ${endpoint.id} is disabled; enable it with updateWebhookEndpoint first`);
    const now = clock.now();
    // Already relayed: it is meant for this endpoint only, not for every subscriber of webhook.test.
    const event = await tx.outboxEvent.create({
      data: { accountId: actor.accountId, type: 'webhook.test', data: { endpointId: endpoint.id, message: 'A test event from Keywarden.' }, createdAt: now, relayedAt: now },
    });
    const delivery = await tx.webhookDelivery.create({ data: { accountId: actor.accountId, eventId: event.id, endpointId: endpoint.id, nextAttemptAt: now, createdAt: now } });
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      actorOperatorId: actor.operatorId,
      action: 'webhookEndpoint.test',
      targetType: 'WebhookEndpoint',
      targetId: endpoint.id,
      ip: actor.ip,
      after: { deliveryId: delivery.id, eventId: event.id },
    });
    await notifyRelay(tx);
    return delivery;
  });
}

/**
 * Sends a finished delivery again, with the same event id (receivers deduplicate on webhook-id)
 * and a fresh retry schedule. One still in progress answers CONFLICT.
 */
export async function redeliverWebhook(db: Database, actor: Actor, deliveryId: string): Promise<WebhookDelivery> {
  if (!actor.master) throw forbidden('only a master key can redeliver webhooks');
  if (!isUuid(deliveryId)) throw notFound('webhook delivery', deliveryId);
  return db.prisma.$transaction(async (tx) => {
    const before = await tx.webhookDelivery.findUnique({ where: { id: deliveryId.toLowerCase() }, include: { endpoint: { select: { enabled: true } } } });
    if (!before || before.accountId !== actor.accountId) throw notFound('webhook delivery', deliveryId);
    if (before.status === 'PENDING') throw new KeywardenError('CONFLICT', `webhook delivery ${before.id} is still being delivered`);
    if (!before.endpoint.enabled) throw new KeywardenError('CONFLICT', `its endpoint ${before.endpointId} is disabled; enable it with updateWebhookEndpoint first`);
    const after = await tx.webhookDelivery.update({
      where: { id: before.id },
      data: { status: 'PENDING', retryIndex: 0, nextAttemptAt: clock.now(), enqueuedAt: null, deliveredAt: null },
    });
    await appendAudit(tx, {
      accountId: actor.accountId,
      actorKeyId: actor.keyId,
      actorOperatorId: actor.operatorId,
      action: 'webhookDelivery.redeliver',
      targetType: 'WebhookDelivery',
      targetId: before.id,
      ip: actor.ip,
      before: { status: before.status, attemptCount: before.attemptCount },
      after: { status: after.status },
    });
    await notifyRelay(tx);
    return after;
  });
}
