import type { Prisma } from '../generated/prisma/client';
import { verifyAuditChain } from '../audit/chain';
import { badInput } from '../infra/errors';
import { isUuid } from '../infra/validation';
import { builder } from './builder';
import { actorOf } from './context';

builder.prismaObject('AuditEvent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    sequence: t.exposeInt('sequence'),
    action: t.exposeString('action', { description: 'e.g. "key.create", "key.revoke"' }),
    actor: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      select: { actorKeyId: true },
      resolve: (query, e, _args, ctx) => (e.actorKeyId ? ctx.db.prisma.apiKey.findUnique({ ...query, where: { id: e.actorKeyId } }) : null),
    }),
    actorOperator: t.prismaField({
      type: 'Operator',
      nullable: true,
      description: 'The person who made the change (null when a key did, or once the operator is removed).',
      select: { actorOperatorId: true },
      resolve: (query, e, _args, ctx) => (e.actorOperatorId ? ctx.db.prisma.operator.findUnique({ ...query, where: { id: e.actorOperatorId } }) : null),
    }),
    actorSystem: t.exposeString('actorSystem', {
      nullable: true,
      description: 'The Keywarden process that made the change when neither a key nor a person did: "cli" (a command run on the server, e.g. `keywarden operator invite`) or "scheduler" (a scheduled job).',
    }),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeID('targetId', { nullable: true }),
    ip: t.exposeString('ip', { nullable: true }),
    before: t.expose('before', { type: 'JSON', nullable: true }),
    after: t.expose('after', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    hash: t.exposeString('hash'),
  }),
});

const AuditFilter = builder.inputType('AuditFilter', {
  fields: (t) => ({
    action: t.string(),
    targetId: t.id(),
    actorKeyId: t.id(),
    actorOperatorId: t.id({ description: 'Events made by this operator.' }),
    keyId: t.id({ description: 'Events about this key or made by it (targetId or actorKeyId).' }),
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime' }),
  }),
});

const NO_MATCH = '00000000-0000-0000-0000-000000000000';

interface AuditFilterInput {
  action?: string | null;
  targetId?: string | number | null;
  actorKeyId?: string | number | null;
  actorOperatorId?: string | number | null;
  keyId?: string | number | null;
  from?: Date | null;
  to?: Date | null;
}

function auditWhere(accountId: string, filter: AuditFilterInput | null | undefined): Prisma.AuditEventWhereInput {
  const where: Prisma.AuditEventWhereInput = { accountId };
  if (!filter) return where;
  if (filter.from && filter.to && filter.from > filter.to) throw badInput('filter.from', 'must not be after filter.to');
  if (filter.action) where.action = filter.action;
  if (filter.targetId) where.targetId = String(filter.targetId);
  // actorKeyId is a uuid column: anything else cannot match, and must not reach the database as a cast error.
  if (filter.actorKeyId) where.actorKeyId = isUuid(String(filter.actorKeyId)) ? String(filter.actorKeyId).toLowerCase() : NO_MATCH;
  if (filter.actorOperatorId) where.actorOperatorId = isUuid(String(filter.actorOperatorId)) ? String(filter.actorOperatorId).toLowerCase() : NO_MATCH;
  if (filter.keyId) {
    const id = String(filter.keyId).toLowerCase();
    where.AND = [{ OR: isUuid(id) ? [{ targetId: id }, { actorKeyId: id }] : [{ targetId: id }] }];
  }
  if (filter.from || filter.to) where.createdAt = { gte: filter.from ?? undefined, lte: filter.to ?? undefined };
  return where;
}

const AuditChainStatus = builder.objectRef<{ valid: boolean; checked: number; firstBrokenSequence: number | null }>('AuditChainStatus').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    checked: t.exposeInt('checked'),
    firstBrokenSequence: t.exposeInt('firstBrokenSequence', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.prismaConnection(
    {
      type: 'AuditEvent',
      cursor: 'id',
      authScopes: { master: true },
      description: 'Newest first.',
      args: { filter: t.arg({ type: AuditFilter }) },
      resolve: (query, _root, { filter }, ctx) => ctx.db.read.auditEvent.findMany({ ...query, where: auditWhere(actorOf(ctx).accountId, filter), orderBy: { sequence: 'desc' } }),
    },
    { name: 'AuditEventConnection' },
    { name: 'AuditEventEdge' },
  ),
  verifyAuditChain: t.field({
    type: AuditChainStatus,
    authScopes: { master: true },
    resolve: (_root, _args, ctx) => verifyAuditChain(ctx.db.prisma, actorOf(ctx).accountId),
  }),
}));
