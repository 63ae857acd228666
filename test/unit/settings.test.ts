import { KeywardenError } from '../../src/infra/errors';
import type { KeyType } from '../../src/generated/prisma/enums';
import type { Expiration } from '../../src/keys/presets';
import type { AccessWindowSetting } from '../../src/access/key-settings';
import { normalizeRestrictions, normalizeScope, resolveExpiry, type KeyRestrictionsInput, type ScopeInput } from '../../src/keys/settings';

const DAY = 86_400_000;
const NOW = new Date('2030-01-15T12:00:00.000Z');
const UUID_A = '11111111-1111-4111-8111-111111111111';
const UUID_B = '22222222-2222-4222-8222-222222222222';

/** The KeywardenError `fn` throws (fails the test when it throws nothing or something else). */
function thrownBy(fn: () => unknown): KeywardenError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error('expected a KeywardenError, but nothing was thrown');
  if (!(thrown instanceof KeywardenError)) throw new Error(`expected a KeywardenError, got ${String(thrown)}`);
  return thrown;
}

function expectBadInput(fn: () => unknown, field: string | RegExp): KeywardenError {
  const err = thrownBy(fn);
  expect(err.code).toBe('BAD_USER_INPUT');
  if (typeof field === 'string') {
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  } else {
    expect(err.field).toMatch(field);
  }
  return err;
}

const acceptCondition = () => {};
const restrictions = (input: KeyRestrictionsInput) => normalizeRestrictions(input, acceptCondition);
const window = (over: Partial<AccessWindowSetting> = {}): AccessWindowSetting => ({
  days: ['MON', 'TUE'],
  start: '09:00',
  end: '17:00',
  timeZone: 'Europe/Berlin',
  ...over,
});

describe('normalizeScope', () => {
  test.each<[string, ScopeInput, string | RegExp]>([
    ['SINGLE_AGENT without agentId', { kind: 'SINGLE_AGENT' }, 'input.scope.agentId'],
    ['SINGLE_AGENT with a null agentId', { kind: 'SINGLE_AGENT', agentId: null }, 'input.scope.agentId'],
    ['AGENT_GROUP without groupId', { kind: 'AGENT_GROUP' }, 'input.scope.groupId'],
    ['WORKFLOW without workflowIds', { kind: 'WORKFLOW' }, 'input.scope.workflowIds'],
    ['WORKFLOW with an empty workflowIds list', { kind: 'WORKFLOW', workflowIds: [] }, 'input.scope.workflowIds'],

    ['SINGLE_AGENT with an extra groupId', { kind: 'SINGLE_AGENT', agentId: UUID_A, groupId: UUID_B }, /^input\.scope(\.groupId)?$/],
    ['SINGLE_AGENT with extra workflowIds', { kind: 'SINGLE_AGENT', agentId: UUID_A, workflowIds: [UUID_B] }, /^input\.scope(\.workflowIds)?$/],
    ['AGENT_GROUP with an extra agentId', { kind: 'AGENT_GROUP', groupId: UUID_A, agentId: UUID_B }, /^input\.scope(\.agentId)?$/],
    ['AGENT_GROUP with extra workflowIds', { kind: 'AGENT_GROUP', groupId: UUID_A, workflowIds: [UUID_B] }, /^input\.scope(\.workflowIds)?$/],
    ['WORKFLOW with an extra agentId', { kind: 'WORKFLOW', workflowIds: [UUID_A], agentId: UUID_B }, /^input\.scope(\.agentId)?$/],
    ['WORKFLOW with an extra groupId', { kind: 'WORKFLOW', workflowIds: [UUID_A], groupId: UUID_B }, /^input\.scope(\.groupId)?$/],
    ['ALL_AGENTS with an agentId', { kind: 'ALL_AGENTS', agentId: UUID_A }, /^input\.scope(\.agentId)?$/],
    ['ALL_AGENTS with a groupId', { kind: 'ALL_AGENTS', groupId: UUID_A }, /^input\.scope(\.groupId)?$/],
    ['ALL_AGENTS with workflowIds', { kind: 'ALL_AGENTS', workflowIds: [UUID_A] }, /^input\.scope(\.workflowIds)?$/],

    ['SINGLE_AGENT with an agentId that is not a uuid', { kind: 'SINGLE_AGENT', agentId: 'agent-1' }, 'input.scope.agentId'],
    ['SINGLE_AGENT with an empty agentId', { kind: 'SINGLE_AGENT', agentId: '' }, 'input.scope.agentId'],
    ['SINGLE_AGENT with a uuid with trailing text', { kind: 'SINGLE_AGENT', agentId: `${UUID_A}x` }, 'input.scope.agentId'],
    ['AGENT_GROUP with a groupId that is not a uuid', { kind: 'AGENT_GROUP', groupId: '1234' }, 'input.scope.groupId'],
    ['WORKFLOW with a first workflow id that is not a uuid', { kind: 'WORKFLOW', workflowIds: ['nope', UUID_A] }, 'input.scope.workflowIds[0]'],
    ['WORKFLOW with a second workflow id that is not a uuid', { kind: 'WORKFLOW', workflowIds: [UUID_A, 'nope'] }, 'input.scope.workflowIds[1]'],
    ['WORKFLOW with 101 workflows', { kind: 'WORKFLOW', workflowIds: Array.from({ length: 101 }, () => UUID_A) }, 'input.scope.workflowIds'],
    ['an unknown kind', { kind: 'EVERYONE' as never }, 'input.scope.kind'],
  ])('rejects %s, naming the field', (_label, scope, field) => {
    expectBadInput(() => normalizeScope('input.scope', scope), field);
  });

  test.each<[string, ScopeInput, ScopeInput]>([
    ['ALL_AGENTS', { kind: 'ALL_AGENTS' }, { kind: 'ALL_AGENTS' }],
    ['ALL_AGENTS with null ids and an empty list', { kind: 'ALL_AGENTS', agentId: null, groupId: null, workflowIds: [] }, { kind: 'ALL_AGENTS' }],
    ['SINGLE_AGENT (id lower-cased)', { kind: 'SINGLE_AGENT', agentId: UUID_A.toUpperCase() }, { kind: 'SINGLE_AGENT', agentId: UUID_A }],
    ['AGENT_GROUP', { kind: 'AGENT_GROUP', groupId: UUID_B }, { kind: 'AGENT_GROUP', groupId: UUID_B }],
    ['WORKFLOW (ids lower-cased, duplicates dropped)', { kind: 'WORKFLOW', workflowIds: [UUID_A, UUID_A.toUpperCase(), UUID_B] }, { kind: 'WORKFLOW', workflowIds: [UUID_A, UUID_B] }],
  ])('normalizes %s', (_label, scope, expected) => {
    expect(normalizeScope('input.scope', scope)).toEqual(expected);
  });
});

describe('normalizeRestrictions: every validation error names its field', () => {
  const tooLargeMetadata = { blob: 'x'.repeat(20_000) };

  test.each<[string, KeyRestrictionsInput, string]>([
    ['an invalid second IP entry', { ipAllowlist: ['10.0.0.0/8', 'not-an-ip'] }, 'input.ipAllowlist[1]'],
    ['an invalid first IP entry', { ipAllowlist: ['1.2.3.4/33'] }, 'input.ipAllowlist[0]'],
    ['a hex-spelled IP entry', { ipAllowlist: ['10.0.0.1', '10.0.0.2', '0x7f.0.0.1'] }, 'input.ipAllowlist[2]'],
    ['an empty IP entry', { ipAllowlist: [''] }, 'input.ipAllowlist[0]'],
    ['101 IP entries', { ipAllowlist: Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`) }, 'input.ipAllowlist'],

    ['a zero rate limit', { rateLimits: [{ window: 'MINUTE', limit: 0 }] }, 'input.rateLimits[0].limit'],
    ['a negative rate limit', { rateLimits: [{ window: 'MINUTE', limit: -5 }] }, 'input.rateLimits[0].limit'],
    ['a fractional rate limit', { rateLimits: [{ window: 'HOUR', limit: 1.5 }] }, 'input.rateLimits[0].limit'],
    ['a NaN rate limit', { rateLimits: [{ window: 'HOUR', limit: NaN }] }, 'input.rateLimits[0].limit'],
    [
      'a bad limit in the second rate limit',
      {
        rateLimits: [
          { window: 'MINUTE', limit: 10 },
          { window: 'DAY', limit: 0 },
        ],
      },
      'input.rateLimits[1].limit',
    ],
    [
      'a duplicate window',
      {
        rateLimits: [
          { window: 'MINUTE', limit: 10 },
          { window: 'MINUTE', limit: 20 },
        ],
      },
      'input.rateLimits[1].window',
    ],
    ['an unknown window', { rateLimits: [{ window: 'WEEK' as never, limit: 10 }] }, 'input.rateLimits[0].window'],

    ['zero quota units', { quota: { units: 0, period: 'DAY' } }, 'input.quota.units'],
    ['negative quota units', { quota: { units: -1, period: 'MONTH' } }, 'input.quota.units'],
    ['fractional quota units', { quota: { units: 2.5, period: 'MONTH' } }, 'input.quota.units'],
    ['infinite quota units', { quota: { units: Infinity, period: 'MONTH' } }, 'input.quota.units'],
    ['an unknown quota period', { quota: { units: 10, period: 'WEEK' as never } }, 'input.quota.period'],
    ['zero bandwidth bytes', { bandwidth: { bytes: 0, period: 'DAY' } }, 'input.bandwidth.bytes'],
    ['negative bandwidth bytes', { bandwidth: { bytes: -1024, period: 'DAY' } }, 'input.bandwidth.bytes'],
    ['NaN bandwidth bytes', { bandwidth: { bytes: NaN, period: 'DAY' } }, 'input.bandwidth.bytes'],
    ['bandwidth bytes beyond the safe integer range', { bandwidth: { bytes: 2 ** 60, period: 'DAY' } }, 'input.bandwidth.bytes'],
    ['an unknown bandwidth period', { bandwidth: { bytes: 1024, period: 'YEAR' as never } }, 'input.bandwidth.period'],
    ['zero maxConcurrent', { maxConcurrent: 0 }, 'input.maxConcurrent'],
    ['fractional maxConcurrent', { maxConcurrent: 1.5 }, 'input.maxConcurrent'],

    ['an access window with no days', { accessWindows: [window({ days: [] })] }, 'input.accessWindows[0].days'],
    ['an access window with an unknown day', { accessWindows: [window({ days: ['MON', 'FUNDAY' as never] })] }, 'input.accessWindows[0].days[1]'],
    ['an access window with a lower-case day', { accessWindows: [window({ days: ['mon' as never] })] }, 'input.accessWindows[0].days[0]'],
    ['an access window start without a leading zero', { accessWindows: [window({ start: '9:00' })] }, 'input.accessWindows[0].start'],
    ['an access window start of 24:00', { accessWindows: [window({ start: '24:00' })] }, 'input.accessWindows[0].start'],
    ['an access window start with 60 minutes', { accessWindows: [window({ start: '10:60' })] }, 'input.accessWindows[0].start'],
    ['an access window start with seconds', { accessWindows: [window({ start: '09:00:00' })] }, 'input.accessWindows[0].start'],
    ['an access window start in 12-hour form', { accessWindows: [window({ start: '9am' })] }, 'input.accessWindows[0].start'],
    ['an access window end of 25:00', { accessWindows: [window({ end: '25:00' })] }, 'input.accessWindows[0].end'],
    ['an access window end that is empty', { accessWindows: [window({ end: '' })] }, 'input.accessWindows[0].end'],
    ['an access window with an unknown time zone', { accessWindows: [window({ timeZone: 'Mars/Olympus_Mons' })] }, 'input.accessWindows[0].timeZone'],
    ['an access window with a made-up offset zone', { accessWindows: [window({ timeZone: 'GMT+99' })] }, 'input.accessWindows[0].timeZone'],
    ['a bad second access window', { accessWindows: [window(), window({ timeZone: 'Nowhere/Land' })] }, 'input.accessWindows[1].timeZone'],

    ['a non-ISO country "XX"', { allowedCountries: ['XX'] }, 'input.allowedCountries[0]'],
    ['a three-letter country "usa"', { allowedCountries: ['DE', 'usa'] }, 'input.allowedCountries[1]'],
    ['the unknown region "ZZ"', { allowedCountries: ['ZZ'] }, 'input.allowedCountries[0]'],
    ['an unassigned code "AA"', { allowedCountries: ['AA'] }, 'input.allowedCountries[0]'],
    ['a numeric code "276"', { allowedCountries: ['276'] }, 'input.allowedCountries[0]'],
    ['a one-letter code', { allowedCountries: ['D'] }, 'input.allowedCountries[0]'],
    ['an empty code', { allowedCountries: [''] }, 'input.allowedCountries[0]'],
    ['the region "UN" (United Nations)', { allowedCountries: ['UN'] }, 'input.allowedCountries[0]'],
    ['the region "EU" (European Union)', { allowedCountries: ['EU'] }, 'input.allowedCountries[0]'],
    ['the region "EZ" (Eurozone)', { allowedCountries: ['EZ'] }, 'input.allowedCountries[0]'],
    ['the region "QO" (Outlying Oceania)', { allowedCountries: ['QO'] }, 'input.allowedCountries[0]'],

    ['a metadata string', { metadata: 'hello' }, 'input.metadata'],
    ['a metadata number', { metadata: 42 }, 'input.metadata'],
    ['a metadata array', { metadata: [1, 2, 3] }, 'input.metadata'],
    ['a metadata boolean', { metadata: true }, 'input.metadata'],
    ['metadata over 16 KiB as JSON', { metadata: tooLargeMetadata }, 'input.metadata'],

    ['rotationPeriodDays of 0', { rotationPeriodDays: 0 }, 'input.rotationPeriodDays'],
    ['negative rotationPeriodDays', { rotationPeriodDays: -30 }, 'input.rotationPeriodDays'],
    ['rotationPeriodDays of 3651', { rotationPeriodDays: 3651 }, 'input.rotationPeriodDays'],
    ['fractional rotationPeriodDays', { rotationPeriodDays: 7.5 }, 'input.rotationPeriodDays'],

    ['a condition over 4096 characters', { condition: `request.ip == "${'1'.repeat(4100)}"` }, 'input.condition'],
  ])('rejects %s', (_label, input, field) => {
    expectBadInput(() => restrictions(input), field);
  });

  test.each<[string, KeyRestrictionsInput, RegExp]>([
    ['an access window whose start equals its end', { accessWindows: [window({ start: '10:00', end: '10:00' })] }, /^input\.accessWindows\[0\](\.(start|end))?$/],
    ['a second access window whose start equals its end', { accessWindows: [window(), window({ start: '00:00', end: '00:00' })] }, /^input\.accessWindows\[1\](\.(start|end))?$/],
  ])('rejects %s, naming the window', (_label, input, field) => {
    expectBadInput(() => restrictions(input), field);
  });

  test('a condition is handed to the validator with its field name, trimmed', () => {
    const validator = jest.fn();
    normalizeRestrictions({ condition: '  request.ip == "1.2.3.4"  ' }, validator);
    expect(validator).toHaveBeenCalledWith('input.condition', 'request.ip == "1.2.3.4"');
  });

  test('an error from the condition validator is passed on', () => {
    const validator = () => {
      throw new KeywardenError('BAD_USER_INPUT', 'input.condition: nope', 'input.condition');
    };
    expectBadInput(() => normalizeRestrictions({ condition: 'true' }, validator), 'input.condition');
  });
});

describe('normalizeRestrictions: accepted values are normalized', () => {
  test('fields left out of the input are left out of the result', () => {
    expect(restrictions({})).toEqual({});
  });

  test('IP entries are normalized and de-duplicated', () => {
    expect(restrictions({ ipAllowlist: ['10.1.2.3/8', '10.0.0.0/8', ' 203.0.113.7 ', '::ffff:203.0.113.7', '2001:DB8::/32'] }).ipAllowlist).toEqual(['10.0.0.0/8', '203.0.113.7', '2001:db8::/32']);
  });

  test('a hostname entry (dynamic IP) is kept in lower case without a trailing dot', () => {
    expect(restrictions({ ipAllowlist: ['Office.Example.COM.', '10.0.0.1'] }).ipAllowlist).toEqual(['office.example.com', '10.0.0.1']);
  });

  test('a null list clears it', () => {
    expect(restrictions({ ipAllowlist: null, rateLimits: null, accessWindows: null, allowedCountries: null })).toEqual({
      ipAllowlist: [],
      rateLimits: [],
      accessWindows: [],
      allowedCountries: [],
    });
  });

  test('rate limits are kept, ordered MINUTE, HOUR, DAY', () => {
    expect(
      restrictions({
        rateLimits: [
          { window: 'DAY', limit: 10_000 },
          { window: 'MINUTE', limit: 60 },
          { window: 'HOUR', limit: 1_000 },
        ],
      }).rateLimits,
    ).toEqual([
      { window: 'MINUTE', limit: 60 },
      { window: 'HOUR', limit: 1_000 },
      { window: 'DAY', limit: 10_000 },
    ]);
  });

  test('quota, bandwidth and maxConcurrent are kept; null clears them', () => {
    expect(restrictions({ quota: { units: 500, period: 'MONTH' }, bandwidth: { bytes: 1_048_576, period: 'DAY' }, maxConcurrent: 4 })).toEqual({
      quota: { units: 500, period: 'MONTH' },
      bandwidth: { bytes: 1_048_576, period: 'DAY' },
      maxConcurrent: 4,
    });
    expect(restrictions({ quota: null, bandwidth: null, maxConcurrent: null })).toEqual({ quota: null, bandwidth: null, maxConcurrent: null });
  });

  test('access windows keep their times, accept an end of 24:00 and drop duplicate days', () => {
    expect(restrictions({ accessWindows: [window({ days: ['MON', 'MON', 'SUN'], start: '22:00', end: '24:00', timeZone: 'America/New_York' })] }).accessWindows).toEqual([
      { days: ['MON', 'SUN'], start: '22:00', end: '24:00', timeZone: 'America/New_York' },
    ]);
  });

  test('an access window may wrap past midnight (start after end)', () => {
    expect(restrictions({ accessWindows: [window({ start: '22:00', end: '06:00' })] }).accessWindows).toHaveLength(1);
  });

  test('countries are upper-cased, trimmed and de-duplicated', () => {
    expect(restrictions({ allowedCountries: ['de', ' US ', 'DE', 'jp'] }).allowedCountries).toEqual(['DE', 'US', 'JP']);
  });

  test('metadata objects are kept; null clears them', () => {
    expect(restrictions({ metadata: { team: 'ml', tier: 2 } }).metadata).toEqual({ team: 'ml', tier: 2 });
    expect(restrictions({ metadata: null }).metadata).toBeNull();
  });

  test('an empty or blank condition clears it without calling the validator', () => {
    const validator = jest.fn();
    expect(normalizeRestrictions({ condition: '   ' }, validator).condition).toBeNull();
    expect(normalizeRestrictions({ condition: null }, validator).condition).toBeNull();
    expect(validator).not.toHaveBeenCalled();
  });

  test.each([1, 30, 3650, null])('rotationPeriodDays %p is accepted', (d) => {
    expect(restrictions({ rotationPeriodDays: d }).rotationPeriodDays).toBe(d);
  });
});

describe('allowed countries', () => {
  test.each(['US', 'DE', 'JP', 'BR', 'ZA', 'NZ'])('%s is accepted as an ISO country', (c) => {
    expect(restrictions({ allowedCountries: [c] }).allowedCountries).toEqual([c]);
  });
});

describe('resolveExpiry', () => {
  test.each<[KeyType, number]>([
    ['DEVELOPMENT', 30],
    ['PRODUCTION', 365],
    ['INTEGRATION', 90],
    ['EMERGENCY', 7],
  ])('a %s key without expiresIn or expiresAt expires after its preset %i days', (type, days) => {
    expect(resolveExpiry({ type }, NOW)).toEqual(new Date(NOW.getTime() + days * DAY));
    expect(resolveExpiry({ type, expiresIn: null, expiresAt: null }, NOW)).toEqual(new Date(NOW.getTime() + days * DAY));
  });

  test.each<[Expiration, number | null]>([
    ['DAYS_30', 30],
    ['DAYS_90', 90],
    ['YEAR_1', 365],
    ['NEVER', null],
  ])('expiresIn %s overrides the preset (%p days)', (expiresIn, days) => {
    for (const type of ['DEVELOPMENT', 'PRODUCTION', 'INTEGRATION', 'EMERGENCY'] as KeyType[]) {
      const expected = days === null ? null : new Date(NOW.getTime() + days * DAY);
      expect(resolveExpiry({ type, expiresIn }, NOW)).toEqual(expected);
    }
  });

  test('an explicit future expiresAt is used as is', () => {
    const at = new Date(NOW.getTime() + 12 * 3_600_000);
    expect(resolveExpiry({ type: 'PRODUCTION', expiresAt: at }, NOW)).toEqual(at);
  });

  test('expiresAt one millisecond in the future is accepted', () => {
    const at = new Date(NOW.getTime() + 1);
    expect(resolveExpiry({ type: 'DEVELOPMENT', expiresAt: at }, NOW)).toEqual(at);
  });

  test('giving both expiresIn and expiresAt is rejected', () => {
    expectBadInput(() => resolveExpiry({ type: 'DEVELOPMENT', expiresIn: 'DAYS_30', expiresAt: new Date(NOW.getTime() + DAY) }, NOW), /^input\.expires(At|In)$/);
  });

  test.each([
    ['a date in the past', new Date(NOW.getTime() - DAY)],
    ['exactly now', new Date(NOW.getTime())],
    ['an invalid date', new Date('not a date')],
  ])('expiresAt %s is rejected, naming input.expiresAt', (_label, at) => {
    expectBadInput(() => resolveExpiry({ type: 'DEVELOPMENT', expiresAt: at }, NOW), 'input.expiresAt');
  });

  test.each(['DAYS_7', 'FOREVER', '', 'toString', 'constructor', '__proto__'])('an unknown expiresIn %j is rejected, naming input.expiresIn', (expiresIn) => {
    expectBadInput(() => resolveExpiry({ type: 'DEVELOPMENT', expiresIn: expiresIn as Expiration }, NOW), 'input.expiresIn');
  });
});
