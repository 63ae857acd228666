import { builder } from './builder';
import { actorOf } from './context';

builder.prismaObject('Account', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const Viewer = builder.objectRef<{ keyId: string | null; operatorId: string | null; accountId: string }>('Viewer').implement({
  description: 'The caller (a key, or a signed-in operator) and its account.',
  fields: (t) => ({
    key: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      description: 'The calling key; null for an operator.',
      resolve: (query, v, _args, ctx) => (v.keyId ? ctx.db.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: v.keyId } }) : null),
    }),
    operator: t.prismaField({
      type: 'Operator',
      nullable: true,
      description: 'The signed-in person; null for a key.',
      resolve: (query, v, _args, ctx) => (v.operatorId ? ctx.db.prisma.operator.findUnique({ ...query, where: { id: v.operatorId } }) : null),
    }),
    account: t.prismaField({
      type: 'Account',
      resolve: (query, v, _args, ctx) => ctx.db.prisma.account.findUniqueOrThrow({ ...query, where: { id: v.accountId } }),
    }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: Viewer,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => {
      const actor = actorOf(ctx);
      return { keyId: actor.keyId, operatorId: actor.operatorId ?? null, accountId: actor.accountId };
    },
  }),
}));
