import { EVENT_TYPES, matchesEventType, normalizeEventTypes } from '../../src/events/types';
import { KeywardenError } from '../../src/infra/errors';

// Which endpoints receive which events (README, Webhooks and workers): "*", a prefix such as "key.*", or exact.

test.each([
  [['*'], 'key.created', true],
  [['*'], 'webhook.test', true],
  [['key.*'], 'key.rotation_due', true],
  [['key.*'], 'security.alert', false],
  [['key.revoked'], 'key.revoked', true],
  [['key.revoked'], 'key.rotated', false],
  [['security.alert', 'key.created'], 'key.created', true],
  [['key.create'], 'key.created', false],
  [['ke*'], 'key.created', false],
  [[], 'key.created', false],
])('patterns %j receive %s: %s', (patterns, type, expected) => {
  expect(matchesEventType(patterns, type)).toBe(expected);
});

test('every documented event type is accepted as a subscription, as are "*" and the prefixes', () => {
  expect(normalizeEventTypes('f', [...EVENT_TYPES, '*', 'key.*', 'security.*', 'webhook.*'])).toHaveLength(EVENT_TYPES.length + 4);
});

test('duplicates and surrounding spaces are dropped', () => {
  expect(normalizeEventTypes('f', [' key.created', 'key.created', '*'])).toEqual(['key.created', '*']);
});

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeywardenError && e.code === 'BAD_USER_INPUT') return e.field;
    throw e;
  }
  throw new Error('expected BAD_USER_INPUT');
}

test.each([
  ['an unknown type', ['key.created', 'key.deleted'], 'input.eventTypes[1]'],
  ['an unknown prefix', ['agent.*'], 'input.eventTypes[0]'],
  ['a bare prefix without ".*"', ['key'], 'input.eventTypes[0]'],
  ['a non-string entry', [42], 'input.eventTypes[0]'],
  ['an empty list', [], 'input.eventTypes'],
])('%s is refused naming the entry', (_label, patterns, field) => {
  expect(fieldOf(() => normalizeEventTypes('input.eventTypes', patterns))).toBe(field);
});
