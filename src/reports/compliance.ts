import type { Prisma } from '../generated/prisma/client';
import type { Severity } from '../generated/prisma/enums';
import type { Database } from '../infra/db';
import { clock } from '../infra/clock';
import { statusWhere } from '../keys/queries';
import { approvalPolicy } from '../keys/approval-gate';

// complianceStatus: counts of keys that need attention, each as a Prisma filter so the same rule
// gives the count, a sample of ids and a paginated list (indexed reads, no row loaded to count).
// Every check looks at usable keys only (ACTIVE, or ROTATING within its grace, and not past
// expiry): a revoked or expired key is no longer a risk.
//
// Inheritance: a derived key can only narrow its parent at creation, but narrowing an ancestor
// later narrows the subtree without touching its rows. So "high privilege" and "without IP
// restriction" also look at ancestors: a key under an EXECUTE ancestor is not high-privilege, and
// a key under an IP-restricted ancestor is restricted. Only ancestors matter, and every ancestor
// has a child, so the exclusion lists are the keys with children that narrow: few in practice.

export const EXPIRING_SOON_DAYS = 14;
export const UNUSED_DAYS = 90;
const DAY_MS = 86_400_000;

export const COMPLIANCE_CHECKS = [
  'activeKeys',
  'neverExpiringKeys',
  'expiringSoonKeys',
  'rotationOverdueKeys',
  'productionKeysWithoutIpRestriction',
  'highPrivilegeKeys',
  'highPrivilegeKeysWithoutApproval',
  'unusedKeys',
] as const;
export type ComplianceCheck = (typeof COMPLIANCE_CHECKS)[number];

export interface OpenSecurityEvents {
  count: number;
  bySeverity: Record<Severity, number>;
  sampleEventIds: string[];
}

/**
 * One account's compliance at one moment. Each check runs when it is first asked for and is
 * remembered, so a query for two counts costs two counts.
 */
export class ComplianceSnapshot {
  readonly generatedAt: Date;
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Database,
    readonly accountId: string,
    now: Date = clock.now(),
  ) {
    this.generatedAt = now;
  }

  private once<T>(key: string, run: () => Promise<T>): Promise<T> {
    if (!this.memo.has(key)) this.memo.set(key, run());
    return this.memo.get(key) as Promise<T>;
  }

  private usable(): Prisma.ApiKeyWhereInput {
    return { accountId: this.accountId, OR: [statusWhere('ACTIVE', this.generatedAt), statusWhere('ROTATING', this.generatedAt)] };
  }

  /** Ancestors (keys with children) matching `where`: their subtrees are excluded from a check. */
  private parentsWhere(name: string, where: Prisma.ApiKeyWhereInput): Promise<string[]> {
    return this.once(`parents:${name}`, async () => {
      const rows = await this.db.read.apiKey.findMany({ where: { accountId: this.accountId, children: { some: {} }, ...where }, select: { id: true } });
      return rows.map((r) => r.id);
    });
  }

  private notUnder(ids: string[]): Prisma.ApiKeyWhereInput {
    return ids.length ? { NOT: { ancestorIds: { hasSome: ids } } } : {};
  }

  /** The filter that selects the keys failing `check`. */
  async where(check: ComplianceCheck): Promise<Prisma.ApiKeyWhereInput> {
    const now = this.generatedAt;
    const usable = this.usable();
    switch (check) {
      case 'activeKeys':
        return usable;
      case 'neverExpiringKeys':
        return { AND: [usable, { expiresAt: null }] };
      case 'expiringSoonKeys':
        return { AND: [usable, { expiresAt: { gt: now, lte: new Date(now.getTime() + EXPIRING_SOON_DAYS * DAY_MS) } }] };
      case 'rotationOverdueKeys':
        return { AND: [usable, { rotationDueAt: { lte: now } }] };
      case 'productionKeysWithoutIpRestriction': {
        const restricted = await this.parentsWhere('ip', { ipAllowlist: { isEmpty: false } });
        // Master keys are PRODUCTION-typed administration keys; they are reported as high-privilege.
        return { AND: [usable, { type: 'PRODUCTION', master: false, ipAllowlist: { isEmpty: true } }, this.notUnder(restricted)] };
      }
      case 'highPrivilegeKeys': {
        const lower = await this.parentsWhere('low', { permission: { in: ['READ_ONLY', 'EXECUTE'] } });
        return { AND: [usable, { permission: { in: ['MANAGE', 'FULL_ACCESS'] } }, this.notUnder(lower)] };
      }
      case 'highPrivilegeKeysWithoutApproval':
        return { AND: [await this.where('highPrivilegeKeys'), await this.outsideApprovalPolicy()] };
      case 'unusedKeys': {
        const cutoff = new Date(now.getTime() - UNUSED_DAYS * DAY_MS);
        return { AND: [usable, { OR: [{ lastUsedAt: null, createdAt: { lt: cutoff } }, { lastUsedAt: { lt: cutoff } }] }] };
      }
    }
  }

  /** Keys the account's approval policy does not cover (access/approval.ts): nothing when it covers every high-privilege key. */
  private async outsideApprovalPolicy(): Promise<Prisma.ApiKeyWhereInput> {
    const { requireFor } = await this.once('policy', () => approvalPolicy(this.db, this.accountId));
    if (requireFor.includes('ANY') || requireFor.includes('HIGH_PRIVILEGE')) return { id: { in: [] } };
    const covered: Prisma.ApiKeyWhereInput[] = [];
    if (requireFor.includes('EMERGENCY')) covered.push({ type: 'EMERGENCY' });
    if (requireFor.includes('MASTER')) covered.push({ master: true });
    return covered.length ? { NOT: { OR: covered } } : {};
  }

  count(check: ComplianceCheck): Promise<number> {
    return this.once(`count:${check}`, async () => this.db.read.apiKey.count({ where: await this.where(check) }));
  }

  /** The first few keys failing `check`, oldest first. */
  sampleKeyIds(check: ComplianceCheck, n = 10): Promise<string[]> {
    return this.once(`sample:${check}:${n}`, async () => {
      const rows = await this.db.read.apiKey.findMany({ where: await this.where(check), select: { id: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: n });
      return rows.map((r) => r.id);
    });
  }

  /** Security events nobody has acknowledged yet, newest sample first. */
  openSecurityEvents(n = 10): Promise<OpenSecurityEvents> {
    return this.once(`events:${n}`, async () => {
      const where = { accountId: this.accountId, acknowledgedAt: null };
      const [groups, sample] = await Promise.all([
        this.db.read.securityEvent.groupBy({ by: ['severity'], where, _count: { _all: true } }),
        this.db.read.securityEvent.findMany({ where, select: { id: true }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: n }),
      ]);
      const bySeverity: Record<Severity, number> = { LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0 };
      for (const g of groups) bySeverity[g.severity] = g._count._all;
      return { count: Object.values(bySeverity).reduce((a, b) => a + b, 0), bySeverity, sampleEventIds: sample.map((r) => r.id) };
    });
  }
}
