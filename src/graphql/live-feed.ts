import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, Repeater, SlidingBuffer } from 'graphql-yoga';
import type Redis from 'ioredis';
import type { Actor } from '../access/admin';
import type { LiveMessage } from '../events/live';
import { forbidden } from '../infra/errors';
import { logger } from '../infra/logger';
import { liveEventsChannel } from '../infra/redis-keys';

// The server side of GraphQL subscriptions: one Redis subscriber connection per instance, one
// channel per account (subscribed while someone on this instance listens to it), and per
// subscription a bounded buffer (the oldest messages are dropped when a client reads too slowly)
// and a cap on how many one key holds open here. Ending a subscription (the client hangs up)
// removes its listener, and the channel's subscription when it was the last.

export interface LiveFeedOptions {
  publisher: Redis;
  /** A connection in subscriber mode (the key invalidation one serves). */
  subscriber: Redis;
  prefix: string;
  /** SUBSCRIPTIONS_PER_KEY: subscriptions one key may hold open on this instance. */
  maxPerKey?: number;
  /** Messages kept for a subscriber that reads slower than they come. */
  bufferSize?: number;
}

type LiveTopics = Record<string, [LiveMessage]>;

/**
 * The subscriber as the event target uses it: it does not wait for (UN)SUBSCRIBE, so a failure
 * (the connection closed at shutdown) is logged here rather than left unhandled.
 */
function guarded(subscriber: Redis): Redis {
  const logFailure = (what: string) => (err: Error) => logger.warn({ err: err.message }, `live updates: ${what} failed`);
  return {
    on: (event: string, listener: (...args: unknown[]) => void) => subscriber.on(event, listener),
    subscribe: (channel: string) => subscriber.subscribe(channel).catch(logFailure('SUBSCRIBE')),
    unsubscribe: (channel: string) => subscriber.unsubscribe(channel).catch(logFailure('UNSUBSCRIBE')),
  } as unknown as Redis;
}

export class LiveFeed {
  private readonly target;
  private readonly open = new Map<string, number>();
  private readonly stops = new Set<() => void>();
  private readonly maxPerKey: number;
  private readonly bufferSize: number;

  constructor(private readonly opts: LiveFeedOptions) {
    this.target = createRedisEventTarget({ publishClient: opts.publisher, subscribeClient: guarded(opts.subscriber) });
    this.maxPerKey = opts.maxPerKey ?? 10;
    this.bufferSize = opts.bufferSize ?? 100;
  }

  /** Subscriptions `keyId` holds open on this instance. */
  openFor(keyId: string): number {
    return this.open.get(keyId) ?? 0;
  }

  /**
   * The `kind` messages of the actor's account, each read back by `load` (null: not for this
   * caller, skipped). `stillAllowed` is asked before each delivery; false ends the stream.
   */
  stream<T>(actor: Actor, kind: LiveMessage['kind'], load: (id: string) => Promise<T | null>, stillAllowed: () => Promise<boolean>): Repeater<T> {
    const held = this.openFor(actor.keyId);
    if (held >= this.maxPerKey) throw forbidden(`this key already holds ${held} live subscriptions on this server (SUBSCRIPTIONS_PER_KEY); close one first`);
    this.open.set(actor.keyId, held + 1);
    const pubsub = createPubSub<LiveTopics>({ eventTarget: this.target as never, repeaterBuffer: new SlidingBuffer(this.bufferSize) });
    const source = pubsub.subscribe(liveEventsChannel(this.opts.prefix, actor.accountId));
    return new Repeater<T>(async (push, stop) => {
      const end = () => stop();
      this.stops.add(end);
      stop.then(() => {
        this.stops.delete(end);
        void source.return();
        this.release(actor.keyId);
      });
      try {
        for await (const message of source) {
          if (message.kind !== kind) continue;
          if (!(await stillAllowed())) break;
          const row = await load(message.id);
          if (row) await push(row);
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'live subscription failed');
      }
      stop();
    });
  }

  /** Ends every open subscription (shutdown): their streams complete and their connections close. */
  close(): void {
    for (const end of [...this.stops]) end();
  }

  private release(keyId: string): void {
    const n = this.openFor(keyId) - 1;
    if (n > 0) this.open.set(keyId, n);
    else this.open.delete(keyId);
  }
}
