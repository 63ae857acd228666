import type { EnumRef } from '@pothos/core';
import { accessReport } from '../reports/access';
import { COMPLIANCE_CHECKS, ComplianceSnapshot, EXPIRING_SOON_DAYS, UNUSED_DAYS, type ComplianceCheck, type OpenSecurityEvents } from '../reports/compliance';
import { REPORT_FORMATS, type Report } from '../reports/format';
import { securityReport } from '../reports/security';
import { usageReport } from '../reports/usage';
import type { Granularity } from '../reports/usage-points';
import { builder } from './builder';
import { actorOf } from './context';
import { ApiKeyConnection } from './key';

// complianceStatus and the reports. Master key only: they cover the whole account.

const ReportFormatEnum = builder.enumType('ReportFormat', { values: REPORT_FORMATS });

// Declared with ApiKey.usage (graphql/usage.ts); referenced by name so both fields take one enum.
const UsageGranularityEnum = 'UsageGranularity' as unknown as EnumRef<never, Granularity, Granularity>;

const ReportRef = builder.objectRef<Report>('Report').implement({
  description: 'A report as JSON ({ ...meta, columns, rows }) or RFC 4180 CSV (header row, CRLF); both list the same rows.',
  fields: (t) => ({
    format: t.expose('format', { type: ReportFormatEnum }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
    content: t.exposeString('content'),
    rowCount: t.exposeInt('rowCount', { description: 'Data rows in content (the CSV header not counted).' }),
  }),
});

const CHECK_DESCRIPTIONS: Record<ComplianceCheck, string> = {
  activeKeys: 'Usable keys: ACTIVE, or ROTATING within their grace period, and not past expiry.',
  neverExpiringKeys: 'Usable keys without an expiry date.',
  expiringSoonKeys: `Usable keys expiring within ${EXPIRING_SOON_DAYS} days.`,
  rotationOverdueKeys: 'Usable keys past their rotation due date.',
  productionKeysWithoutIpRestriction: 'Usable PRODUCTION keys (master keys aside) with no IP allowlist on the key or any ancestor.',
  highPrivilegeKeys: 'Usable keys whose effective permission (after inheritance) is MANAGE or FULL_ACCESS; master keys included.',
  highPrivilegeKeysWithoutApproval:
    'Usable high-privilege keys (as highPrivilegeKeys) of a class the approval policy does not cover: one person alone can mint or raise such a key. Zero once setApprovalPolicy requires HIGH_PRIVILEGE (or ANY); EMERGENCY and MASTER cover their keys only.',
  unusedKeys: `Usable keys not used for ${UNUSED_DAYS} days (never used and created before then, or last used before then).`,
};

type CheckParent = { snapshot: ComplianceSnapshot; check: ComplianceCheck };

const ComplianceKeySet = builder.objectRef<CheckParent>('ComplianceKeySet').implement({
  description: 'Keys failing one compliance check.',
  fields: (t) => ({
    count: t.int({ resolve: (p) => p.snapshot.count(p.check) }),
    sampleKeyIds: t.idList({
      description: 'The first few keys, oldest first.',
      args: { first: t.arg.int({ defaultValue: 10 }) },
      resolve: (p, { first }) => p.snapshot.sampleKeyIds(p.check, Math.min(Math.max(first ?? 10, 1), 100)),
    }),
    keys: t.prismaConnection(
      {
        type: 'ApiKey',
        cursor: 'id',
        description: 'Every key failing the check, oldest first.',
        resolve: async (query, p, _args, ctx) => ctx.db.read.apiKey.findMany({ ...query, where: await p.snapshot.where(p.check), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
      },
      ApiKeyConnection,
    ),
  }),
});

const OpenSecurityEventsRef = builder.objectRef<OpenSecurityEvents>('OpenSecurityEvents').implement({
  description: 'Security events not acknowledged yet.',
  fields: (t) => ({
    count: t.exposeInt('count'),
    critical: t.int({ resolve: (e) => e.bySeverity.CRITICAL }),
    high: t.int({ resolve: (e) => e.bySeverity.HIGH }),
    medium: t.int({ resolve: (e) => e.bySeverity.MEDIUM }),
    low: t.int({ resolve: (e) => e.bySeverity.LOW }),
    sampleEventIds: t.exposeIDList('sampleEventIds', { description: 'The newest few.' }),
  }),
});

const ComplianceStatusRef = builder.objectRef<ComplianceSnapshot>('ComplianceStatus').implement({
  description: 'Where the account stands; each check is computed only when asked for.',
  fields: (t) => ({
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
    ...Object.fromEntries(COMPLIANCE_CHECKS.map((check) => [check, t.field({ type: ComplianceKeySet, description: CHECK_DESCRIPTIONS[check], resolve: (snapshot) => ({ snapshot, check }) })])),
    openSecurityEvents: t.field({ type: OpenSecurityEventsRef, resolve: (s) => s.openSecurityEvents() }),
  }),
});

builder.queryFields((t) => ({
  complianceStatus: t.field({
    type: ComplianceStatusRef,
    authScopes: { master: true },
    resolve: (_root, _args, ctx) => new ComplianceSnapshot(ctx.db, actorOf(ctx).accountId),
  }),
  accessReport: t.field({
    type: ReportRef,
    authScopes: { master: true },
    description: 'Which key reaches which agent and workflow with which permission, after inheritance (usable keys only).',
    args: { format: t.arg({ type: ReportFormatEnum, defaultValue: 'JSON' }) },
    resolve: (_root, { format }, ctx) => accessReport(ctx.db, actorOf(ctx).accountId, format ?? 'JSON'),
  }),
  usageReport: t.field({
    type: ReportRef,
    authScopes: { master: true },
    description: 'Verifications per key and hour or day (UTC) with hour in [from, to). Hourly reports cover at most 366 days.',
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      format: t.arg({ type: ReportFormatEnum, defaultValue: 'JSON' }),
      granularity: t.arg({ type: UsageGranularityEnum, defaultValue: 'DAY' }),
    },
    resolve: (_root, { from, to, format, granularity }, ctx) => usageReport(ctx.db, actorOf(ctx).accountId, { from, to, format: format ?? 'JSON', granularity: granularity ?? 'DAY' }),
  }),
  securityReport: t.field({
    type: ReportRef,
    authScopes: { master: true },
    description: 'Security events created in [from, to), with counts by kind and severity (JSON).',
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true }),
      format: t.arg({ type: ReportFormatEnum, defaultValue: 'JSON' }),
    },
    resolve: (_root, { from, to, format }, ctx) => securityReport(ctx.db, actorOf(ctx).accountId, { from, to, format: format ?? 'JSON' }),
  }),
}));
