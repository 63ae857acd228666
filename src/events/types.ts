import { badInput } from '../infra/errors';

// Event types subscribers can receive (listed in the README's "Webhooks and workers") and the
// patterns an endpoint subscribes with: "*", a prefix such as "key.*", or an exact type. Pure: no I/O.

export const EVENT_TYPES = [
  'key.created',
  'key.updated',
  'key.rotated',
  'key.revoked',
  'key.expiring',
  'key.expired',
  'key.rotation_due',
  'key.leaked',
  'key.credits_low',
  'security.alert',
  'webhook.test',
  'key_request.created',
  'key_request.approved',
  'key_request.rejected',
  'key_request.claimed',
  'key_request.expired',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN = new Set<string>(EVENT_TYPES);
const PREFIXES = new Set(EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))));

function isEventType(s: string): s is EventType {
  return KNOWN.has(s);
}

/** Does an endpoint subscribed to `patterns` receive `type`? */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  for (const p of patterns) {
    if (p === '*' || p === type) return true;
    if (p.endsWith('.*') && type.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}

/**
 * Validates an endpoint's subscription: at least one entry, each "*", "<prefix>.*" for a known
 * prefix, or a known type. Duplicates are dropped; an unknown name is refused rather than stored,
 * since it would silently never match.
 */
export function normalizeEventTypes(field: string, patterns: readonly unknown[] | null | undefined): string[] {
  if (!patterns || patterns.length === 0) throw badInput(field, 'must list at least one event type ("*" for all)');
  if (patterns.length > 50) throw badInput(field, 'at most 50 entries');
  const out: string[] = [];
  patterns.forEach((raw, i) => {
    const p = typeof raw === 'string' ? raw.trim() : '';
    const known = p === '*' || isEventType(p) || (p.endsWith('.*') && PREFIXES.has(p.slice(0, -2)));
    if (!known) {
      throw badInput(`${field}[${i}]`, `unknown event type "${String(raw)}"; use "*", one of ${[...PREFIXES].map((x) => `"${x}.*"`).join(', ')}, or one of ${EVENT_TYPES.join(', ')}`);
    }
    if (!out.includes(p)) out.push(p);
  });
  return out;
}
