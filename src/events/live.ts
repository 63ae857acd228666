import type Redis from 'ioredis';
import { liveEventsChannel } from '../infra/redis-keys';

// Live updates for GraphQL subscriptions. The relay publishes each outbox event it has claimed
// (once, whichever relay claimed it) on the account's Redis channel, so a change made through any
// instance reaches subscribers on every instance. A message names only what changed; the
// subscriber reads it back through its own visibility rules, so nothing is sent it may not see.

export type LiveMessage = { kind: 'security'; id: string } | { kind: 'key'; id: string };

/** An outbox event as the relay claimed it. */
export interface RelayedEvent {
  accountId: string;
  type: string;
  data: unknown;
}

/** Event types that change a key as subscribers see it (warnings such as key.expiring do not). */
const KEY_CHANGES = new Set(['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'key.expired']);

function idOf(value: unknown): string | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : null;
}

export function liveMessagesOf(e: RelayedEvent): LiveMessage[] {
  const data = (e.data ?? {}) as Record<string, unknown>;
  if (e.type === 'security.alert') {
    const id = idOf(data);
    return id ? [{ kind: 'security', id }] : [];
  }
  if (!KEY_CHANGES.has(e.type)) return [];
  // A rotation changes two keys: the successor appears, the old key turns ROTATING.
  const ids = [idOf(data.key), e.type === 'key.rotated' ? idOf(data.previous) : null];
  return ids.filter((id): id is string => id !== null).map((id) => ({ kind: 'key', id }));
}

/** Publishes the live messages of `events` in one round trip. */
export async function publishLive(redis: Redis, prefix: string, events: readonly RelayedEvent[]): Promise<void> {
  const pipeline = redis.pipeline();
  let n = 0;
  for (const e of events) {
    for (const m of liveMessagesOf(e)) {
      pipeline.publish(liveEventsChannel(prefix, e.accountId), JSON.stringify(m));
      n++;
    }
  }
  if (n > 0) await pipeline.exec();
}
