import type Redis from 'ioredis';
import { createRedis } from '../../src/infra/redis';
import { liveEventsChannel } from '../../src/infra/redis-keys';
import type { Workers } from '../../workers';
import { startHarness, type Harness } from '../helpers/harness';
import { createKey, ok } from '../helpers/gql-fixtures';
import { signedInOperator } from '../helpers/operators';
import { configureTestWebhooks, eventually, isolatedDatabase, startTestWorkers, type IsolatedDatabase } from '../helpers/webhooks';

// GraphQL subscriptions over Server-Sent Events, end to end: two API instances on one PostgreSQL
// and one Redis, the workers' relay publishing committed events, a subscriber on instance B
// hearing of a change made through instance A. Tenancy, the per-key cap and the clean-up after a
// dropped connection are checked on the same set-up.

jest.setTimeout(60_000);

let iso: IsolatedDatabase;
let a: Harness;
let b: Harness;
let workers: Workers;
let probe: Redis;

beforeAll(async () => {
  configureTestWebhooks();
  iso = await isolatedDatabase('subs');
  a = await startHarness({ db: iso.db });
  b = await startHarness({ db: iso.db, app: { subscriptionsPerKey: 2 } });
  workers = await startTestWorkers({ db: iso.db, url: iso.url, prefix: a.prefix });
  probe = createRedis(process.env.REDIS_URL!);
});

afterAll(async () => {
  probe.disconnect();
  await workers.close();
  await a.close();
  await b.close();
  await iso.drop();
});

const SECURITY = 'subscription { securityEventRaised { id kind severity key { id name } } }';
const KEYS = 'subscription { keyChanged { id name status } }';

interface Subscription {
  status: number;
  contentType: string | null;
  /** The next `next` payload ({ data, errors }); throws when the stream ends first. */
  next(): Promise<any>;
  close(): void;
}

/** Opens a subscription on `h` the way a browser's EventSource-style client does (POST, Accept: text/event-stream); a key's secret or a signed-in person's headers. */
async function subscribe(h: Harness, query: string, secret: string | null | Record<string, string>): Promise<Subscription> {
  const abort = new AbortController();
  const auth = typeof secret === 'string' ? { authorization: `Bearer ${secret}` } : (secret ?? {});
  const res = await fetch(`${h.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...auth },
    body: JSON.stringify({ query }),
    signal: abort.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const next = async (): Promise<any> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'complete') throw new Error('the stream completed');
        if (event === 'next' && data) return JSON.parse(data);
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) throw new Error('the stream ended');
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  return { status: res.status, contentType: res.headers.get('content-type'), next, close: () => abort.abort() };
}

/** Subscribers on this Redis channel, across all instances. */
async function listeners(accountId: string): Promise<number> {
  const [, n] = (await probe.pubsub('NUMSUB', liveEventsChannel(a.prefix, accountId))) as [string, number];
  return Number(n);
}

/** Waits until `n` instances listen on the account's channel, so nothing published next is missed. */
const listening = (accountId: string, n = 1) => eventually(async () => (await listeners(accountId)) >= n, 15_000, `${n} listener(s) on the account channel`);

test('a subscription without credentials is answered 401 before any stream opens', async () => {
  const s = await subscribe(b, SECURITY, null);
  expect(s.status).toBe(401);
  expect(s.contentType).not.toContain('text/event-stream');
  s.close();
});

test('a security event raised through instance A reaches a subscriber on instance B', async () => {
  const acct = await a.newAccount('subs-cross');
  const s = await subscribe(b, SECURITY, acct.secret);
  expect(s.status).toBe(200);
  expect(s.contentType).toContain('text/event-stream');
  await listening(acct.accountId);
  // A MANAGE key's creation raises a KEY_CREATED event.
  const manager = await createKey(a, acct.secret, { name: 'mgr', type: 'PRODUCTION', permission: 'MANAGE' });
  const got = await s.next();
  expect(got.errors).toBeUndefined();
  expect(got.data.securityEventRaised).toMatchObject({ kind: 'KEY_CREATED', key: { id: manager.key.id, name: 'mgr' } });
  s.close();
});

test('a key changed through A is pushed to B as it now is', async () => {
  const acct = await a.newAccount('subs-keys');
  const s = await subscribe(b, KEYS, acct.secret);
  await listening(acct.accountId);
  const k = await createKey(a, acct.secret, { name: 'to-revoke', type: 'DEVELOPMENT' });
  expect((await s.next()).data.keyChanged).toEqual({ id: k.key.id, name: 'to-revoke', status: 'ACTIVE' });
  ok(await a.gql(`mutation($id: ID!) { revokeKey(id: $id, reason: "test") { id } }`, { id: k.key.id }, acct.secret));
  expect((await s.next()).data.keyChanged).toEqual({ id: k.key.id, name: 'to-revoke', status: 'REVOKED' });
  s.close();
});

test('nothing is delivered that the subscriber may not see: another account, or outside a MANAGE key subtree', async () => {
  const one = await a.newAccount('subs-one');
  const two = await a.newAccount('subs-two');
  const manager = await createKey(a, one.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  // What happened before the subscriptions (the manager's own creation) is published first.
  await workers.relayNow();
  const asTwo = await subscribe(b, KEYS, two.secret);
  const asManager = await subscribe(b, KEYS, manager.secret);
  await listening(one.accountId);
  await listening(two.accountId);
  // Account one: a key outside the manager's subtree, then one inside it.
  await createKey(a, one.secret, { name: 'outside', type: 'DEVELOPMENT' });
  const inside = ok(await a.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "inside", type: PRODUCTION, permission: READ_ONLY }) { key { id } } }`, { p: manager.key.id }, manager.secret)).deriveKey;
  // Account two: one key of its own.
  const own = await createKey(a, two.secret, { name: 'own', type: 'DEVELOPMENT' });
  // Each stream's first message is the first thing it may see: what came before was never sent.
  expect((await asManager.next()).data.keyChanged).toMatchObject({ id: inside.key.id, name: 'inside' });
  expect((await asTwo.next()).data.keyChanged).toMatchObject({ id: own.key.id, name: 'own' });
  asTwo.close();
  asManager.close();
});

test('a key that administers nothing may not subscribe', async () => {
  const acct = await a.newAccount('subs-reader');
  const reader = await createKey(a, acct.secret, { name: 'reader', type: 'PRODUCTION', permission: 'READ_ONLY' });
  const s = await subscribe(b, SECURITY, reader.secret);
  const got = await s.next();
  expect(got.errors.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
  expect(await listeners(acct.accountId)).toBe(0);
  s.close();
});

test('a key holds at most SUBSCRIPTIONS_PER_KEY subscriptions on an instance; closing one frees its place', async () => {
  const acct = await a.newAccount('subs-cap');
  const first = await subscribe(b, SECURITY, acct.secret);
  const second = await subscribe(b, KEYS, acct.secret);
  await eventually(async () => b.app.live!.openFor(acct.keyId) === 2, 15_000, 'two open subscriptions');
  const third = await subscribe(b, SECURITY, acct.secret);
  const refused = await third.next();
  expect(refused.errors.map((e: any) => e.extensions.code)).toEqual(['FORBIDDEN']);
  expect(refused.errors[0].message).toContain('SUBSCRIPTIONS_PER_KEY');
  third.close();
  first.close();
  await eventually(async () => b.app.live!.openFor(acct.keyId) === 1, 15_000, 'the closed subscription released');
  const again = await subscribe(b, SECURITY, acct.secret);
  await eventually(async () => b.app.live!.openFor(acct.keyId) === 2, 15_000, 'a new subscription in the freed place');
  again.close();
  second.close();
});

test('a dropped connection frees what the server held for it: the count, the listener and the Redis channel', async () => {
  const acct = await a.newAccount('subs-drop');
  const s = await subscribe(b, SECURITY, acct.secret);
  await listening(acct.accountId);
  expect(b.app.live!.openFor(acct.keyId)).toBe(1);
  s.close();
  await eventually(async () => b.app.live!.openFor(acct.keyId) === 0, 15_000, 'the subscription released');
  await eventually(async () => (await listeners(acct.accountId)) === 0, 15_000, 'the channel unsubscribed');
  // And the instance still serves new subscribers of that account afterwards.
  const again = await subscribe(b, SECURITY, acct.secret);
  await listening(acct.accountId);
  await createKey(a, acct.secret, { name: 'admin', type: 'PRODUCTION', permission: 'FULL_ACCESS' });
  expect((await again.next()).data.securityEventRaised.kind).toBe('KEY_CREATED');
  again.close();
});

test('operators follow by role: OWNER, ADMIN and AUDITOR hear their whole account, nothing of another; a disabled one hears no more', async () => {
  const acct = await a.newAccount('subs-people');
  const other = await a.newAccount('subs-people-other');
  const manager = await createKey(a, acct.secret, { name: 'manager', type: 'PRODUCTION', permission: 'MANAGE' });
  await workers.relayNow();
  // A browser on Keywarden's own page: the session cookie, and the Origin of the page it serves.
  const browserOf = async (accountId: string, role: 'OWNER' | 'ADMIN' | 'AUDITOR') => {
    const op = await signedInOperator(b, accountId, role);
    return { op, headers: { cookie: op.cookie, origin: new URL(b.url).origin } };
  };
  const people = [await browserOf(acct.accountId, 'OWNER'), await browserOf(acct.accountId, 'ADMIN'), await browserOf(acct.accountId, 'AUDITOR')];
  const theirs = await browserOf(other.accountId, 'OWNER');
  const streams = [];
  for (const p of people) streams.push(await subscribe(b, KEYS, p.headers));
  const foreign = await subscribe(b, KEYS, theirs.headers);
  expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
  await listening(acct.accountId);
  await listening(other.accountId);
  await eventually(async () => people.every((p) => b.app.live!.openFor(`operator:${p.op.id}`) === 1), 15_000, 'one subscription per operator');

  // A key outside any MANAGE key's subtree, made by the master key: every role of the account hears it.
  const made = await createKey(a, acct.secret, { name: 'seen-by-people', type: 'DEVELOPMENT' });
  for (const s of streams) expect((await s.next()).data.keyChanged).toMatchObject({ id: made.key.id, name: 'seen-by-people' });
  // Below the manager too (an operator is not limited to a subtree).
  const derived = ok(await a.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "below", type: PRODUCTION, permission: READ_ONLY }) { key { id } } }`, { p: manager.key.id }, manager.secret)).deriveKey;
  for (const s of streams) expect((await s.next()).data.keyChanged.id).toBe(derived.key.id);

  // The AUDITOR is disabled: its stream ends at the next event instead of delivering it.
  await b.db.prisma.operator.update({ where: { id: people[2].op.id }, data: { disabled: true } });
  const after = await createKey(a, acct.secret, { name: 'after-disable', type: 'DEVELOPMENT' });
  expect((await streams[0].next()).data.keyChanged.id).toBe(after.key.id);
  await expect(streams[2].next()).rejects.toThrow(/the stream (completed|ended)/);
  await eventually(async () => b.app.live!.openFor(`operator:${people[2].op.id}`) === 0, 15_000, "the disabled operator's subscription released");

  // The other account's owner heard only its own account.
  const own = await createKey(a, other.secret, { name: 'their-own', type: 'DEVELOPMENT' });
  expect((await foreign.next()).data.keyChanged).toMatchObject({ id: own.key.id, name: 'their-own' });
  for (const s of [...streams, foreign]) s.close();
});
