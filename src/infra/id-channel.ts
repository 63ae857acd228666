import type Redis from 'ioredis';
import { logger } from './logger';

// A Redis pub/sub channel carrying lists of ids (changed keys, changed upstreams) between
// instances: publish a list, hear every list published on it.

export function publishIds(publisher: Redis, channel: string, ids: readonly string[], what: string): void {
  publisher.publish(channel, JSON.stringify(ids)).catch((err) => logger.error({ err }, `could not publish ${what}`));
}

/** Calls `onIds` with each list heard on `channel` (malformed messages are logged and skipped); returns a function that stops listening (the channel stays subscribed). */
export async function listenForIds(subscriber: Redis, channel: string, onIds: (ids: string[]) => void, what: string): Promise<() => void> {
  const onMessage = (ch: string, message: string) => {
    if (ch !== channel) return;
    try {
      const ids = JSON.parse(message);
      if (Array.isArray(ids)) onIds(ids.filter((i) => typeof i === 'string'));
    } catch {
      logger.warn(`ignored a malformed ${what} message`);
    }
  };
  subscriber.on('message', onMessage);
  await subscriber.subscribe(channel);
  return () => subscriber.off('message', onMessage);
}
