// The overview's compliance score: the share of passed checks over the account's usable keys,
// each key counted once per check (never expiring, rotation overdue, production without an IP
// restriction, unused for 90 days). 100 with no usable keys: nothing is at risk.

export interface ComplianceCounts {
  activeKeys: { count: number };
  neverExpiringKeys: { count: number };
  rotationOverdueKeys: { count: number };
  productionKeysWithoutIpRestriction: { count: number };
  unusedKeys: { count: number };
}

const SCORED: (keyof Omit<ComplianceCounts, 'activeKeys'>)[] = ['neverExpiringKeys', 'rotationOverdueKeys', 'productionKeysWithoutIpRestriction', 'unusedKeys'];

export function complianceScore(c: ComplianceCounts): number {
  const active = c.activeKeys.count;
  if (active === 0) return 100;
  const failed = SCORED.reduce((sum, check) => sum + Math.min(c[check].count, active), 0);
  return Math.round(100 * (1 - failed / (active * SCORED.length)));
}

/** [from, to) of the last `hours` whole hours, the current one included. */
export function lastHours(hours: number, now = Date.now()): { from: string; to: string } {
  const end = Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000;
  return { from: new Date(end - hours * 3_600_000).toISOString(), to: new Date(end).toISOString() };
}

/** The overview's 30 days: from the start of the UTC day 30 days back to the end of the current hour. */
export function last30Days(now = Date.now()): { from: string; to: string } {
  const month = lastHours(30 * 24, now);
  return { from: `${month.from.slice(0, 10)}T00:00:00.000Z`, to: month.to };
}
