import type { Prisma } from '../generated/prisma/client';
import { createIdentity, deleteIdentity, loadIdentity, updateIdentity } from '../identities/identities';
import { KeywardenError } from '../infra/errors';
import { visibleKeysWhere } from '../keys/queries';
import { parseKeyColumn } from '../keys/stored';
import { builder } from './builder';
import { actorOf } from './context';
import { ApiKeyConnection, ApiKeyRef, Quota, QuotaInput, RateLimit, RateLimitInput } from './key';

export const IdentityRef = builder.prismaObject('Identity', {
  description: 'The customer or system behind several keys; its limits are shared by all of its keys.',
  fields: (t) => ({
    id: t.exposeID('id'),
    externalId: t.exposeString('externalId', { description: "The caller's own id for it, unique in the account." }),
    metadata: t.expose('metadata', { type: 'JSON', nullable: true }),
    rateLimits: t.field({ type: [RateLimit], select: { rateLimits: true }, resolve: (i) => parseKeyColumn('rateLimits', i.rateLimits) }),
    quota: t.field({ type: Quota, nullable: true, select: { quota: true }, resolve: (i) => parseKeyColumn('quota', i.quota) }),
    keys: t.relatedConnection(
      'keys',
      {
        cursor: 'id',
        description: 'Its keys the caller may read, newest first.',
        query: (_args, ctx) => ({ where: visibleKeysWhere(actorOf(ctx)), orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }] }),
      },
      ApiKeyConnection,
    ),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const IdentityConnection = builder.connectionObject({ type: IdentityRef, name: 'IdentityConnection' });

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  identity: t.relation('identity', { nullable: true, description: 'The customer or system the key belongs to; its limits are shared.' }),
}));

const identityFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0], required: boolean) => ({
  externalId: t.string({ required }),
  metadata: t.field({ type: 'JSON' }),
  rateLimits: t.field({ type: [RateLimitInput], description: 'Shared by all keys of the identity.' }),
  quota: t.field({ type: QuotaInput, description: 'Shared by all keys of the identity.' }),
});
const CreateIdentityInput = builder.inputType('CreateIdentityInput', { fields: (t) => identityFields(t, true) });
const UpdateIdentityInput = builder.inputType('UpdateIdentityInput', { fields: (t) => identityFields(t, false) });

function identitySearch(accountId: string, search: string | null | undefined): Prisma.IdentityWhereInput {
  const s = search?.trim();
  return s ? { accountId, externalId: { contains: s, mode: 'insensitive' } } : { accountId };
}

builder.queryFields((t) => ({
  identity: t.prismaField({
    type: 'Identity',
    nullable: true,
    authScopes: { keyAdmin: true },
    description: 'By id or by externalId (one of them).',
    args: { id: t.arg.id(), externalId: t.arg.string() },
    resolve: async (query, _root, { id, externalId }, ctx) => {
      const accountId = actorOf(ctx).accountId;
      if ((id == null) === (externalId == null)) throw new KeywardenError('BAD_USER_INPUT', 'give id or externalId, one of them', 'id');
      if (id != null) return loadIdentity(ctx.db.prisma, accountId, String(id)).then((row) => ctx.db.prisma.identity.findUnique({ ...query, where: { id: row.id } }));
      return ctx.db.prisma.identity.findUnique({ ...query, where: { accountId_externalId: { accountId, externalId: String(externalId).trim() } } });
    },
  }),
  identities: t.prismaConnection(
    {
      type: 'Identity',
      cursor: 'id',
      authScopes: { keyAdmin: true },
      args: { search: t.arg.string({ description: 'Part of the externalId (case-insensitive).' }) },
      resolve: (query, _root, { search }, ctx) => ctx.db.read.identity.findMany({ ...query, where: identitySearch(actorOf(ctx).accountId, search), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    IdentityConnection,
  ),
}));

builder.mutationFields((t) => ({
  createIdentity: t.field({
    type: IdentityRef,
    authScopes: { master: true },
    args: { input: t.arg({ type: CreateIdentityInput, required: true }) },
    resolve: (_root, { input }, ctx) => createIdentity(ctx.db, actorOf(ctx), input),
  }),
  updateIdentity: t.field({
    type: IdentityRef,
    authScopes: { master: true },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateIdentityInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => updateIdentity(ctx.db, actorOf(ctx), String(id), input),
  }),
  deleteIdentity: t.boolean({
    authScopes: { master: true },
    description: 'CONFLICT while it has keys that are not revoked.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteIdentity(ctx.db, actorOf(ctx), String(id)),
  }),
}));
