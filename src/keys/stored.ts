import { z } from 'zod';
import { Prisma } from '../generated/prisma/client';
import type { Tx } from '../infra/db';
import type { JsonObject } from '../infra/json';
import { PERIODS, RATE_WINDOWS, type AccessWindowSetting, type BandwidthSetting, type QuotaSetting, type RateLimitSetting } from '../access/key-settings';
import { WEEKDAYS } from '../access/window';

// A stored key: the ApiKey row as every key operation reads it, with its scope's workflow ids,
// and its JSON columns parsed once, here, into typed settings. Nothing past this file casts a
// setting; a malformed column fails loudly here. (Scope membership, which only the hierarchy
// rules and verification need, is read on its own: keys/scope.ts loadScopeMembers.)

const storedKeyInclude = { scopeWorkflows: { select: { id: true } }, roles: { select: { id: true, permissions: true } } } satisfies Prisma.ApiKeyInclude;

type StoredRow = Prisma.ApiKeyGetPayload<{ include: typeof storedKeyInclude }>;

/** The typed values of the JSON columns. */
interface KeyJsonSettings {
  rateLimits: RateLimitSetting[];
  quota: QuotaSetting | null;
  bandwidth: BandwidthSetting | null;
  accessWindows: AccessWindowSetting[];
  metadata: JsonObject | null;
}
type JsonColumn = keyof KeyJsonSettings;

export type StoredKey = Omit<StoredRow, JsonColumn> & KeyJsonSettings;

const period = z.enum(PERIODS);
const jsonColumns: { [C in JsonColumn]: z.ZodType<KeyJsonSettings[C]> } = {
  rateLimits: z.array(z.object({ window: z.enum(RATE_WINDOWS), limit: z.number() })),
  quota: z.object({ units: z.number(), period }).nullable(),
  bandwidth: z.object({ bytes: z.number(), period }).nullable(),
  accessWindows: z.array(z.object({ days: z.array(z.enum(WEEKDAYS)), start: z.string(), end: z.string(), timeZone: z.string() })),
  metadata: z.record(z.string(), z.json()).nullable(),
};

/** One JSON column as read from the database (null: the column is NULL). */
export function parseKeyColumn<C extends JsonColumn>(column: C, value: unknown): KeyJsonSettings[C] {
  const parsed = jsonColumns[column].safeParse(value);
  if (!parsed.success) throw new Error(`stored key column ${column} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** An identity's settings as read from the database, its JSON columns parsed as a key's are. */
export function identitySettings(row: Prisma.IdentityGetPayload<object>) {
  return {
    id: row.id,
    externalId: row.externalId,
    metadata: parseKeyColumn('metadata', row.metadata),
    rateLimits: parseKeyColumn('rateLimits', row.rateLimits),
    quota: parseKeyColumn('quota', row.quota),
  };
}

function toStoredKey(row: StoredRow): StoredKey {
  return {
    ...row,
    rateLimits: parseKeyColumn('rateLimits', row.rateLimits),
    quota: parseKeyColumn('quota', row.quota),
    bandwidth: parseKeyColumn('bandwidth', row.bandwidth),
    accessWindows: parseKeyColumn('accessWindows', row.accessWindows),
    metadata: parseKeyColumn('metadata', row.metadata),
  };
}

export async function findStoredKey(db: Tx, where: Prisma.ApiKeyWhereUniqueInput): Promise<StoredKey | null> {
  const row = await db.apiKey.findUnique({ where, include: storedKeyInclude });
  return row && toStoredKey(row);
}

/** A key known to exist (read again after a change in the same transaction). */
export async function getStoredKey(db: Tx, id: string): Promise<StoredKey> {
  return toStoredKey(await db.apiKey.findUniqueOrThrow({ where: { id }, include: storedKeyInclude }));
}

/**
 * Locks the rows of `ids` (SELECT ... FOR UPDATE) in the order given, until the transaction ends.
 * Lock a chain root first: revocation locks its target and then changes only what lies below it,
 * so the two never wait on each other in a circle.
 */
export async function lockKeyRows(tx: Tx, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const list = [...ids];
  await tx.$queryRaw`SELECT "id" FROM "ApiKey" WHERE "id" = ANY(${list}::uuid[]) ORDER BY array_position(${list}::uuid[], "id") FOR UPDATE`;
}

export async function findStoredKeys(db: Tx, args: Omit<Prisma.ApiKeyFindManyArgs, 'include' | 'select' | 'omit'>): Promise<StoredKey[]> {
  const rows = await db.apiKey.findMany({ ...args, include: storedKeyInclude });
  return rows.map(toStoredKey);
}

export async function insertStoredKey(tx: Tx, data: Prisma.ApiKeyCreateArgs['data']): Promise<StoredKey> {
  return toStoredKey(await tx.apiKey.create({ data, include: storedKeyInclude }));
}

export async function updateStoredKey(tx: Tx, id: string, data: Prisma.ApiKeyUpdateInput): Promise<StoredKey> {
  return toStoredKey(await tx.apiKey.update({ where: { id }, data, include: storedKeyInclude }));
}

/** What a key holds besides its level: its own permission strings plus its roles' (a master key: everything). */
export function heldPermissions(k: Pick<StoredKey, 'master' | 'permissions' | 'roles'>): string[] {
  if (k.master) return ['*'];
  return [...new Set([...k.permissions, ...k.roles.flatMap((r) => r.permissions)])];
}

/** The restriction and limit settings of a key, as its columns hold them. */
export type KeyRestrictions = Pick<StoredKey, 'ipAllowlist' | 'rateLimits' | 'quota' | 'bandwidth' | 'maxConcurrent' | 'accessWindows' | 'allowedCountries' | 'condition' | 'rotationPeriodDays' | 'metadata'>;

/** A nullable JSON column to write: null stores SQL NULL, undefined leaves the column as it is. */
function nullableJson<T extends Prisma.InputJsonValue>(v: T | null | undefined): T | typeof Prisma.DbNull | undefined {
  return v === null ? Prisma.DbNull : v;
}

/** The restriction columns of a write (create, update, rotation); settings left out are left as they are. */
export function restrictionData(r: Partial<KeyRestrictions>) {
  return {
    ipAllowlist: r.ipAllowlist,
    rateLimits: r.rateLimits,
    quota: nullableJson(r.quota),
    bandwidth: nullableJson(r.bandwidth),
    maxConcurrent: r.maxConcurrent,
    accessWindows: r.accessWindows,
    allowedCountries: r.allowedCountries,
    condition: r.condition,
    rotationPeriodDays: r.rotationPeriodDays,
    metadata: nullableJson(r.metadata),
  };
}
