import type Redis from 'ioredis';
import { logger } from '../infra/logger';
import { keyInvalidationChannel } from '../infra/redis-keys';
import type { KeyCache } from './cache';
import { keyChanges } from './events';

// Key changes reach every instance's cache through one Redis channel: the instance that made the
// change drops its entries at once and publishes; the others drop theirs on the message.

export async function wireInvalidation(opts: { cache: KeyCache; publisher: Redis; subscriber: Redis; prefix: string }): Promise<() => void> {
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
  // After a reconnect, messages may have been missed: drop everything rather than serve stale keys.
  const onReady = () => opts.cache.clear();
  keyChanges.on('changed', onLocal);
  opts.subscriber.on('message', onMessage);
  await opts.subscriber.subscribe(channel);
  opts.subscriber.on('ready', onReady);
  return () => {
    keyChanges.off('changed', onLocal);
    opts.subscriber.off('message', onMessage);
    opts.subscriber.off('ready', onReady);
  };
}
