import { EventEmitter } from 'node:events';
import type { Tx } from '../infra/db';
import { clock } from '../infra/clock';
import { toJsonObject } from '../infra/json';
import type { EventType } from './types';

// The transactional outbox: an event is a row written with the change that caused it, in the
// same transaction, so it exists exactly when the change does. Nothing here talks to a queue;
// the relay (relay.ts) moves committed rows on.

export interface NewEvent {
  accountId: string;
  type: EventType;
  data: Record<string, unknown>;
  /** Once-only events (scheduled scans) name their occasion; a second write of it is dropped. */
  dedupeKey?: string;
}

/** PostgreSQL channel the outbox trigger (and notifyRelay) signals on commit. */
export const OUTBOX_CHANNEL = 'keywarden_outbox';

/**
 * In-process signal that outbox rows may have been written. The embedded store has no LISTEN for
 * another connection to use, so a relay in the same process listens here instead.
 */
export const outboxWrites = new EventEmitter();
outboxWrites.setMaxListeners(100);

/** The stored row; `data` is a JSON-safe copy (Dates as ISO strings): the body is built from what PostgreSQL stores. */
function row(e: NewEvent, now: Date) {
  return { accountId: e.accountId, type: e.type, data: toJsonObject(e.data), dedupeKey: e.dedupeKey ?? null, createdAt: now };
}

/** Writes one event in `tx`. Call it inside the transaction of the change it reports. */
export async function emitEvent(tx: Tx, e: NewEvent): Promise<void> {
  await tx.outboxEvent.create({ data: row(e, clock.now()), select: { id: true } });
  outboxWrites.emit('written');
}

/** Writes events whose dedupeKey was not written before (by anyone, ever). Returns how many were new. */
export async function emitOnce(tx: Tx, events: NewEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const now = clock.now();
  const { count } = await tx.outboxEvent.createMany({ data: events.map((e) => row(e, now)), skipDuplicates: true });
  if (count > 0) outboxWrites.emit('written');
  return count;
}

/** Wakes the relay at commit for deliveries written without a new outbox row (test sends, redeliveries). */
export async function notifyRelay(tx: Tx): Promise<void> {
  await tx.$executeRawUnsafe(`NOTIFY ${OUTBOX_CHANNEL}`);
  outboxWrites.emit('written');
}

/** The webhook body ({ type, timestamp, data }). Built from stored columns, so every retry sends the same bytes. */
export function webhookBody(e: { type: string; createdAt: Date; data: unknown }): { type: string; timestamp: string; data: unknown } {
  return { type: e.type, timestamp: e.createdAt.toISOString(), data: e.data };
}
