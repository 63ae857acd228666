// Access windows: a key works only on listed weekdays between two times of day, both taken in
// the window's own IANA time zone. A window whose end is before its start crosses midnight and
// belongs to the day it starts on (MON 22:00-02:00 is Monday 22:00 to Tuesday 02:00).

export const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A window as the rule reads it; a day it does not know matches nothing. */
export interface AccessWindow {
  readonly days: readonly string[];
  /** "HH:MM", inclusive. */
  readonly start: string;
  /** "HH:MM" or "24:00", exclusive. */
  readonly end: string;
  readonly timeZone: string;
}

const MINUTES_PER_DAY = 24 * 60;
const SHORT_DAY: Record<string, Weekday> = { Mon: 'MON', Tue: 'TUE', Wed: 'WED', Thu: 'THU', Fri: 'FRI', Sat: 'SAT', Sun: 'SUN' };

/** Local weekday and minute of the day at one instant in one zone. */
export interface LocalTime {
  day: Weekday;
  minute: number;
}

// Building a DateTimeFormat costs far more than using one, so keep one per zone (null: unknown zone).
const formats = new Map<string, Intl.DateTimeFormat | null>();

function formatFor(timeZone: string): Intl.DateTimeFormat | null {
  let f = formats.get(timeZone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      f = null;
    }
    formats.set(timeZone, f);
  }
  return f;
}

/** The weekday and minute of the day at `atMs` in `timeZone`; null for an unknown zone. */
export function localTimeIn(timeZone: string, atMs: number): LocalTime | null {
  const f = formatFor(timeZone);
  if (!f || !Number.isFinite(atMs)) return null;
  let day: Weekday | undefined;
  let hour = -1;
  let minute = -1;
  for (const part of f.formatToParts(atMs)) {
    if (part.type === 'weekday') day = SHORT_DAY[part.value];
    else if (part.type === 'hour')
      hour = Number(part.value) % 24; // some ICU versions still say "24" at midnight
    else if (part.type === 'minute') minute = Number(part.value);
  }
  if (!day || hour < 0 || minute < 0) return null;
  return { day, minute: hour * 60 + minute };
}

/** "HH:MM" (or "24:00") as minutes since midnight; null when malformed. */
export function parseTimeOfDay(text: string): number | null {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes <= MINUTES_PER_DAY ? minutes : null;
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7];
}

/** Is `atMs` inside this one window? A malformed window or unknown zone matches nothing (fail closed). */
export function withinAccessWindow(window: AccessWindow, atMs: number): boolean {
  const start = parseTimeOfDay(window.start);
  const end = parseTimeOfDay(window.end);
  if (start === null || end === null || start === end || start === MINUTES_PER_DAY) return false;
  const local = localTimeIn(window.timeZone, atMs);
  if (!local) return false;
  if (start < end) return window.days.includes(local.day) && local.minute >= start && local.minute < end;
  // Crosses midnight: the evening part on a listed day, the morning part on the day after one.
  if (local.minute >= start) return window.days.includes(local.day);
  return local.minute < end && window.days.includes(previousDay(local.day));
}

/** Windows are OR-ed; an empty list places no restriction. */
export function withinAccessWindows(windows: readonly AccessWindow[] | null | undefined, atMs: number): boolean {
  if (!windows || windows.length === 0) return true;
  return windows.some((w) => withinAccessWindow(w, atMs));
}
