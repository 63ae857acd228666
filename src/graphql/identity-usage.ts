import { accountUsage, usageScopeOf } from '../reports/account-usage';
import { builder } from './builder';
import { actorOf } from './context';
import { IdentityRef } from './identity';
import { UsagePointRef, usageArgs } from './usage';

// Identity.usage: the verifications of an identity's keys, summed from the hourly rollups (each
// rollup row carries the identity of its key). Like Account.usage, only the keys the caller may
// read count: a MANAGE/FULL_ACCESS key sees the identity's traffic through the keys below it.

builder.prismaObjectFields(IdentityRef, (t) => ({
  usage: t.field({
    type: [UsagePointRef],
    description: "Verifications per hour or day (UTC) of the identity's keys the caller may read, from the rollups; the last few seconds may not be flushed yet.",
    args: usageArgs,
    select: { id: true },
    resolve: (identity, { from, to, granularity }, ctx) => accountUsage(ctx.db, { ...usageScopeOf(actorOf(ctx)), identityId: identity.id }, from, to, granularity ?? 'DAY'),
  }),
}));
