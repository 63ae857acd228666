import { creditsSpentKey } from '../infra/redis-keys';
import { parseRefill, type CreditRefill } from '../keys/credits';
import { builder } from './builder';
import { CreditRefillIntervalEnum } from './credits-input';
import { ApiKeyRef } from './key';

const CreditRefillRef = builder.objectRef<CreditRefill>('CreditRefill').implement({
  fields: (t) => ({
    amount: t.exposeInt('amount'),
    interval: t.expose('interval', { type: CreditRefillIntervalEnum }),
    day: t.exposeInt('day', { nullable: true, description: 'MONTHLY: the day of the month (1-28).' }),
  }),
});

const CreditsRef = builder.objectRef<{ remaining: number; refill: CreditRefill | null }>('Credits').implement({
  fields: (t) => ({
    remaining: t.exposeInt('remaining', { description: 'What is left now, across all instances.' }),
    refill: t.expose('refill', { type: CreditRefillRef, nullable: true }),
  }),
});

builder.prismaObjectFields(ApiKeyRef, (t) => ({
  credits: t.field({
    type: CreditsRef,
    nullable: true,
    select: { id: true, accountId: true, creditsRemaining: true, creditsRefill: true, creditsEpoch: true },
    resolve: async (k, _args, ctx) => {
      if (k.creditsRemaining === null) return null;
      const spent = ctx.redis ? Number((await ctx.redis.get(creditsSpentKey(ctx.prefix, k.accountId, k.id, k.creditsEpoch))) ?? 0) : 0;
      return { remaining: Math.max(0, k.creditsRemaining - spent), refill: parseRefill(k.creditsRefill) };
    },
  }),
}));
