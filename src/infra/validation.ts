import { badInput } from './errors';

// Checks of input that several rooms share (keys, agents, webhooks, audit filters, the verify
// path): ids, names, time zones and rotation grace periods. Errors name the input field.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Is `s` a UUID (any case)? Ids that are not never reach the database as a failing cast. */
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

const MAX_NAME = 200;

/** A trimmed, non-empty name of at most 200 characters. */
export function normalizeName(field: string, name: unknown): string {
  const s = typeof name === 'string' ? name.trim() : '';
  if (!s) throw badInput(field, 'must not be empty');
  if (s.length > MAX_NAME) throw badInput(field, `must be at most ${MAX_NAME} characters`);
  return s;
}

/** Is `tz` an IANA time zone this runtime knows? */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const MAX_GRACE_SECONDS = 30 * 86_400;

/** gracePeriodSeconds of a rotation (keys and webhook secrets): default a day, 0 to 30 days. */
export function normalizeGrace(seconds: number | null | undefined): number {
  const s = seconds ?? 86_400;
  if (!Number.isInteger(s) || s < 0) throw badInput('gracePeriodSeconds', 'must be a whole number of seconds, 0 or more');
  if (s > MAX_GRACE_SECONDS) throw badInput('gracePeriodSeconds', `must be at most ${MAX_GRACE_SECONDS} (30 days)`);
  return s;
}
