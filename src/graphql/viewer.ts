import { builder } from './builder';
import { actorOf } from './context';

builder.prismaObject('Account', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const Viewer = builder.objectRef<{ keyId: string; accountId: string }>('Viewer').implement({
  description: 'The calling key and its account.',
  fields: (t) => ({
    key: t.prismaField({
      type: 'ApiKey',
      resolve: (query, v, _args, ctx) => ctx.db.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: v.keyId } }),
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
      return { keyId: actor.keyId, accountId: actor.accountId };
    },
  }),
}));
