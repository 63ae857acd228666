import { formErrorOf } from '../../dashboard/src/hooks';
import { changedAccessInput, creditsForm, creditsInput, creditsText, identityForm, identityInput, inputError, metadataInput, newAccessInput, quotaInput } from '../../dashboard/src/grants';

import { href, parseRoute } from '../../dashboard/src/router';

// The dashboard's identity, role and key-access forms: what they send, and where an error shows.

test("a form's own check is an error of the API's shape: the field it names and its message", () => {
  expect(formErrorOf(inputError('input.credits.remaining', 'must be a whole number'))).toEqual({
    field: 'input.credits.remaining',
    code: 'BAD_USER_INPUT',
    message: 'input.credits.remaining: must be a whole number (BAD_USER_INPUT)',
  });
  expect(() => quotaInput('ten', 'DAY')).toThrow(expect.objectContaining({ field: 'input.quota.units' }));
  expect(quotaInput(' ', 'DAY')).toBeNull();
});

test('credits: empty is none; a refill is sent with its day only when monthly; text that is no number names its field', () => {
  const empty = creditsForm(null);
  expect(creditsInput(empty)).toBeNull();
  expect(creditsInput({ ...empty, remaining: '50' })).toEqual({ remaining: 50 });
  expect(creditsInput({ remaining: '50', refillAmount: '100', interval: 'MONTHLY', day: '5' })).toEqual({ remaining: 50, refill: { amount: 100, interval: 'MONTHLY', day: 5 } });
  expect(creditsInput({ remaining: '50', refillAmount: '100', interval: 'DAILY', day: '5' })).toEqual({ remaining: 50, refill: { amount: 100, interval: 'DAILY' } });
  // Negative numbers go to the API, whose message says the range.
  expect(creditsInput({ ...empty, remaining: '-1' })).toEqual({ remaining: -1 });
  expect(() => creditsInput({ ...empty, remaining: 'ten' })).toThrow(expect.objectContaining({ field: 'input.credits.remaining' }));
  expect(() => creditsInput({ ...empty, refillAmount: '10' })).toThrow(expect.objectContaining({ field: 'input.credits.remaining' }));
  expect(creditsText({ remaining: 49, refill: { amount: 100, interval: 'MONTHLY', day: 5 } })).toBe('49 left · refills to 100 on day 5 of each month');
  expect(creditsText(null)).toBe('none');
});

test('a new key sends only the access fields filled in', () => {
  expect(newAccessInput({ permissions: '', roleIds: [], identityId: '', credits: creditsForm(null) })).toEqual({});
  expect(newAccessInput({ permissions: 'billing.read, agents.*\nx.y', roleIds: ['r1'], identityId: 'i1', credits: { ...creditsForm(null), remaining: '5' } })).toEqual({
    permissions: ['billing.read', 'agents.*', 'x.y'],
    roles: ['r1'],
    identityId: 'i1',
    credits: { remaining: 5 },
  });
});

test('editing a key sends what changed: cleared credits as null, an unchanged form as nothing', () => {
  const start = { permissions: 'a.b, c.d', roleIds: ['r1', 'r2'], identityId: 'i1', credits: creditsForm({ remaining: 7, refill: null }) };
  expect(changedAccessInput(start, { ...start, roleIds: ['r2', 'r1'], permissions: 'a.b\nc.d' })).toEqual({});
  expect(changedAccessInput(start, { ...start, permissions: 'a.b', credits: creditsForm(null) })).toEqual({ permissions: ['a.b'], credits: null });
  expect(changedAccessInput(start, { ...start, identityId: 'i2', roleIds: [] })).toEqual({ identityId: 'i2', roles: [] });
});

test('identity input: create leaves empty fields out; update sends what changed, a cleared quota as null', () => {
  const start = identityForm({ externalId: 'cust_1', metadata: { plan: 'pro' }, rateLimits: [{ window: 'MINUTE', limit: 10 }], quota: { units: 5, period: 'DAY' } });
  expect(identityInput({ ...start, metadata: '', quotaUnits: '' })).toEqual({ externalId: 'cust_1', rateLimits: [{ window: 'MINUTE', limit: 10 }] });
  expect(identityInput(start, start)).toEqual({});
  expect(identityInput({ ...start, quotaUnits: '', metadata: '{"plan":"free"}' }, start)).toEqual({ quota: null, metadata: { plan: 'free' } });
  expect(() => identityInput({ ...start, metadata: '{plan' }, start)).toThrow(expect.objectContaining({ field: 'input.metadata' }));
  expect(() => identityInput({ ...start, rateLimits: [{ window: 'HOUR', limit: 'x' }] }, start)).toThrow(expect.objectContaining({ field: 'input.rateLimits' }));
  expect(metadataInput('  ')).toBeNull();
  expect(inputError('input.x', 'bad').message).toBe('input.x: bad');
});

test('routes: identities, one identity, a new key for an identity, roles', () => {
  for (const route of [{ page: 'identities' }, { page: 'identity', id: 'abc' }, { page: 'new-key', identityId: 'abc' }, { page: 'roles' }] as const) {
    expect(parseRoute(href(route))).toEqual(route);
  }
});
