import type { KeyType, Permission, ScopeKind } from '../generated/prisma/enums';
import { isIsoCountryCode } from '../access/country';
import { parseAllowlistEntry } from '../access/ip';
import { isHostnameEntry, normalizeHostname } from '../infra/hostnames';
import { badInput } from '../infra/errors';
import { EXPIRATION_DAYS, KEY_PRESETS, addDays, type Expiration, type RateLimitSetting, type RateWindow } from './presets';

// Validation and normalization of the settings a key is created or updated with. Pure: ids are
// checked against the database by the lifecycle functions. Errors name the input field.

export interface ScopeInput {
  kind: ScopeKind;
  agentId?: string | null;
  groupId?: string | null;
  workflowIds?: string[] | null;
}
export interface QuotaSetting {
  units: number;
  period: 'DAY' | 'MONTH';
}
export interface BandwidthSetting {
  bytes: number;
  period: 'DAY' | 'MONTH';
}
export interface AccessWindowSetting {
  days: string[];
  start: string;
  end: string;
  timeZone: string;
}

/** The restriction and limit fields shared by create and update. */
export interface KeyRestrictionsInput {
  ipAllowlist?: string[] | null;
  rateLimits?: RateLimitSetting[] | null;
  quota?: QuotaSetting | null;
  bandwidth?: BandwidthSetting | null;
  maxConcurrent?: number | null;
  accessWindows?: AccessWindowSetting[] | null;
  allowedCountries?: string[] | null;
  condition?: string | null;
  rotationPeriodDays?: number | null;
  metadata?: unknown;
}

export interface CreateKeyInput extends KeyRestrictionsInput {
  name: string;
  type: KeyType;
  permission?: Permission | null;
  scope?: ScopeInput | null;
  expiresIn?: Expiration | null;
  expiresAt?: Date | null;
}

export interface UpdateKeyInput extends KeyRestrictionsInput {
  name?: string | null;
  permission?: Permission | null;
  scope?: ScopeInput | null;
  expiresAt?: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

const MAX_NAME = 200;
const MAX_LIST = 100;
const MAX_METADATA_BYTES = 16_384;
const MAX_CONDITION = 4_096;

export function normalizeName(field: string, name: unknown): string {
  const s = typeof name === 'string' ? name.trim() : '';
  if (!s) throw badInput(field, 'must not be empty');
  if (s.length > MAX_NAME) throw badInput(field, `must be at most ${MAX_NAME} characters`);
  return s;
}

export function normalizeScope(field: string, scope: ScopeInput): ScopeInput {
  const has = (v: unknown) => v !== undefined && v !== null;
  const checkId = (f: string, id: unknown) => {
    if (!isUuid(id)) throw badInput(f, `"${String(id)}" is not a valid id`);
  };
  switch (scope.kind) {
    case 'SINGLE_AGENT':
      if (!has(scope.agentId)) throw badInput(`${field}.agentId`, 'is required when kind is SINGLE_AGENT');
      if (has(scope.groupId) || (scope.workflowIds?.length ?? 0) > 0) throw badInput(field, 'SINGLE_AGENT takes agentId only');
      checkId(`${field}.agentId`, scope.agentId);
      return { kind: scope.kind, agentId: scope.agentId!.toLowerCase() };
    case 'AGENT_GROUP':
      if (!has(scope.groupId)) throw badInput(`${field}.groupId`, 'is required when kind is AGENT_GROUP');
      if (has(scope.agentId) || (scope.workflowIds?.length ?? 0) > 0) throw badInput(field, 'AGENT_GROUP takes groupId only');
      checkId(`${field}.groupId`, scope.groupId);
      return { kind: scope.kind, groupId: scope.groupId!.toLowerCase() };
    case 'WORKFLOW': {
      const ids = scope.workflowIds ?? [];
      if (ids.length === 0) throw badInput(`${field}.workflowIds`, 'must list at least one workflow when kind is WORKFLOW');
      if (has(scope.agentId) || has(scope.groupId)) throw badInput(field, 'WORKFLOW takes workflowIds only');
      if (ids.length > MAX_LIST) throw badInput(`${field}.workflowIds`, `at most ${MAX_LIST} workflows`);
      ids.forEach((id, i) => checkId(`${field}.workflowIds[${i}]`, id));
      return { kind: scope.kind, workflowIds: [...new Set(ids.map((i) => i.toLowerCase()))] };
    }
    case 'ALL_AGENTS':
      if (has(scope.agentId) || has(scope.groupId) || (scope.workflowIds?.length ?? 0) > 0) {
        throw badInput(field, 'ALL_AGENTS takes no agentId, groupId or workflowIds');
      }
      return { kind: 'ALL_AGENTS' };
    default:
      throw badInput(`${field}.kind`, `unknown scope kind "${String(scope.kind)}"`);
  }
}

/** IPs and CIDR ranges (normalized), and hostnames for dynamic IPs (lower case; resolved later). */
export function normalizeIpAllowlist(field: string, list: string[]): string[] {
  if (list.length > MAX_LIST) throw badInput(field, `at most ${MAX_LIST} entries`);
  const out: string[] = [];
  list.forEach((raw, i) => {
    const parsed = parseAllowlistEntry(raw);
    let entry: string;
    if (parsed.ok) entry = parsed.normalized;
    else if (isHostnameEntry(raw.trim())) entry = normalizeHostname(raw.trim());
    else throw badInput(`${field}[${i}]`, `${parsed.error.replace('is not a valid IP address or CIDR range', 'is not a valid IP address, CIDR range or hostname')}`);
    if (!out.includes(entry)) out.push(entry);
  });
  return out;
}

export function hostnameEntries(list: readonly string[]): string[] {
  return list.filter((e) => !parseAllowlistEntry(e).ok);
}

const WINDOWS: RateWindow[] = ['MINUTE', 'HOUR', 'DAY'];

export function normalizeRateLimits(field: string, list: RateLimitSetting[]): RateLimitSetting[] {
  const seen = new Set<string>();
  list.forEach((r, i) => {
    if (!WINDOWS.includes(r.window)) throw badInput(`${field}[${i}].window`, `unknown window "${String(r.window)}"`);
    if (!Number.isInteger(r.limit) || r.limit < 1) throw badInput(`${field}[${i}].limit`, 'must be a whole number of at least 1');
    if (seen.has(r.window)) throw badInput(`${field}[${i}].window`, `${r.window} is listed twice`);
    seen.add(r.window);
  });
  return WINDOWS.flatMap((w) => list.filter((r) => r.window === w).map((r) => ({ window: r.window, limit: r.limit })));
}

function positiveAmount(field: string, n: number, integer: boolean): number {
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw badInput(field, integer ? 'must be a whole number of at least 1' : 'must be a positive number');
  }
  if (n > Number.MAX_SAFE_INTEGER) throw badInput(field, 'is too large');
  return n;
}

const PERIODS = ['DAY', 'MONTH'];
function checkPeriod(field: string, p: string): void {
  if (!PERIODS.includes(p)) throw badInput(field, `unknown period "${p}"`);
}

const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function normalizeAccessWindows(field: string, list: AccessWindowSetting[]): AccessWindowSetting[] {
  if (list.length > MAX_LIST) throw badInput(field, `at most ${MAX_LIST} windows`);
  return list.map((w, i) => {
    const f = `${field}[${i}]`;
    if (!Array.isArray(w.days) || w.days.length === 0) throw badInput(`${f}.days`, 'must list at least one day');
    w.days.forEach((d, j) => {
      if (!WEEKDAYS.includes(d)) throw badInput(`${f}.days[${j}]`, `unknown day "${d}"`);
    });
    if (!HHMM.test(w.start)) throw badInput(`${f}.start`, `"${w.start}" is not a time of day as HH:MM (00:00-23:59)`);
    if (!HHMM.test(w.end) && w.end !== '24:00') throw badInput(`${f}.end`, `"${w.end}" is not a time of day as HH:MM (00:00-24:00)`);
    if (w.start === w.end) throw badInput(f, 'start and end must differ');
    if (!isValidTimeZone(w.timeZone)) throw badInput(`${f}.timeZone`, `"${w.timeZone}" is not an IANA time zone`);
    return { days: [...new Set(w.days)], start: w.start, end: w.end, timeZone: w.timeZone };
  });
}

export function normalizeCountries(field: string, list: string[]): string[] {
  if (list.length > 250) throw badInput(field, 'at most 250 countries');
  return [
    ...new Set(
      list.map((c, i) => {
        const up = c.trim().toUpperCase();
        if (!isIsoCountryCode(up)) throw badInput(`${field}[${i}]`, `"${c}" is not an ISO 3166-1 alpha-2 country code`);
        return up;
      }),
    ),
  ];
}

export function normalizeMetadata(field: string, metadata: unknown): object | null {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw badInput(field, 'must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) throw badInput(field, `must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
  return metadata as object;
}

/** Database fields for the restriction settings that are present in `input` (undefined = leave as is). */
export function normalizeRestrictions(input: KeyRestrictionsInput, validateCondition: (field: string, expr: string) => void) {
  const out: Record<string, unknown> = {};
  if (input.ipAllowlist !== undefined) out.ipAllowlist = normalizeIpAllowlist('input.ipAllowlist', input.ipAllowlist ?? []);
  if (input.rateLimits !== undefined) out.rateLimits = normalizeRateLimits('input.rateLimits', input.rateLimits ?? []);
  if (input.quota !== undefined) {
    if (input.quota) {
      checkPeriod('input.quota.period', input.quota.period);
      out.quota = { units: positiveAmount('input.quota.units', input.quota.units, true), period: input.quota.period };
    } else out.quota = null;
  }
  if (input.bandwidth !== undefined) {
    if (input.bandwidth) {
      checkPeriod('input.bandwidth.period', input.bandwidth.period);
      out.bandwidth = { bytes: positiveAmount('input.bandwidth.bytes', input.bandwidth.bytes, true), period: input.bandwidth.period };
    } else out.bandwidth = null;
  }
  if (input.maxConcurrent !== undefined) {
    out.maxConcurrent = input.maxConcurrent === null ? null : positiveAmount('input.maxConcurrent', input.maxConcurrent, true);
  }
  if (input.accessWindows !== undefined) out.accessWindows = normalizeAccessWindows('input.accessWindows', input.accessWindows ?? []);
  if (input.allowedCountries !== undefined) out.allowedCountries = normalizeCountries('input.allowedCountries', input.allowedCountries ?? []);
  if (input.condition !== undefined) {
    const c = input.condition?.trim() ?? '';
    if (c.length > MAX_CONDITION) throw badInput('input.condition', `must be at most ${MAX_CONDITION} characters`);
    if (c) validateCondition('input.condition', c);
    out.condition = c || null;
  }
  if (input.rotationPeriodDays !== undefined) {
    const d = input.rotationPeriodDays;
    if (d !== null && (!Number.isInteger(d) || d < 1 || d > 3650)) throw badInput('input.rotationPeriodDays', 'must be a whole number from 1 to 3650');
    out.rotationPeriodDays = d;
  }
  if (input.metadata !== undefined) out.metadata = normalizeMetadata('input.metadata', input.metadata);
  return out;
}

/** expiresIn / expiresAt / the type's preset, as one date (null: never). */
export function resolveExpiry(input: { type: KeyType; expiresIn?: Expiration | null; expiresAt?: Date | null }, now: Date): Date | null {
  if (input.expiresIn != null && input.expiresAt != null) throw badInput('input.expiresAt', 'give either expiresIn or expiresAt, not both');
  if (input.expiresAt != null) return futureDate('input.expiresAt', input.expiresAt, now);
  if (input.expiresIn != null) {
    if (!Object.hasOwn(EXPIRATION_DAYS, input.expiresIn)) throw badInput('input.expiresIn', `unknown expiration "${input.expiresIn}"`);
    const days = EXPIRATION_DAYS[input.expiresIn];
    return days === null ? null : addDays(now, days);
  }
  const preset = KEY_PRESETS[input.type].expiresInDays;
  return preset === null ? null : addDays(now, preset);
}

export function futureDate(field: string, d: Date, now: Date): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw badInput(field, 'is not a valid date');
  if (d.getTime() <= now.getTime()) throw badInput(field, 'must be in the future');
  return d;
}

export const MAX_GRACE_SECONDS = 30 * 86_400;

/** gracePeriodSeconds of a rotation (keys and webhook secrets): default a day, 0 to 30 days. */
export function normalizeGrace(seconds: number | null | undefined): number {
  const s = seconds ?? 86_400;
  if (!Number.isInteger(s) || s < 0) throw badInput('gracePeriodSeconds', 'must be a whole number of seconds, 0 or more');
  if (s > MAX_GRACE_SECONDS) throw badInput('gracePeriodSeconds', `must be at most ${MAX_GRACE_SECONDS} (30 days)`);
  return s;
}
