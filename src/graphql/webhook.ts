import { DeliveryStatus } from '../generated/prisma/enums';
import { webhookBody } from '../events/outbox';
import { createWebhookEndpoint, deleteWebhookEndpoint, listEndpoints, rotateWebhookSecret, updateWebhookEndpoint, type EndpointWithSecret } from '../webhooks/endpoints';
import { deliveriesWhere, redeliverWebhook, sendTestWebhook } from '../webhooks/deliveries';
import { builder } from './builder';
import { actorOf } from './context';

// Webhook endpoints and deliveries. Master keys only.

const DeliveryStatusEnum = builder.enumType(DeliveryStatus, { name: 'DeliveryStatus' });

const WebhookEndpointRef = builder.prismaObject('WebhookEndpoint', {
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    eventTypes: t.exposeStringList('eventTypes', { description: '"*", a prefix such as "key.*", or exact event types.' }),
    description: t.exposeString('description', { nullable: true }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'After rotateWebhookSecret: until then, deliveries carry a second signature made with the previous secret.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('OutboxEvent', {
  name: 'WebhookEvent',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Sent as webhook-id, the same on every attempt.' }),
    type: t.exposeString('type'),
    payload: t.field({ type: 'JSON', description: 'The body sent: { type, timestamp, data }.', select: { type: true, createdAt: true, data: true }, resolve: (e) => webhookBody(e) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.prismaObject('WebhookAttempt', {
  fields: (t) => ({
    attemptedAt: t.expose('attemptedAt', { type: 'DateTime' }),
    statusCode: t.exposeInt('statusCode', { nullable: true, description: 'Null when no HTTP answer came (timeout, refused connection, blocked address).' }),
    durationMs: t.exposeInt('durationMs'),
    error: t.exposeString('error', { nullable: true }),
    responseExcerpt: t.exposeString('responseExcerpt', { nullable: true, description: 'The first 2 KB of the response body.' }),
  }),
});

builder.prismaObject('WebhookDelivery', {
  fields: (t) => ({
    id: t.exposeID('id'),
    event: t.relation('event'),
    endpoint: t.relation('endpoint'),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.relation('attempts', { query: { orderBy: { number: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'While PENDING: when the next attempt is due.' }),
  }),
});

const WebhookEndpointSecretPayload = builder.objectRef<EndpointWithSecret>('WebhookEndpointSecretPayload').implement({
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointRef, resolve: (p) => p.endpoint }),
    secret: t.exposeString('secret', { description: 'whsec_…, shown once: only an encrypted copy is stored.' }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s); private and link-local addresses are refused.' }),
    eventTypes: t.stringList({ required: true, description: '"*", a prefix such as "key.*", or exact event types.' }),
    description: t.string(),
  }),
});

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string(),
    eventTypes: t.stringList(),
    description: t.string(),
    enabled: t.boolean({ description: 'true re-enables an endpoint disabled after failures or a 410.' }),
  }),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaField({
    type: ['WebhookEndpoint'],
    authScopes: { master: true },
    resolve: (_query, _root, _args, ctx) => listEndpoints(ctx.db, actorOf(ctx)),
  }),
  webhookDeliveries: t.prismaConnection(
    {
      type: 'WebhookDelivery',
      cursor: 'id',
      authScopes: { master: true },
      description: 'Newest first.',
      args: { endpointId: t.arg.id(), status: t.arg({ type: DeliveryStatusEnum }) },
      resolve: (query, _root, { endpointId, status }, ctx) =>
        ctx.db.read.webhookDelivery.findMany({
          ...query,
          where: deliveriesWhere(actorOf(ctx), { endpointId: endpointId == null ? null : String(endpointId), status }),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        }),
    },
    { name: 'WebhookDeliveryConnection' },
    { name: 'WebhookDeliveryEdge' },
  ),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    type: WebhookEndpointSecretPayload,
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: (_root, { input }, ctx) => createWebhookEndpoint(ctx.db, actorOf(ctx), input),
  }),
  updateWebhookEndpoint: t.field({
    type: WebhookEndpointRef,
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateWebhookEndpointInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateWebhookEndpoint(ctx.db, actorOf(ctx), String(id), input),
  }),
  rotateWebhookSecret: t.field({
    type: WebhookEndpointSecretPayload,
    authScopes: { master: true },
    description: 'A new secret; the old one keeps signing alongside it until the grace period ends (0 = now).',
    args: { id: t.arg.id({ required: true }), gracePeriodSeconds: t.arg.int({ defaultValue: 86400 }) },
    resolve: (_root, { id, gracePeriodSeconds }, ctx) => rotateWebhookSecret(ctx.db, actorOf(ctx), String(id), gracePeriodSeconds),
  }),
  deleteWebhookEndpoint: t.boolean({
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteWebhookEndpoint(ctx.db, actorOf(ctx), String(id)),
  }),
  sendTestWebhook: t.prismaField({
    type: 'WebhookDelivery',
    authScopes: { master: true },
    description: 'A webhook.test event to this endpoint alone.',
    args: { endpointId: t.arg.id({ required: true }) },
    resolve: async (query, _root, { endpointId }, ctx) => {
      const delivery = await sendTestWebhook(ctx.db, actorOf(ctx), String(endpointId));
      return ctx.db.prisma.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: delivery.id } });
    },
  }),
  redeliverWebhook: t.prismaField({
    type: 'WebhookDelivery',
    authScopes: { master: true },
    description: 'Sends a finished delivery again, same webhook-id, fresh retry schedule.',
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: async (query, _root, { deliveryId }, ctx) => {
      const delivery = await redeliverWebhook(ctx.db, actorOf(ctx), String(deliveryId));
      return ctx.db.prisma.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: delivery.id } });
    },
  }),
}));
