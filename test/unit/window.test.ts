import { localTimeIn, parseTimeOfDay, withinAccessWindow, withinAccessWindows, type AccessWindow } from '../../src/access/window';

const at = (iso: string) => Date.parse(iso);
const win = (days: string[], start: string, end: string, timeZone: string): AccessWindow => ({ days, start, end, timeZone });

// 2026-01-05 and 2026-07-06 are Mondays.
const WEEKDAY_9_TO_17 = ['MON', 'TUE', 'WED', 'THU', 'FRI'];

describe('withinAccessWindow', () => {
  const cases: Array<[string, AccessWindow, string, boolean]> = [
    // UTC, start inclusive, end exclusive
    ['UTC: at start', win(['MON'], '09:00', '17:00', 'UTC'), '2026-01-05T09:00:00Z', true],
    ['UTC: a second before start', win(['MON'], '09:00', '17:00', 'UTC'), '2026-01-05T08:59:59Z', false],
    ['UTC: last second', win(['MON'], '09:00', '17:00', 'UTC'), '2026-01-05T16:59:59.999Z', true],
    ['UTC: at end', win(['MON'], '09:00', '17:00', 'UTC'), '2026-01-05T17:00:00Z', false],
    ['UTC: other day', win(['MON'], '09:00', '17:00', 'UTC'), '2026-01-06T10:00:00Z', false],
    ['UTC: any listed day', win(WEEKDAY_9_TO_17, '09:00', '17:00', 'UTC'), '2026-01-09T10:00:00Z', true],
    ['UTC: weekend not listed', win(WEEKDAY_9_TO_17, '09:00', '17:00', 'UTC'), '2026-01-10T10:00:00Z', false],
    // New York: UTC-5 in winter, UTC-4 in summer
    ['New York winter: 09:00 EST', win(['MON'], '09:00', '17:00', 'America/New_York'), '2026-01-05T14:00:00Z', true],
    ['New York winter: 08:59 EST', win(['MON'], '09:00', '17:00', 'America/New_York'), '2026-01-05T13:59:00Z', false],
    ['New York winter: 17:00 EST', win(['MON'], '09:00', '17:00', 'America/New_York'), '2026-01-05T22:00:00Z', false],
    ['New York summer: 09:00 EDT', win(['MON'], '09:00', '17:00', 'America/New_York'), '2026-07-06T13:00:00Z', true],
    ['New York summer: 08:59 EDT', win(['MON'], '09:00', '17:00', 'America/New_York'), '2026-07-06T12:59:00Z', false],
    ['New York: Monday evening local is Tuesday in UTC', win(['MON'], '20:00', '23:00', 'America/New_York'), '2026-01-06T02:00:00Z', true],
    // Kolkata: UTC+5:30
    ['Kolkata: 09:00 IST', win(['MON'], '09:00', '17:00', 'Asia/Kolkata'), '2026-01-05T03:30:00Z', true],
    ['Kolkata: 08:59 IST', win(['MON'], '09:00', '17:00', 'Asia/Kolkata'), '2026-01-05T03:29:00Z', false],
    ['Kolkata: 16:59 IST', win(['MON'], '09:00', '17:00', 'Asia/Kolkata'), '2026-01-05T11:29:59Z', true],
    ['Kolkata: 17:00 IST', win(['MON'], '09:00', '17:00', 'Asia/Kolkata'), '2026-01-05T11:30:00Z', false],
    // Chatham: UTC+13:45 in (southern) summer, +12:45 in winter; Monday local starts on Sunday UTC
    ['Chatham summer: 09:00', win(['MON'], '09:00', '17:00', 'Pacific/Chatham'), '2026-01-04T19:15:00Z', true],
    ['Chatham summer: 08:59', win(['MON'], '09:00', '17:00', 'Pacific/Chatham'), '2026-01-04T19:14:00Z', false],
    ['Chatham winter: 09:00', win(['MON'], '09:00', '17:00', 'Pacific/Chatham'), '2026-07-05T20:15:00Z', true],
    ['Chatham winter: 08:59', win(['MON'], '09:00', '17:00', 'Pacific/Chatham'), '2026-07-05T20:14:00Z', false],
    // Crossing midnight: belongs to the day it starts on
    ['overnight: Monday 22:00', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-05T22:00:00Z', true],
    ['overnight: Monday 21:59', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-05T21:59:00Z', false],
    ['overnight: Tuesday 00:00', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-06T00:00:00Z', true],
    ['overnight: Tuesday 01:59', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-06T01:59:59Z', true],
    ['overnight: Tuesday 02:00', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-06T02:00:00Z', false],
    ['overnight: Monday 01:00 (Sunday not listed)', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-05T01:00:00Z', false],
    ['overnight: Tuesday 22:30 (Tuesday not listed)', win(['MON'], '22:00', '02:00', 'UTC'), '2026-01-06T22:30:00Z', false],
    ['overnight: Sunday into Monday wraps the week', win(['SUN'], '23:00', '01:00', 'UTC'), '2026-01-05T00:30:00Z', true],
    ['overnight in Kolkata: Tuesday 01:00 IST', win(['MON'], '22:00', '02:00', 'Asia/Kolkata'), '2026-01-05T19:30:00Z', true],
    // 24:00 as the end of the day
    ['24:00 end: 23:59', win(['SUN'], '20:00', '24:00', 'UTC'), '2026-01-04T23:59:00Z', true],
    ['24:00 end: next midnight', win(['SUN'], '20:00', '24:00', 'UTC'), '2026-01-05T00:00:00Z', false],
    ['whole day 00:00-24:00', win(['MON'], '00:00', '24:00', 'UTC'), '2026-01-05T00:00:00Z', true],
    // Fail closed on what validation should have refused
    ['unknown time zone', win(['MON'], '09:00', '17:00', 'Mars/Olympus_Mons'), '2026-01-05T10:00:00Z', false],
    ['malformed start', win(['MON'], '9am', '17:00', 'UTC'), '2026-01-05T10:00:00Z', false],
    ['start equals end', win(['MON'], '09:00', '09:00', 'UTC'), '2026-01-05T09:00:00Z', false],
  ];

  it.each(cases)('%s', (_name, window, iso, expected) => {
    expect(withinAccessWindow(window, at(iso))).toBe(expected);
  });
});

describe('withinAccessWindows', () => {
  const morning = win(['MON'], '08:00', '10:00', 'UTC');
  const evening = win(['MON'], '18:00', '20:00', 'Asia/Kolkata'); // 12:30-14:30 UTC

  it.each<[string, AccessWindow[], string, boolean]>([
    ['no windows: no restriction', [], '2026-01-05T03:00:00Z', true],
    ['first window matches', [morning, evening], '2026-01-05T09:00:00Z', true],
    ['second window matches', [morning, evening], '2026-01-05T13:00:00Z', true],
    ['between the windows', [morning, evening], '2026-01-05T11:00:00Z', false],
    ['a bad window does not hide a good one', [win(['MON'], 'x', 'y', 'UTC'), morning], '2026-01-05T09:00:00Z', true],
  ])('%s', (_name, windows, iso, expected) => {
    expect(withinAccessWindows(windows, at(iso))).toBe(expected);
  });
});

describe('daylight saving transitions', () => {
  const minutes = (fromIso: string, toIso: string) => {
    const out: number[] = [];
    for (let t = at(fromIso); t < at(toIso); t += 60_000) out.push(t);
    return out;
  };

  it('a window inside the skipped spring-forward hour never matches and never throws', () => {
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z.
    const w = win(['SUN'], '02:00', '03:00', 'America/New_York');
    const matched = minutes('2026-03-08T05:00:00Z', '2026-03-08T09:00:00Z').filter((t) => withinAccessWindow(w, t));
    expect(matched).toEqual([]);
  });

  it('the repeated fall-back hour matches both times', () => {
    // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST at 06:00Z, so 01:00-02:00 local lasts two hours.
    const w = win(['SUN'], '01:00', '02:00', 'America/New_York');
    const matched = minutes('2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z').filter((t) => withinAccessWindow(w, t));
    expect(matched).toHaveLength(120);
    expect(new Date(matched[0]).toISOString()).toBe('2026-11-01T05:00:00.000Z');
  });

  it('an overnight window across the spring-forward night is one hour shorter', () => {
    const w = win(['SAT'], '22:00', '06:00', 'America/New_York');
    const matched = minutes('2026-03-07T12:00:00Z', '2026-03-08T18:00:00Z').filter((t) => withinAccessWindow(w, t));
    expect(matched).toHaveLength(7 * 60);
  });

  it('Chatham (45-minute offset) across its April fall-back', () => {
    // 2026-04-05 03:45 CHADT falls back to 02:45 CHAST (at 14:00Z on Saturday).
    const w = win(['SUN'], '02:00', '04:00', 'Pacific/Chatham');
    const matched = minutes('2026-04-04T10:00:00Z', '2026-04-04T18:00:00Z').filter((t) => withinAccessWindow(w, t));
    expect(matched).toHaveLength(3 * 60);
  });
});

describe('helpers', () => {
  it.each<[string, number | null]>([
    ['00:00', 0],
    ['09:30', 570],
    ['23:59', 1439],
    ['24:00', 1440],
    ['24:01', null],
    ['9:30', null],
    ['12:60', null],
    ['', null],
  ])('parseTimeOfDay(%p) = %p', (text, minutes) => {
    expect(parseTimeOfDay(text)).toBe(minutes);
  });

  it('localTimeIn gives weekday and minute in the zone', () => {
    expect(localTimeIn('Asia/Kolkata', at('2026-01-04T18:30:00Z'))).toEqual({ day: 'MON', minute: 0 });
    expect(localTimeIn('UTC', at('2026-01-04T23:59:00Z'))).toEqual({ day: 'SUN', minute: 1439 });
    expect(localTimeIn('Nowhere/Special', 0)).toBeNull();
    expect(localTimeIn('UTC', Number.NaN)).toBeNull();
  });
});
