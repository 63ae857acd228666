import type { SecurityEvent } from '../generated/prisma/client';
import type { SecurityEventKind, Severity } from '../generated/prisma/enums';
import type { Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { toJsonObject } from '../infra/json';
import { emitEvent, type NewEvent } from '../events/outbox';

// Security events (the README's "Usage and security monitoring" lists the kinds). Written in the
// caller's transaction where one exists, so an event about a change commits with the change; each
// one is also a security.alert for webhook subscribers.

const DEFAULT_SEVERITY: Record<SecurityEventKind, Severity> = {
  FAILED_AUTH_BURST: 'HIGH',
  RATE_LIMIT_VIOLATION: 'MEDIUM',
  USAGE_ANOMALY: 'MEDIUM',
  GEO_ANOMALY: 'HIGH',
  PRIVILEGE_ESCALATION: 'HIGH',
  BULK_OPERATION: 'MEDIUM',
  KEY_CREATED: 'LOW',
  ROTATED_KEY_USED: 'MEDIUM',
  KEY_LEAKED: 'CRITICAL',
  EMERGENCY_KEY_USED: 'HIGH',
  ENDPOINT_DISABLED: 'MEDIUM',
};

export interface SecurityEventInput {
  accountId: string;
  kind: SecurityEventKind;
  severity?: Severity;
  keyId?: string | null;
  /** The person whose action raised it. */
  actorOperatorId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export async function recordSecurityEvent(tx: Tx, e: SecurityEventInput) {
  const event = await tx.securityEvent.create({
    data: {
      accountId: e.accountId,
      kind: e.kind,
      severity: e.severity ?? DEFAULT_SEVERITY[e.kind],
      keyId: e.keyId ?? null,
      actorOperatorId: e.actorOperatorId ?? null,
      ip: e.ip ?? null,
      details: toJsonObject(e.details ?? {}),
      createdAt: clock.now(),
    },
  });
  await emitEvent(tx, securityAlert(event));
  return event;
}

/** What subscribers are told about a security event. */
function securityAlert(e: SecurityEvent): NewEvent {
  return {
    accountId: e.accountId,
    type: 'security.alert',
    data: { id: e.id, kind: e.kind, severity: e.severity, keyId: e.keyId, actorOperatorId: e.actorOperatorId, ip: e.ip, details: e.details, createdAt: e.createdAt },
  };
}
