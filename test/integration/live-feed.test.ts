import type Redis from 'ioredis';
import type { Actor } from '../../src/access/admin';
import { LiveFeed } from '../../src/graphql/live-feed';
import { createRedis } from '../../src/infra/redis';
import { liveEventsChannel } from '../../src/infra/redis-keys';
import { isolatedPrefix } from '../helpers/harness';

// The per-subscription buffer on real Redis: a subscriber that does not read keeps only the
// newest messages, so a slow client costs the server a bounded amount of memory.

let publisher: Redis;
let subscriber: Redis;
beforeAll(() => {
  publisher = createRedis(process.env.REDIS_URL!);
  subscriber = createRedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
});
afterAll(() => {
  publisher.disconnect();
  subscriber.disconnect();
});

const actor: Actor = { accountId: '00000000-0000-4000-8000-00000000000a', keyId: '00000000-0000-4000-8000-00000000000b', master: true, effectivePermission: 'FULL_ACCESS', ip: null };

test('a subscriber that stops reading keeps only the newest messages, up to its buffer size', async () => {
  const prefix = isolatedPrefix('live-buffer');
  const channel = liveEventsChannel(prefix, actor.accountId);
  const feed = new LiveFeed({ publisher, subscriber, prefix, bufferSize: 3 });
  let releaseFirst: () => void = () => {};
  const firstHeld = new Promise<void>((r) => {
    releaseFirst = r;
  });
  const loaded: string[] = [];
  const load = async (id: string) => {
    loaded.push(id);
    if (id === 'm0') await firstHeld; // the client is busy with the first message
    return id;
  };
  const stream = feed.stream(actor, 'security', load, async () => true);
  const first = stream.next();
  // Count what reaches this instance on the channel, beside the feed's own listener.
  let seen = 0;
  const counted = new Promise<void>((resolve) => {
    subscriber.on('message', (ch) => {
      if (ch === channel && ++seen === 10) resolve();
    });
  });
  while (Number(((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1]) < 1) await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 10; i++) await publisher.publish(channel, JSON.stringify({ kind: 'security', id: `m${i}` }));
  await counted;
  releaseFirst();
  expect((await first).value).toBe('m0');
  const rest: string[] = [];
  for (let i = 0; i < 3; i++) rest.push((await stream.next()).value as string);
  // m1..m6 were dropped while the client was busy: the buffer held the newest three.
  expect(rest).toEqual(['m7', 'm8', 'm9']);
  expect(loaded).toEqual(['m0', 'm7', 'm8', 'm9']);
  await stream.return(undefined);
  expect(feed.openFor(actor.keyId)).toBe(0);
});
