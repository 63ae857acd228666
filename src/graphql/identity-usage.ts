import DataLoader from 'dataloader';
import { identitiesUsage, usageScopeOf } from '../reports/account-usage';
import { validateUsageRange, type Granularity, type UsagePoint } from '../reports/usage-points';
import { builder } from './builder';
import { actorOf, type GraphQLContext } from './context';
import { IdentityRef } from './identity';
import { UsagePointRef, usageArgs } from './usage';

// Identity.usage: the verifications of an identity's keys, summed from the hourly rollups (each
// rollup row carries the identity of its key). Like Account.usage, only the keys the caller may
// read count: a MANAGE/FULL_ACCESS key sees the identity's traffic through the keys below it.
// A page of identities is read in one grouped query per distinct range: one loader per request.

interface IdentityUsageRequest {
  identityId: string;
  from: Date;
  to: Date;
  granularity: Granularity;
}

const rangeOf = (r: IdentityUsageRequest) => `${r.from.toISOString()}|${r.to.toISOString()}|${r.granularity}`;
const requestKey = (r: IdentityUsageRequest) => `${r.identityId}|${rangeOf(r)}`;

const usageLoaders = new WeakMap<GraphQLContext, DataLoader<IdentityUsageRequest, UsagePoint[], string>>();
function identityUsageLoader(ctx: GraphQLContext): DataLoader<IdentityUsageRequest, UsagePoint[], string> {
  let loader = usageLoaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(
      async (reqs) => {
        const scope = usageScopeOf(actorOf(ctx));
        const results = new Map<string, UsagePoint[]>();
        for (const range of new Set(reqs.map(rangeOf))) {
          const group = reqs.filter((r) => rangeOf(r) === range);
          const { from, to, granularity } = group[0];
          const byIdentity = await identitiesUsage(ctx.db, scope, [...new Set(group.map((r) => r.identityId))], from, to, granularity);
          for (const r of group) results.set(requestKey(r), byIdentity.get(r.identityId) ?? []);
        }
        return reqs.map((r) => results.get(requestKey(r)) ?? []);
      },
      { cacheKeyFn: requestKey },
    );
    usageLoaders.set(ctx, loader);
  }
  return loader;
}

builder.prismaObjectFields(IdentityRef, (t) => ({
  usage: t.field({
    type: [UsagePointRef],
    description: "Verifications per hour or day (UTC) of the identity's keys the caller may read, from the rollups; the last few seconds may not be flushed yet.",
    args: usageArgs,
    select: { id: true },
    resolve: (identity, { from, to, granularity }, ctx) => {
      const g = granularity ?? 'DAY';
      validateUsageRange(from, to, g);
      return identityUsageLoader(ctx).load({ identityId: identity.id, from, to, granularity: g });
    },
  }),
}));
