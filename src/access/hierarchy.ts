import { PERIOD_DAYS } from './chain';
import { parseAllowlistEntry, type IpRange } from './ip';
import type { CreditsSetting, KeySettings, Period, ScopeSettings } from './key-settings';
import { permissionRank } from './permission';
import { notCovered } from './permission-strings';

// Hierarchy invariant, in one place: a derived key may only narrow what every ancestor allows.
// `findEscalations` lists each dimension where a key's settings reach beyond one of its
// ancestors; deriveKey and updateKey refuse with EXCEEDS_PARENT when the list is not empty.
// Verification intersects the chain as well, so even a stored wider setting grants nothing.

export interface Escalation {
  field: string;
  message: string;
}

/** Agents a scope can reach, or 'all'. Workflow targets are handled separately. */
function reachableAgents(s: ScopeSettings): Set<string> | 'all' {
  switch (s.kind) {
    case 'ALL_AGENTS':
      return 'all';
    case 'SINGLE_AGENT':
      return new Set(s.agentId ? [s.agentId] : []);
    case 'AGENT_GROUP':
      return new Set(s.groupAgentIds ?? []);
    case 'WORKFLOW':
      return new Set(s.workflowAgentIds ?? []);
  }
}

function scopeWithin(child: ScopeSettings, parent: ScopeSettings): boolean {
  if (parent.kind === 'ALL_AGENTS') return true;
  if (child.kind === 'ALL_AGENTS') return false;
  if (child.kind === 'WORKFLOW') {
    // Workflow targets are reachable only through WORKFLOW scopes.
    if (parent.kind !== 'WORKFLOW') return false;
    const allowed = new Set(parent.workflowIds ?? []);
    return (child.workflowIds ?? []).every((w) => allowed.has(w));
  }
  if (child.kind === parent.kind && child.kind === 'AGENT_GROUP' && child.groupId === parent.groupId) return true;
  const parentAgents = reachableAgents(parent);
  const childAgents = reachableAgents(child);
  if (parentAgents === 'all') return true;
  if (childAgents === 'all') return false;
  return [...childAgents].every((a) => parentAgents.has(a));
}

function rangeWithin(child: IpRange, parent: IpRange): boolean {
  return child.kind === parent.kind && child.bits >= parent.bits && child.addr.match(parent.addr, parent.bits);
}

function ipListWithin(child: readonly string[], parent: readonly string[]): boolean {
  if (parent.length === 0) return true;
  if (child.length === 0) return false;
  const parentRanges = parent.map(parseAllowlistEntry).flatMap((p) => (p.ok ? [p.range] : []));
  return child.every((entry) => {
    const c = parseAllowlistEntry(entry);
    // A hostname (dynamic IP) is within the parent only when the parent lists the same name.
    if (!c.ok) return parent.includes(entry);
    return parentRanges.some((p) => rangeWithin(c.range, p));
  });
}

/** A child's amount per period must not exceed the parent's over the same span. */
function amountWithin<T extends { period: Period }>(child: T | null, parent: T | null, amount: (a: T) => number): boolean {
  if (!parent) return true;
  if (!child) return false;
  if (PERIOD_DAYS[child.period] > PERIOD_DAYS[parent.period]) return false;
  return amount(child) <= amount(parent);
}

/** Refills a month can bring, at most: a DAILY refill counts 31 times. */
const REFILLS_PER_MONTH = { DAILY: 31, MONTHLY: 1 } as const;

/**
 * Credits are a key's own budget (verification spends only the key's), so a child under an
 * ancestor with credits must have credits of its own, no more than the ancestor's budget, and
 * refill no more per month than the ancestor does. The field and why, or null when within.
 */
function creditsEscalation(child: CreditsSetting | null, parent: CreditsSetting | null): Escalation | null {
  if (!parent) return null;
  if (!child) return { field: 'input.credits', message: `must be set: the parent has credits (a budget of ${parent.budget})` };
  if (child.budget > parent.budget) return { field: 'input.credits.remaining', message: `must be at most the parent's ${parent.budget}` };
  if (!child.refill) return null;
  if (!parent.refill) return { field: 'input.credits.refill', message: "cannot refill: the parent's credits do not" };
  const monthly = (r: NonNullable<CreditsSetting['refill']>) => r.amount * REFILLS_PER_MONTH[r.interval];
  if (child.refill.amount > parent.refill.amount || monthly(child.refill) > monthly(parent.refill)) {
    return { field: 'input.credits.refill', message: `must refill at most the parent's ${parent.refill.amount} ${parent.refill.interval}` };
  }
  return null;
}

export function findEscalations(child: KeySettings, ancestors: readonly KeySettings[]): Escalation[] {
  const out: Escalation[] = [];
  const add = (field: string, message: string) => {
    if (!out.some((e) => e.field === field)) out.push({ field, message });
  };
  for (const p of ancestors) {
    if (permissionRank(child.permission) > permissionRank(p.permission)) {
      add('input.permission', `${child.permission} is above the parent's ${p.permission}`);
    }
    if (p.identityId !== null && child.identityId !== p.identityId) {
      add('input.identityId', `must be the parent's identity ${p.identityId}: its shared limits cannot be left`);
    }
    const beyond = notCovered(child.permissions, p.permissions);
    if (beyond.length > 0) add('input.permissions', `${beyond.join(', ')} not held by the parent`);
    if (p.expiresAt !== null && (child.expiresAt === null || child.expiresAt > p.expiresAt)) {
      add('input.expiresAt', `must not be later than the parent's expiry ${p.expiresAt.toISOString()}`);
    }
    if (!scopeWithin(child.scope, p.scope)) add('input.scope', `reaches beyond the parent's ${p.scope.kind} scope`);
    if (!ipListWithin(child.ipAllowlist, p.ipAllowlist)) {
      add('input.ipAllowlist', "every entry must lie inside the parent's IP allowlist (and it cannot be dropped)");
    }
    for (const limit of p.rateLimits) {
      const mine = child.rateLimits.find((r) => r.window === limit.window);
      if (!mine || mine.limit > limit.limit) add('input.rateLimits', `${limit.window} must be at most the parent's ${limit.limit}`);
    }
    if (!amountWithin(child.quota, p.quota, (q) => q.units)) add('input.quota', "must be at most the parent's quota");
    if (!amountWithin(child.bandwidth, p.bandwidth, (b) => b.bytes)) add('input.bandwidth', "must be at most the parent's bandwidth");
    if (p.maxConcurrent !== null && (child.maxConcurrent === null || child.maxConcurrent > p.maxConcurrent)) {
      add('input.maxConcurrent', `must be at most the parent's ${p.maxConcurrent}`);
    }
    const credits = child.credits === undefined || p.credits === undefined ? null : creditsEscalation(child.credits, p.credits);
    if (credits) add(credits.field, credits.message);
    if (p.accessWindows.length > 0 && child.accessWindows.length === 0) add('input.accessWindows', "the parent's access windows cannot be dropped");
    if (p.allowedCountries.length > 0) {
      const allowed = new Set(p.allowedCountries);
      if (child.allowedCountries.length === 0 || child.allowedCountries.some((c) => !allowed.has(c))) {
        add('input.allowedCountries', "must be a subset of the parent's allowed countries");
      }
    }
  }
  return out;
}
