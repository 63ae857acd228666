import type { Actor } from '../access/admin';
import { liveScopeOf } from '../access/roles';
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
 * The feed, for a caller allowed to subscribe (access/roles.ts liveScopeOf), checked here at
 * subscription time: the scope checks guard only the delivery of each event. Returns the feed
 * and whether the caller follows the whole account (else a key's subtree).
 */
function feedFor(ctx: GraphQLContext, actor: Actor) {
  const scope = liveScopeOf(actor);
  if (!scope) {
    throw new KeywardenError('FORBIDDEN', actor.operatorId ? 'this operator may not subscribe (no known role)' : 'this key may not subscribe (a master key, or MANAGE/FULL_ACCESS for its own subtree, is needed)');
  }
  if (!ctx.live) throw new KeywardenError('FORBIDDEN', 'live updates are not available on this server');
  return { live: ctx.live, wholeAccount: scope === 'account' };
}

/** The subscribing key is still usable (not revoked, expired or past its grace); a person is still an enabled operator. */
function stillUsable(ctx: GraphQLContext, actor: Actor) {
  if (!actor.keyId) return async () => (await ctx.db.prisma.operator.count({ where: { id: actor.operatorId ?? undefined, disabled: false } })) > 0;
  return async () => (await ctx.db.prisma.apiKey.count({ where: { id: actor.keyId ?? undefined, OR: [statusWhere('ACTIVE'), statusWhere('ROTATING')] } })) > 0;
}

builder.subscriptionFields((t) => ({
  securityEventRaised: t.field({
    type: SecurityEventRef,
    authScopes: { keyAdmin: true },
    description: "Every new security event of the caller's account (for a MANAGE key: about its subtree).",
    subscribe: (_root, _args, ctx) => {
      const actor = actorOf(ctx);
      const feed = feedFor(ctx, actor);
      const load = (id: string) => ctx.db.prisma.securityEvent.findFirst({ where: { id, accountId: actor.accountId, ...(feed.wholeAccount ? {} : { key: visibleKeysWhere(actor) }) } });
      return feed.live.stream(actor, 'security', load, stillUsable(ctx, actor));
    },
    resolve: (event) => event,
  }),
  keyChanged: t.field({
    type: ApiKeyRef,
    authScopes: { keyAdmin: true },
    description: 'Keys the caller may see as they are created, updated, rotated, revoked or expire.',
    subscribe: (_root, _args, ctx) => {
      const actor = actorOf(ctx);
      const feed = feedFor(ctx, actor);
      const visible = feed.wholeAccount ? { accountId: actor.accountId } : visibleKeysWhere(actor);
      const load = (id: string) => ctx.db.prisma.apiKey.findFirst({ where: { id, OR: [...(actor.keyId ? [{ id: actor.keyId }] : []), visible] } });
      return feed.live.stream(actor, 'key', load, stillUsable(ctx, actor));
    },
    resolve: (key) => key,
  }),
}));
