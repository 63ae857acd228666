import { SecurityEventKind, Severity } from '../generated/prisma/enums';
import type { Database } from '../infra/db';
import { type OperatorNames, operatorNames } from './operators';
import { REPORT_BATCH_SIZE, ReportBuilder, assertRange, assertReportFormat, type Report, type ReportFormat } from './format';

// securityReport: the security events created in [from, to), oldest first, and how many there
// were of each kind and severity. JSON carries the counts next to the rows (every kind and
// severity, zeros included, so a reader need not know the enum); CSV is the event table alone,
// since one RFC 4180 document holds one table.

/** The person whose action raised the event, beside the key: id, email and name. */
const OPERATOR_COLUMNS = ['actorOperatorId', 'actorOperatorEmail', 'actorOperatorName'] as const;

const SECURITY_COLUMNS = ['id', 'createdAt', 'kind', 'severity', 'keyId', 'keyName', ...OPERATOR_COLUMNS, 'ip', 'acknowledgedAt', 'details'] as const;
type Column = (typeof SECURITY_COLUMNS)[number];

function operatorColumns(id: string | null, people: Map<string, OperatorNames>) {
  const person = id ? people.get(id) : undefined;
  return { actorOperatorId: id, actorOperatorEmail: person?.email ?? null, actorOperatorName: person?.name ?? null };
}

export async function securityReport(db: Database, accountId: string, input: { from: Date; to: Date; format: ReportFormat }, opts: { batchSize?: number } = {}): Promise<Report> {
  const format = assertReportFormat(input.format);
  assertRange(input.from, input.to);
  const batchSize = opts.batchSize ?? REPORT_BATCH_SIZE;
  const report = new ReportBuilder<Column>(format, SECURITY_COLUMNS);
  const byKind = Object.fromEntries(Object.values(SecurityEventKind).map((k) => [k, 0])) as Record<SecurityEventKind, number>;
  const bySeverity = Object.fromEntries(Object.values(Severity).map((s) => [s, 0])) as Record<Severity, number>;

  let cursor: string | undefined;
  for (;;) {
    const rows = await db.read.securityEvent.findMany({
      where: { accountId, createdAt: { gte: input.from, lt: input.to } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: { key: { select: { name: true } } },
      take: batchSize,
      ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    });
    const people = await operatorNames(
      db,
      accountId,
      rows.map((e) => e.actorOperatorId),
    );
    for (const e of rows) {
      byKind[e.kind]++;
      bySeverity[e.severity]++;
      report.add({
        id: e.id,
        createdAt: e.createdAt,
        kind: e.kind,
        severity: e.severity,
        keyId: e.keyId,
        keyName: e.key?.name ?? null,
        ...operatorColumns(e.actorOperatorId, people),
        ip: e.ip,
        acknowledgedAt: e.acknowledgedAt,
        details: (e.details ?? null) as Record<string, unknown> | null,
      });
    }
    if (rows.length < batchSize) break;
    cursor = rows[rows.length - 1].id;
  }
  return report.finish({ report: 'security', accountId, from: input.from.toISOString(), to: input.to.toISOString(), total: report.rowCount, countsByKind: byKind, countsBySeverity: bySeverity });
}
