import { isKeyAdmin, type Actor } from '../access/admin';
import { KeywardenError } from '../infra/errors';
import { statusWhere, visibleKeysWhere } from '../keys/queries';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { ApiKeyRef } from './key';
import { SecurityEventRef } from './security';

// Subscriptions (GraphQL over SSE at /graphql): authorized as the queries are, and every message
// is read back through the caller's visibility, so a MANAGE key hears only of its subtree.

builder.subscriptionType({});

/**
 * The feed, for a caller allowed to subscribe: checked here at subscription time, as the scope
 * checks guard only the delivery of each event. (An operator's role check belongs here too.)
 */
function feedFor(ctx: GraphQLContext, actor: Actor) {
  if (!isKeyAdmin(actor)) throw new KeywardenError('FORBIDDEN', 'this key may not subscribe (a master key, or MANAGE/FULL_ACCESS for its own subtree, is needed)');
  if (!ctx.live) throw new KeywardenError('FORBIDDEN', 'live updates are not available on this server');
  return ctx.live;
}

/** The subscribing key is still usable (not revoked, expired or past its grace). */
function stillUsable(ctx: GraphQLContext, actor: Actor) {
  return async () => (await ctx.db.prisma.apiKey.count({ where: { id: actor.keyId, OR: [statusWhere('ACTIVE'), statusWhere('ROTATING')] } })) > 0;
}

builder.subscriptionFields((t) => ({
  securityEventRaised: t.field({
    type: SecurityEventRef,
    authScopes: { keyAdmin: true },
    description: "Every new security event of the caller's account (for a MANAGE key: about its subtree).",
    subscribe: (_root, _args, ctx) => {
      const actor = actorOf(ctx);
      const load = (id: string) => ctx.db.prisma.securityEvent.findFirst({ where: { id, accountId: actor.accountId, ...(actor.master ? {} : { key: visibleKeysWhere(actor) }) } });
      return feedFor(ctx, actor).stream(actor, 'security', load, stillUsable(ctx, actor));
    },
    resolve: (event) => event,
  }),
  keyChanged: t.field({
    type: ApiKeyRef,
    authScopes: { keyAdmin: true },
    description: 'Keys the caller may see as they are created, updated, rotated, revoked or expire.',
    subscribe: (_root, _args, ctx) => {
      const actor = actorOf(ctx);
      const load = (id: string) => ctx.db.prisma.apiKey.findFirst({ where: { id, OR: [{ id: actor.keyId }, visibleKeysWhere(actor)] } });
      return feedFor(ctx, actor).stream(actor, 'key', load, stillUsable(ctx, actor));
    },
    resolve: (key) => key,
  }),
}));
