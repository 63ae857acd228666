import { accountUsage, deniedByCode, topKeys, usageScopeOf, type CodeCount, type KeyUsageTotal, type UsageScope } from '../reports/account-usage';
import { KeywardenError } from '../infra/errors';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { UsageGranularity, UsagePointRef } from './usage';

// Account.usage, topKeys and deniedByCode: the dashboard's overview. Admin keys only; a MANAGE key
// sees the totals of its subtree (reports/account-usage.ts).

const KeyUsageRef = builder.objectRef<KeyUsageTotal>('KeyUsage').implement({
  description: 'One key with its request totals over a range.',
  fields: (t) => ({
    key: t.prismaField({
      type: 'ApiKey',
      // findUnique calls of one tick are batched by Prisma into one query.
      resolve: (query, k, _args, ctx) => ctx.db.prisma.apiKey.findUniqueOrThrow({ ...query, where: { id: k.keyId } }),
    }),
    requests: t.exposeInt('requests'),
    denied: t.exposeInt('denied'),
  }),
});

const CodeCountRef = builder.objectRef<CodeCount>('CodeCount').implement({
  description: 'Denied verifications with one denial code.',
  fields: (t) => ({
    code: t.exposeString('code'),
    count: t.exposeInt('count'),
  }),
});

/** The caller's scope over `account`; an account other than the caller's is never read. */
function scopeFor(account: { id: string }, ctx: GraphQLContext): UsageScope {
  const scope = usageScopeOf(actorOf(ctx));
  if (scope.accountId !== account.id) throw new KeywardenError('NOT_FOUND', 'account not found');
  return scope;
}

builder.prismaObjectFields('Account', (t) => ({
  usage: t.field({
    type: [UsagePointRef],
    authScopes: { keyAdmin: true },
    description: 'Verifications per hour or day (UTC) over the keys the caller administers, from the rollups. Hourly usage covers at most 366 days.',
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      granularity: t.arg({ type: UsageGranularity, defaultValue: 'HOUR' }),
    },
    select: { id: true },
    resolve: (account, { from, to, granularity }, ctx) => accountUsage(ctx.db, scopeFor(account, ctx), from, to, granularity ?? 'HOUR'),
  }),
  topKeys: t.field({
    type: [KeyUsageRef],
    authScopes: { keyAdmin: true },
    description: 'The keys with the most requests in [from, to), busiest first (at most 100).',
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      first: t.arg.int({ defaultValue: 10 }),
      deniedCode: t.arg.string({ description: 'Only keys denied with this code (as deniedByCode names it), most such denials first; `denied` counts only those.' }),
    },
    select: { id: true },
    resolve: (account, { from, to, first, deniedCode }, ctx) => topKeys(ctx.db, scopeFor(account, ctx), from, to, first ?? 10, deniedCode),
  }),
  deniedByCode: t.field({
    type: [CodeCountRef],
    authScopes: { keyAdmin: true },
    description: 'Denied verifications in [from, to) by denial code, most frequent first.',
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
    },
    select: { id: true },
    resolve: (account, { from, to }, ctx) => deniedByCode(ctx.db, scopeFor(account, ctx), from, to),
  }),
}));
