import { REFILL_INTERVALS } from '../keys/credits';
import { builder } from './builder';

export const CreditRefillIntervalEnum = builder.enumType('CreditRefillInterval', { values: REFILL_INTERVALS });

export const CreditRefillInput = builder.inputType('CreditRefillInput', {
  fields: (t) => ({
    amount: t.int({ required: true, description: 'The budget after each refill.' }),
    interval: t.field({ type: CreditRefillIntervalEnum, required: true }),
    day: t.int({ description: 'MONTHLY: the day of the month (1-28), default 1.' }),
  }),
});

export const CreditsInput = builder.inputType('CreditsInput', {
  fields: (t) => ({
    remaining: t.int({ required: true, description: 'The budget from now on (uses, or units spent by `cost`).' }),
    refill: t.field({ type: CreditRefillInput }),
  }),
});
