import { recentAccess, type AccessLogEntry } from '../reports/usage-buffer';
import { validateUsageRange } from '../reports/usage-points';
import { builder } from './builder';
import { ApiKeyRef } from './key';

export const UsageGranularity = builder.enumType('UsageGranularity', { values: ['HOUR', 'DAY'] as const });

export const UsagePointRef = builder.objectRef<{ start: Date; requests: number; allowed: number; denied: number; units: number; bytes: number }>('UsagePoint').implement({
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    requests: t.exposeInt('requests'),
    allowed: t.exposeInt('allowed'),
    denied: t.exposeInt('denied'),
    units: t.exposeInt('units'),
    bytes: t.exposeFloat('bytes'),
  }),
});

/** The arguments of Key.usage and Identity.usage: a range and a granularity, by day unless asked. */
export const usageArgs = builder.args((t) => ({
  from: t.field({ type: 'DateTime', required: true }),
  to: t.field({ type: 'DateTime', required: true }),
  granularity: t.field({ type: UsageGranularity, defaultValue: 'DAY' }),
}));

const AccessEntry = builder.objectRef<AccessLogEntry>('AccessEntry').implement({
  description: 'One verification attempt with this key.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    ip: t.exposeString('ip', { nullable: true }),
    country: t.exposeString('country', { nullable: true }),
    agentId: t.exposeID('agentId', { nullable: true }),
    workflowId: t.exposeID('workflowId', { nullable: true }),
    code: t.exposeString('code'),
  }),
});

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  usage: t.field({
    type: [UsagePointRef],
    description: 'Verifications per hour or day (UTC) from the rollups; the last few seconds may not be flushed yet.',
    args: usageArgs,
    select: { id: true },
    resolve: (k, { from, to, granularity }, ctx) => {
      const g = granularity ?? 'DAY';
      validateUsageRange(from, to, g);
      return ctx.loaders.usage.load({ keyId: k.id, from, to, granularity: g });
    },
  }),
  recentAccess: t.field({
    type: [AccessEntry],
    description: 'The latest verification attempts (at most 1,000 are kept), newest first.',
    args: { first: t.arg.int({ defaultValue: 50 }) },
    select: { id: true },
    resolve: async (k, { first }, ctx) => {
      const n = Math.min(Math.max(first ?? 50, 1), 1000);
      return ctx.redis ? recentAccess(ctx.redis, ctx.prefix, k.id, n) : [];
    },
  }),
}));
