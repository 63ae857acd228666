import type Redis from 'ioredis';
import { listenForIds, publishIds } from '../infra/id-channel';
import { keyInvalidationChannel } from '../infra/redis-keys';
import type { KeyCache } from './cache';
import { keyChanges } from './events';

// Key changes reach every instance's cache through one Redis channel: the instance that made the
// change drops its entries at once and publishes; the others drop theirs on the message.

/** While the channel is down, cached keys older than this are read again (README, Reliability). */
export const FRESH_WHILE_CHANNEL_DOWN_MS = 2000;

export async function wireInvalidation(opts: { cache: KeyCache; publisher: Redis; subscriber: Redis; prefix: string; freshWhileDownMs?: number }): Promise<() => void> {
  const channel = keyInvalidationChannel(opts.prefix);
  const onLocal = (ids: string[]) => {
    opts.cache.invalidate(ids);
    publishIds(opts.publisher, channel, ids, 'a key invalidation');
  };
  // Disconnected, this instance hears of no change made elsewhere: keep cached keys only briefly.
  const onClose = () => opts.cache.setFreshFor(opts.freshWhileDownMs ?? FRESH_WHILE_CHANNEL_DOWN_MS);
  // After a reconnect, messages may have been missed: drop everything rather than serve stale keys.
  const onReady = () => {
    opts.cache.clear();
    opts.cache.setFreshFor(null);
  };
  keyChanges.on('changed', onLocal);
  const stopListening = await listenForIds(opts.subscriber, channel, (ids) => opts.cache.invalidate(ids), 'key invalidation');
  opts.subscriber.on('ready', onReady);
  opts.subscriber.on('close', onClose);
  return () => {
    opts.subscriber.off('close', onClose);
    keyChanges.off('changed', onLocal);
    stopListening();
    opts.subscriber.off('ready', onReady);
  };
}
