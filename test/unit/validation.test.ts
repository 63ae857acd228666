import { KeywardenError } from '../../src/infra/errors';
import { isUuid, isValidTimeZone, normalizeGrace, normalizeName } from '../../src/infra/validation';

// The input checks several rooms share: ids, names, time zones, rotation grace periods.

const UUID_A = '11111111-1111-4111-8111-111111111111';

function expectBadInput(fn: () => unknown, field: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(KeywardenError);
  expect((thrown as KeywardenError).code).toBe('BAD_USER_INPUT');
  expect((thrown as KeywardenError).field).toBe(field);
  expect((thrown as KeywardenError).message).toContain(field);
}

describe('normalizeName', () => {
  test.each([
    ['the empty string', ''],
    ['only spaces', '   '],
    ['only tabs and newlines', '\t\n '],
    ['a non-string', 42],
    ['null', null],
    ['201 characters', 'x'.repeat(201)],
    ['201 characters after trimming', `  ${'x'.repeat(201)}  `],
  ])('rejects %s, naming input.name', (_label, name) => {
    expectBadInput(() => normalizeName('input.name', name), 'input.name');
  });

  test.each([
    ['a plain name', 'ci-bot', 'ci-bot'],
    ['a name with surrounding spaces (trimmed)', '  ci bot  ', 'ci bot'],
    ['exactly 200 characters', 'y'.repeat(200), 'y'.repeat(200)],
    ['a unicode name', 'Schlüssel für Agent 🤖', 'Schlüssel für Agent 🤖'],
  ])('accepts %s', (_label, name, expected) => {
    expect(normalizeName('input.name', name)).toBe(expected);
  });
});

describe('isUuid', () => {
  test.each<[unknown, boolean]>([
    [UUID_A, true],
    [UUID_A.toUpperCase(), true],
    ['11111111111141118111111111111111', false],
    ['11111111-1111-4111-8111-11111111111', false],
    ['g1111111-1111-4111-8111-111111111111', false],
    [42, false],
    [null, false],
  ])('%p -> %p', (value, expected) => {
    expect(isUuid(value)).toBe(expected);
  });
});

describe('isValidTimeZone', () => {
  test.each(['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Asia/Kolkata'])('%s is a time zone', (tz) => {
    expect(isValidTimeZone(tz)).toBe(true);
  });

  test.each(['Mars/Olympus_Mons', 'Berlin', 'Europe/Berlinn'])('%s is not a time zone', (tz) => {
    expect(isValidTimeZone(tz)).toBe(false);
  });
});

describe('normalizeGrace', () => {
  test.each<[number | null | undefined, number]>([
    [undefined, 86_400],
    [null, 86_400],
    [0, 0],
    [30 * 86_400, 30 * 86_400],
  ])('%p seconds -> %p', (given, expected) => {
    expect(normalizeGrace(given)).toBe(expected);
  });

  test.each([-1, 1.5, 30 * 86_400 + 1, Number.NaN])('%p is refused, naming gracePeriodSeconds', (given) => {
    expectBadInput(() => normalizeGrace(given), 'gracePeriodSeconds');
  });
});
