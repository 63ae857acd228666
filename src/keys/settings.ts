import type { KeyType, Permission, ScopeKind } from '../generated/prisma/enums';
import { normalizeCountryCode } from '../access/country';
import { parseAllowlistEntry } from '../access/ip';
import { PERIODS, RATE_WINDOWS, type AccessWindowSetting, type BandwidthSetting, type QuotaSetting, type RateLimitSetting } from '../access/key-settings';
import { WEEKDAYS } from '../access/window';
import { isHostnameEntry, normalizeHostname } from '../infra/hostnames';
import { badInput } from '../infra/errors';
import { jsonDepth, toJsonObject, type JsonObject } from '../infra/json';
import { isUuid, isValidTimeZone } from '../infra/validation';
import { EXPIRATION_DAYS, KEY_PRESETS, addDays, type Expiration } from './presets';
import type { CreditsInput } from './credits';
import type { KeyRestrictions } from './stored';

// Validation and normalization of the settings a key is created or updated with, into the typed
// values its columns hold. Pure: ids are checked against the database by the operations (create,
// update, scope). Errors name the input field.

export interface ScopeInput {
  kind: ScopeKind;
  agentId?: string | null;
  groupId?: string | null;
  workflowIds?: string[] | null;
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
  /** The identity the key belongs to (null: none). */
  identityId?: string | null;
  /** Permission strings of the key itself. */
  permissions?: string[] | null;
  /** Ids of the roles the key holds. */
  roles?: string[] | null;
  /** A lifetime budget spent by `cost`, and its refill schedule. */
  credits?: CreditsInput | null;
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

const MAX_LIST = 100;
const MAX_METADATA_BYTES = 16_384;
const MAX_CONDITION = 4_096;

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

function normalizeRateLimits(field: string, list: RateLimitSetting[]): RateLimitSetting[] {
  const seen = new Set<string>();
  list.forEach((r, i) => {
    if (!RATE_WINDOWS.includes(r.window)) throw badInput(`${field}[${i}].window`, `unknown window "${String(r.window)}"`);
    if (!Number.isInteger(r.limit) || r.limit < 1) throw badInput(`${field}[${i}].limit`, 'must be a whole number of at least 1');
    if (seen.has(r.window)) throw badInput(`${field}[${i}].window`, `${r.window} is listed twice`);
    seen.add(r.window);
  });
  return RATE_WINDOWS.flatMap((w) => list.filter((r) => r.window === w).map((r) => ({ window: r.window, limit: r.limit })));
}

function positiveAmount(field: string, n: number, integer: boolean): number {
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw badInput(field, integer ? 'must be a whole number of at least 1' : 'must be a positive number');
  }
  if (n > Number.MAX_SAFE_INTEGER) throw badInput(field, 'is too large');
  return n;
}

function normalizeQuota(field: string, q: QuotaSetting): QuotaSetting {
  if (!PERIODS.includes(q.period)) throw badInput(`${field}.period`, `unknown period "${q.period}"`);
  return { units: positiveAmount(`${field}.units`, q.units, true), period: q.period };
}

function normalizeBandwidth(field: string, b: BandwidthSetting): BandwidthSetting {
  if (!PERIODS.includes(b.period)) throw badInput(`${field}.period`, `unknown period "${b.period}"`);
  return { bytes: positiveAmount(`${field}.bytes`, b.bytes, true), period: b.period };
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function normalizeAccessWindows(field: string, list: AccessWindowSetting[]): AccessWindowSetting[] {
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

function normalizeCountries(field: string, list: string[]): string[] {
  if (list.length > 250) throw badInput(field, 'at most 250 countries');
  const codes = list.map((c, i) => {
    const code = normalizeCountryCode(c);
    if (!code) throw badInput(`${field}[${i}]`, `"${c}" is not an ISO 3166-1 alpha-2 country code`);
    return code;
  });
  return [...new Set(codes)];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MAX_METADATA_DEPTH = 16;

/** A JSON object of at most 16 KB and 16 levels, stored as the JSON it serializes to. */
function normalizeMetadata(field: string, metadata: unknown): JsonObject | null {
  if (metadata === null || metadata === undefined) return null;
  if (!isObject(metadata)) throw badInput(field, 'must be a JSON object');
  if (jsonDepth(metadata, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH) throw badInput(field, `must not nest objects and lists more than ${MAX_METADATA_DEPTH} deep`);
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) throw badInput(field, `must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
  return toJsonObject(metadata);
}

function normalizeCondition(field: string, condition: string | null, validateCondition: (field: string, expr: string) => void): string | null {
  const c = condition?.trim() ?? '';
  if (c.length > MAX_CONDITION) throw badInput(field, `must be at most ${MAX_CONDITION} characters`);
  if (c) validateCondition(field, c);
  return c || null;
}

function normalizeRotationPeriod(field: string, days: number | null): number | null {
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) throw badInput(field, 'must be a whole number from 1 to 3650');
  return days;
}

/** The restriction settings present in `input` (a field left out is left out: undefined = leave as is). */
export function normalizeRestrictions(input: KeyRestrictionsInput, validateCondition: (field: string, expr: string) => void): Partial<KeyRestrictions> {
  const out: Partial<KeyRestrictions> = {};
  if (input.ipAllowlist !== undefined) out.ipAllowlist = normalizeIpAllowlist('input.ipAllowlist', input.ipAllowlist ?? []);
  if (input.rateLimits !== undefined) out.rateLimits = normalizeRateLimits('input.rateLimits', input.rateLimits ?? []);
  if (input.quota !== undefined) out.quota = input.quota && normalizeQuota('input.quota', input.quota);
  if (input.bandwidth !== undefined) out.bandwidth = input.bandwidth && normalizeBandwidth('input.bandwidth', input.bandwidth);
  if (input.maxConcurrent !== undefined) {
    out.maxConcurrent = input.maxConcurrent === null ? null : positiveAmount('input.maxConcurrent', input.maxConcurrent, true);
  }
  if (input.accessWindows !== undefined) out.accessWindows = normalizeAccessWindows('input.accessWindows', input.accessWindows ?? []);
  if (input.allowedCountries !== undefined) out.allowedCountries = normalizeCountries('input.allowedCountries', input.allowedCountries ?? []);
  if (input.condition !== undefined) out.condition = normalizeCondition('input.condition', input.condition, validateCondition);
  if (input.rotationPeriodDays !== undefined) out.rotationPeriodDays = normalizeRotationPeriod('input.rotationPeriodDays', input.rotationPeriodDays);
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
