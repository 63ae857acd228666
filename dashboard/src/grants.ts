import { GraphQLRequestError } from './api';
import { splitList } from './format';
import { parseRateLimits, type RateLimitRow } from './limits';
import type { RateWindow } from './types';

// The form logic shared by the identity, role and key forms: how permission strings, credits,
// limits and metadata become GraphQL input. The API does the
// checking (the permission grammar, ranges, ids); here only text that is not a number or not JSON
// is refused, as an error of the same shape, so it shows by its field like the API's own.

/** An error at an input path, as the API raises them (extensions.field). */
export const inputError = (field: string, message: string) => new GraphQLRequestError(`${field}: ${message}`, 'BAD_USER_INPUT', field);

/** Permission strings as typed: separated by commas, spaces or new lines. */
export const permissionList = (text: string): string[] => splitList(text);

function wholeNumber(field: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw inputError(field, 'must be a whole number');
  return Number(text.trim());
}

export type RefillInterval = 'DAILY' | 'MONTHLY';
export interface Credits {
  remaining: number;
  refill: { amount: number; interval: RefillInterval; day: number | null } | null;
}
export interface CreditsForm {
  remaining: string;
  refillAmount: string;
  interval: RefillInterval;
  day: string;
}

export function creditsForm(c: Credits | null | undefined): CreditsForm {
  return { remaining: c ? String(c.remaining) : '', refillAmount: c?.refill ? String(c.refill.amount) : '', interval: c?.refill?.interval ?? 'MONTHLY', day: c?.refill?.day ? String(c.refill.day) : '' };
}

/** CreditsInput, or null (no credits) when both the budget and the refill are left empty. Throws inputError. */
export function creditsInput(f: CreditsForm): Record<string, unknown> | null {
  if (!f.remaining.trim() && !f.refillAmount.trim()) return null;
  if (!f.remaining.trim()) throw inputError('input.credits.remaining', 'is required with a refill (the budget until the first refill)');
  const out: Record<string, unknown> = { remaining: wholeNumber('input.credits.remaining', f.remaining) };
  if (f.refillAmount.trim()) {
    const refill: Record<string, unknown> = { amount: wholeNumber('input.credits.refill.amount', f.refillAmount), interval: f.interval };
    if (f.interval === 'MONTHLY' && f.day.trim()) refill.day = wholeNumber('input.credits.refill.day', f.day);
    out.refill = refill;
  }
  return out;
}

export const sameCredits = (a: CreditsForm, b: CreditsForm) => JSON.stringify(creditsInputOrText(a)) === JSON.stringify(creditsInputOrText(b));
function creditsInputOrText(f: CreditsForm): unknown {
  try {
    return creditsInput(f);
  } catch {
    return f;
  }
}

/** QuotaInput from its two fields; null when the units are left empty. Throws inputError. */
export function quotaInput(units: string, period: 'DAY' | 'MONTH'): { units: number; period: 'DAY' | 'MONTH' } | null {
  if (!units.trim()) return null;
  return { units: wholeNumber('input.quota.units', units), period };
}

/** Metadata typed as JSON; null when empty. Throws inputError naming input.metadata. */
export function metadataInput(text: string): unknown {
  if (!text.trim()) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw inputError('input.metadata', `is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

export function creditsText(c: Credits | null): string {
  if (!c) return 'none';
  if (!c.refill) return `${c.remaining} left`;
  const when = c.refill.interval === 'DAILY' ? 'every day' : `on day ${c.refill.day ?? 1} of each month`;
  return `${c.remaining} left · refills to ${c.refill.amount} ${when}`;
}

// A key's permission strings, roles, identity and credits (the new-key form and the edit dialog).

export interface AccessForm {
  permissions: string;
  roleIds: string[];
  identityId: string;
  credits: CreditsForm;
}

/** The input paths these fields show errors for. */
export const ACCESS_PATHS = ['input.permissions', 'input.roles', 'input.identityId', 'input.credits.remaining', 'input.credits.refill.amount', 'input.credits.refill.interval', 'input.credits.refill.day'];

/** CreateKeyInput's part for a new key: what is left empty is left out (the parent's applies to a derived key). Throws inputError. */
export function newAccessInput(f: AccessForm): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const permissions = permissionList(f.permissions);
  if (permissions.length) input.permissions = permissions;
  if (f.roleIds.length) input.roles = f.roleIds;
  if (f.identityId) input.identityId = f.identityId;
  const credits = creditsInput(f.credits);
  if (credits) input.credits = credits;
  return input;
}

/** UpdateKeyInput's part for what changed between `start` and `now`. Throws inputError. */
export function changedAccessInput(start: AccessForm, now: AccessForm): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const permissions = permissionList(now.permissions);
  if (permissions.join(' ') !== permissionList(start.permissions).join(' ')) input.permissions = permissions;
  if ([...now.roleIds].sort().join(' ') !== [...start.roleIds].sort().join(' ')) input.roles = now.roleIds;
  if (now.identityId && now.identityId !== start.identityId) input.identityId = now.identityId;
  if (!sameCredits(start.credits, now.credits)) input.credits = creditsInput(now.credits);
  return input;
}

// An identity's fields (the create form and the edit dialog).

export interface IdentityForm {
  externalId: string;
  metadata: string;
  rateLimits: RateLimitRow[];
  quotaUnits: string;
  quotaPeriod: 'DAY' | 'MONTH';
}

export interface IdentityValues {
  externalId: string;
  metadata: unknown;
  rateLimits: { window: string; limit: number }[];
  quota: { units: number; period: string } | null;
}

export const EMPTY_IDENTITY: IdentityForm = { externalId: '', metadata: '', rateLimits: [], quotaUnits: '', quotaPeriod: 'MONTH' };

/** The input paths these fields show errors for. */
export const IDENTITY_PATHS = ['input.externalId', 'input.metadata', 'input.rateLimits', 'input.quota.units'];

export function identityForm(i: IdentityValues): IdentityForm {
  return {
    externalId: i.externalId,
    metadata: i.metadata == null ? '' : JSON.stringify(i.metadata, null, 2),
    rateLimits: i.rateLimits.map((r) => ({ window: r.window as RateWindow, limit: String(r.limit) })),
    quotaUnits: i.quota ? String(i.quota.units) : '',
    quotaPeriod: i.quota?.period === 'DAY' ? 'DAY' : 'MONTH',
  };
}

function rateLimitsInput(rows: RateLimitRow[]) {
  const parsed = parseRateLimits(rows);
  if ('error' in parsed) throw inputError('input.rateLimits', parsed.error);
  return parsed.limits;
}

/**
 * CreateIdentityInput (no `start`) or UpdateIdentityInput with only what changed since `start`.
 * Throws inputError for text that is not a number or not JSON.
 */
export function identityInput(now: IdentityForm, start?: IdentityForm): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const changed = <K extends keyof IdentityForm>(...keys: K[]) => !start || keys.some((k) => JSON.stringify(now[k]) !== JSON.stringify(start[k]));
  if (changed('externalId')) input.externalId = now.externalId.trim();
  if (changed('metadata')) input.metadata = metadataInput(now.metadata);
  if (changed('rateLimits')) input.rateLimits = rateLimitsInput(now.rateLimits);
  if (changed('quotaUnits', 'quotaPeriod')) input.quota = quotaInput(now.quotaUnits, now.quotaPeriod);
  if (!start && input.metadata === null) delete input.metadata;
  if (!start && input.quota === null) delete input.quota;
  return input;
}
