import { parseKeyColumn } from '../../src/keys/stored';
import { toJson, toJsonObject } from '../../src/infra/json';

// A stored key's JSON columns are parsed once, where rows are read: typed settings come out, and
// a malformed column fails loudly (naming the column) instead of travelling on as a guess.

describe('parseKeyColumn', () => {
  test('well-formed columns come back as typed settings', () => {
    expect(parseKeyColumn('rateLimits', [{ window: 'MINUTE', limit: 60 }])).toEqual([{ window: 'MINUTE', limit: 60 }]);
    expect(parseKeyColumn('quota', { units: 5, period: 'DAY' })).toEqual({ units: 5, period: 'DAY' });
    expect(parseKeyColumn('quota', null)).toBeNull();
    expect(parseKeyColumn('bandwidth', { bytes: 1024, period: 'MONTH' })).toEqual({ bytes: 1024, period: 'MONTH' });
    expect(parseKeyColumn('accessWindows', [{ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'UTC' }])).toEqual([{ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'UTC' }]);
    expect(parseKeyColumn('metadata', { team: 'ops', tags: ['a', 1, null], nested: { ok: true } })).toEqual({ team: 'ops', tags: ['a', 1, null], nested: { ok: true } });
    expect(parseKeyColumn('metadata', null)).toBeNull();
  });

  test.each<[Parameters<typeof parseKeyColumn>[0], unknown]>([
    ['rateLimits', [{ window: 'WEEK', limit: 1 }]],
    ['rateLimits', null],
    ['quota', { bytes: 5, period: 'DAY' }],
    ['bandwidth', { bytes: '1024', period: 'DAY' }],
    ['accessWindows', [{ days: ['mon'], start: '09:00', end: '17:00', timeZone: 'UTC' }]],
    ['metadata', ['not', 'an', 'object']],
  ])('a malformed %s column is refused, naming the column', (column, value) => {
    expect(() => parseKeyColumn(column, value)).toThrow(new RegExp(`column ${column} is malformed`));
  });
});

describe('toJson', () => {
  test('a JSON-safe copy as PostgreSQL stores it: Dates as ISO strings, undefined dropped, undefined itself null', () => {
    const at = new Date('2030-01-15T12:00:00.000Z');
    expect(toJson({ at, gone: undefined, list: [1, 'two'] })).toEqual({ at: '2030-01-15T12:00:00.000Z', list: [1, 'two'] });
    expect(toJson(undefined)).toBeNull();
    expect(toJsonObject({ at })).toEqual({ at: '2030-01-15T12:00:00.000Z' });
  });
});
