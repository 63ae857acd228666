import type { Database } from '../infra/db';
import { validateUsageRange, type Granularity, type UsagePoint } from './usage-points';
import { REPORT_BATCH_SIZE, ReportBuilder, assertReportFormat, type Report, type ReportFormat } from './format';
import { IDENTITY_COLUMNS, IdentityNames } from './identity-columns';

// usageReport: verifications per key and hour or day (UTC) in [from, to), from the hourly
// rollups. Rows are read in (keyId, hour) order in cursor batches, so the rows of one key and
// bucket arrive together and are summed as they stream past: memory stays one bucket deep.

const USAGE_COLUMNS = ['keyId', 'keyName', 'keyStart', ...IDENTITY_COLUMNS, 'start', 'requests', 'allowed', 'denied', 'units', 'bytes', 'deniedByCode'] as const;
type Column = (typeof USAGE_COLUMNS)[number];

/** A usage point of one key, with its denials by code (the report's extra column). */
interface Bucket extends UsagePoint {
  keyId: string;
  /** The identity of the bucket's newest rollup row (the key's when it was counted). */
  identityId: string | null;
  deniedByCode: Record<string, number>;
}

function bucketStart(hour: Date, granularity: Granularity): Date {
  const d = new Date(hour);
  if (granularity === 'DAY') d.setUTCHours(0, 0, 0, 0);
  else d.setUTCMinutes(0, 0, 0);
  return d;
}

export interface UsageReportInput {
  from: Date;
  to: Date;
  granularity: Granularity;
  format: ReportFormat;
}

type RollupRow = { keyId: string; identityId: string | null; requests: number; allowed: number; denied: number; units: number; bytes: number; deniedByCode: unknown };

/** Looks up the names of keys not seen before in this report (one query per batch). */
async function learnKeyNames(db: Database, keys: Map<string, { name: string; start: string }>, rows: RollupRow[]): Promise<void> {
  const unknown = [...new Set(rows.map((r) => r.keyId))].filter((id) => !keys.has(id));
  if (unknown.length === 0) return;
  const found = await db.prisma.apiKey.findMany({ where: { id: { in: unknown } }, select: { id: true, name: true, start: true } });
  for (const k of found) keys.set(k.id, { name: k.name, start: k.start });
}

function addToBucket(open: Bucket, r: RollupRow): void {
  open.identityId = r.identityId ?? open.identityId;
  open.requests += r.requests;
  open.allowed += r.allowed;
  open.denied += r.denied;
  open.units += r.units;
  open.bytes += r.bytes;
  for (const [code, n] of Object.entries((r.deniedByCode ?? {}) as Record<string, unknown>)) {
    if (typeof n === 'number') open.deniedByCode[code] = (open.deniedByCode[code] ?? 0) + n;
  }
}

export async function usageReport(db: Database, accountId: string, input: UsageReportInput, opts: { batchSize?: number } = {}): Promise<Report> {
  const format = assertReportFormat(input.format);
  validateUsageRange(input.from, input.to, input.granularity);
  const batchSize = opts.batchSize ?? REPORT_BATCH_SIZE;
  const report = new ReportBuilder<Column>(format, USAGE_COLUMNS);
  const keys = new Map<string, { name: string; start: string }>();
  const identities = new IdentityNames(db, accountId);
  const totals = { requests: 0, allowed: 0, denied: 0, units: 0, bytes: 0 };
  let open: Bucket | null = null;

  const emit = (b: Bucket) => {
    const k = keys.get(b.keyId);
    report.add({
      keyId: b.keyId,
      keyName: k?.name ?? null,
      keyStart: k?.start ?? null,
      ...identities.columns(b.identityId),
      start: b.start,
      requests: b.requests,
      allowed: b.allowed,
      denied: b.denied,
      units: b.units,
      bytes: b.bytes,
      deniedByCode: b.deniedByCode,
    });
    for (const f of ['requests', 'allowed', 'denied', 'units', 'bytes'] as const) totals[f] += b[f];
  };

  let cursor: { keyId: string; hour: Date } | undefined;
  for (;;) {
    const rows = await db.prisma.usageRollup.findMany({
      where: { accountId, hour: { gte: input.from, lt: input.to } },
      orderBy: [{ keyId: 'asc' }, { hour: 'asc' }],
      take: batchSize,
      ...(cursor ? { cursor: { keyId_hour: cursor }, skip: 1 } : {}),
    });
    await learnKeyNames(db, keys, rows);
    await identities.learn(rows.map((r) => r.identityId));
    for (const r of rows) {
      const start = bucketStart(r.hour, input.granularity);
      if (!open || open.keyId !== r.keyId || open.start.getTime() !== start.getTime()) {
        if (open) emit(open);
        open = { keyId: r.keyId, identityId: null, start, requests: 0, allowed: 0, denied: 0, units: 0, bytes: 0, deniedByCode: {} };
      }
      addToBucket(open, r);
    }
    if (rows.length < batchSize) break;
    const last = rows[rows.length - 1];
    cursor = { keyId: last.keyId, hour: last.hour };
  }
  if (open) emit(open);
  return report.finish({ report: 'usage', accountId, from: input.from.toISOString(), to: input.to.toISOString(), granularity: input.granularity, totals });
}
