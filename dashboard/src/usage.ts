import type { UsagePoint } from './types';

// Keywarden returns only the buckets that saw traffic; the chart wants every bucket in range.

const STEP_MS = { HOUR: 3_600_000, DAY: 86_400_000 } as const;

export function usageRange(granularity: 'HOUR' | 'DAY', now = Date.now()): { from: string; to: string } {
  const step = STEP_MS[granularity];
  const buckets = granularity === 'HOUR' ? 48 : 30;
  const end = Math.floor(now / step) * step + step;
  return { from: new Date(end - buckets * step).toISOString(), to: new Date(end).toISOString() };
}

export function fillBuckets(points: UsagePoint[], from: string, to: string, granularity: 'HOUR' | 'DAY'): UsagePoint[] {
  const step = STEP_MS[granularity];
  const byStart = new Map(points.map((p) => [Math.floor(Date.parse(p.start) / step) * step, p]));
  const out: UsagePoint[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += step) {
    out.push(byStart.get(t) ?? { start: new Date(t).toISOString(), requests: 0, allowed: 0, denied: 0, units: 0, bytes: 0 });
  }
  return out;
}
