import type Redis from 'ioredis';
import { logger } from '../infra/logger';
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
    opts.publisher.publish(channel, JSON.stringify(ids)).catch((err) => logger.error({ err }, 'could not publish key invalidation'));
  };
  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const ids = JSON.parse(message);
      if (Array.isArray(ids)) opts.cache.invalidate(ids.filter((i) => typeof i === 'string'));
    } catch {
      logger.warn('ignored a malformed key invalidation message');
    }
  };
  // Disconnected, this instance hears of no change made elsewhere: keep cached keys only briefly.
  const onClose = () => opts.cache.setFreshFor(opts.freshWhileDownMs ?? FRESH_WHILE_CHANNEL_DOWN_MS);
  // After a reconnect, messages may have been missed: drop everything rather than serve stale keys.
  const onReady = () => {
    opts.cache.clear();
    opts.cache.setFreshFor(null);
  };
  keyChanges.on('changed', onLocal);
  opts.subscriber.on('message', onMessage);
  await opts.subscriber.subscribe(channel);
  opts.subscriber.on('ready', onReady);
  opts.subscriber.on('close', onClose);
  return () => {
    opts.subscriber.off('close', onClose);
    keyChanges.off('changed', onLocal);
    opts.subscriber.off('message', onMessage);
    opts.subscriber.off('ready', onReady);
  };
}
