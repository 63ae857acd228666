import type { Prisma } from '../generated/prisma/client';
import { SecurityEventKind, Severity } from '../generated/prisma/enums';
import { acknowledgeSecurityEvent } from '../audit/acknowledge';
import { visibleKeysWhere } from '../keys/queries';
import { builder } from './builder';
import { actorOf } from './context';
import { ApiKeyRef } from './key';

const SeverityEnum = builder.enumType(Severity, { name: 'Severity' });
const KindEnum = builder.enumType(SecurityEventKind, { name: 'SecurityEventKind' });

export const SecurityEventRef = builder.prismaObject('SecurityEvent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    kind: t.expose('kind', { type: KindEnum }),
    severity: t.expose('severity', { type: SeverityEnum }),
    key: t.relation('key', { nullable: true }),
    actorOperator: t.prismaField({
      type: 'Operator',
      nullable: true,
      description: 'The person whose action raised the event (key creation, an escalation attempt, a bulk change); null for a key or the system, or once the operator is removed.',
      select: { actorOperatorId: true },
      resolve: (query, e, _args, ctx) => (e.actorOperatorId ? ctx.db.prisma.operator.findUnique({ ...query, where: { id: e.actorOperatorId } }) : null),
    }),
    acknowledgedByOperator: t.prismaField({
      type: 'Operator',
      nullable: true,
      description: 'The person who acknowledged the event (null when a key did, or once the operator is removed).',
      select: { acknowledgedByOperatorId: true },
      resolve: (query, e, _args, ctx) => (e.acknowledgedByOperatorId ? ctx.db.prisma.operator.findUnique({ ...query, where: { id: e.acknowledgedByOperatorId } }) : null),
    }),
    ip: t.exposeString('ip', { nullable: true }),
    details: t.expose('details', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    acknowledgedAt: t.expose('acknowledgedAt', { type: 'DateTime', nullable: true }),
  }),
});

const SecurityEventConnection = builder.connectionObject({ type: SecurityEventRef, name: 'SecurityEventConnection' });

const SecurityEventFilter = builder.inputType('SecurityEventFilter', {
  fields: (t) => ({
    kind: t.field({ type: KindEnum }),
    severity: t.field({ type: SeverityEnum }),
    keyId: t.id(),
    acknowledged: t.boolean(),
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime' }),
  }),
});

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  securityEvents: t.relatedConnection('securityEvents', { cursor: 'id', query: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] } }, SecurityEventConnection),
}));

builder.queryFields((t) => ({
  securityEvents: t.prismaConnection(
    {
      type: 'SecurityEvent',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      description: "Newest first. A master key sees the account's; a MANAGE key those about its subtree.",
      args: { filter: t.arg({ type: SecurityEventFilter }) },
      resolve: (query, _root, { filter }, ctx) => {
        const actor = actorOf(ctx);
        const where: Prisma.SecurityEventWhereInput = { accountId: actor.accountId };
        if (!actor.master) where.key = visibleKeysWhere(actor);
        if (filter?.kind) where.kind = filter.kind;
        if (filter?.severity) where.severity = filter.severity;
        if (filter?.keyId) where.keyId = String(filter.keyId);
        if (filter?.acknowledged != null) where.acknowledgedAt = filter.acknowledged ? { not: null } : null;
        if (filter?.from || filter?.to) where.createdAt = { gte: filter.from ?? undefined, lte: filter.to ?? undefined };
        return ctx.db.read.securityEvent.findMany({ ...query, where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      },
    },
    SecurityEventConnection,
  ),
}));

builder.mutationFields((t) => ({
  acknowledgeSecurityEvent: t.prismaField({
    type: 'SecurityEvent',
    authScopes: { keyAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_query, _root, { id }, ctx) => acknowledgeSecurityEvent(ctx.db, actorOf(ctx), String(id)),
  }),
}));
