import { Webhook } from 'standardwebhooks';
import { systemResolve } from '../../src/infra/ssrf';
import { configureWebhooks } from '../../src/webhooks/runtime';
import type { Harness } from '../helpers/harness';
import { startReceiver, type Receiver, type Received } from '../helpers/receiver';
import { createEndpoint, createKey, eventually, startIsolatedHarness, type IsolatedDatabase, type IsolatedHarness } from '../helpers/webhooks';

// Secret rotation, test sends, redelivery, the five-day disable and the delivery-time SSRF check.

jest.setTimeout(60_000);

let stack: IsolatedHarness;
let iso: IsolatedDatabase;
let h: Harness;
let rx: Receiver;

beforeAll(async () => {
  stack = await startIsolatedHarness('wh_secrets', { workers: true });
  ({ iso, h } = stack);
});
afterAll(() => stack.close());
beforeEach(async () => {
  rx = await startReceiver();
});
afterEach(async () => {
  configureWebhooks({ resolve: systemResolve });
  await rx.close();
});

const headersOf = (r: Received, signature = r.signature) => ({ 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': signature });
const ROTATE = `mutation($id: ID!, $grace: Int) { rotateWebhookSecret(id: $id, gracePeriodSeconds: $grace) { secret endpoint { id previousSecretExpiresAt } } }`;

test('after rotateWebhookSecret a delivery carries two signatures, one valid for the new secret and one for the old', async () => {
  const acct = await h.newAccount('wh-rotate');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  const r = await h.gql(ROTATE, { id: ep.endpoint.id, grace: 3600 }, acct.secret);
  expect(r.errors).toBeUndefined();
  const fresh = r.data.rotateWebhookSecret.secret as string;
  expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(fresh).not.toBe(ep.secret);
  expect(new Date(r.data.rotateWebhookSecret.endpoint.previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 3500_000);

  await createKey(h, acct.secret);
  await rx.waitFor((x) => x.length >= 1);
  const got = rx.received[0];
  const sigs = got.signature.split(' ');
  expect(sigs).toHaveLength(2);
  expect(() => new Webhook(fresh).verify(got.body, headersOf(got, sigs[0]))).not.toThrow();
  expect(() => new Webhook(ep.secret).verify(got.body, headersOf(got, sigs[1]))).not.toThrow();
  // Each signature is valid for its own secret only.
  expect(() => new Webhook(fresh).verify(got.body, headersOf(got, sigs[1]))).toThrow();
  // A receiver holding either secret accepts the message as sent.
  expect(() => new Webhook(fresh).verify(got.body, headersOf(got))).not.toThrow();
  expect(() => new Webhook(ep.secret).verify(got.body, headersOf(got))).not.toThrow();
});

test('rotating with no grace period signs with the new secret alone; the old one no longer verifies', async () => {
  const acct = await h.newAccount('wh-rotate0');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  const fresh = (await h.gql(ROTATE, { id: ep.endpoint.id, grace: 0 }, acct.secret)).data.rotateWebhookSecret.secret;
  await createKey(h, acct.secret);
  await rx.waitFor((x) => x.length >= 1);
  const got = rx.received[0];
  expect(got.signature.split(' ')).toHaveLength(1);
  expect(() => new Webhook(fresh).verify(got.body, headersOf(got))).not.toThrow();
  expect(() => new Webhook(ep.secret).verify(got.body, headersOf(got))).toThrow();
});

test('sendTestWebhook sends webhook.test to that endpoint alone, and webhookDeliveries shows it with its attempt', async () => {
  const acct = await h.newAccount('wh-test');
  const ep = await createEndpoint(h, acct.secret, { url: `${rx.url}/one`, eventTypes: ['key.created'] });
  await createEndpoint(h, acct.secret, { url: `${rx.url}/two`, eventTypes: ['*'] });
  const sent = await h.gql(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id status event { id type } endpoint { id } } }`, { id: ep.endpoint.id }, acct.secret);
  expect(sent.errors).toBeUndefined();
  expect(sent.data.sendTestWebhook).toMatchObject({ status: 'PENDING', event: { type: 'webhook.test' }, endpoint: { id: ep.endpoint.id } });
  await rx.waitFor((x) => x.length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  expect(rx.received.map((x) => x.path)).toEqual(['/one']);
  expect(rx.received[0].id).toBe(sent.data.sendTestWebhook.event.id);
  expect(JSON.parse(rx.received[0].body)).toMatchObject({ type: 'webhook.test', data: { endpointId: ep.endpoint.id } });

  const list = await eventually(async () => {
    const q = await h.gql(
      `query($ep: ID) { webhookDeliveries(endpointId: $ep, status: SUCCEEDED, first: 10) { edges { node { id status deliveredAt event { id type payload } attempts { statusCode durationMs error responseExcerpt attemptedAt } } } } }`,
      { ep: ep.endpoint.id },
      acct.secret,
    );
    return q.data?.webhookDeliveries.edges.length === 1 && q.data.webhookDeliveries.edges;
  });
  const node = list[0].node;
  expect(node.event.payload).toEqual(JSON.parse(rx.received[0].body));
  expect(node.attempts).toEqual([expect.objectContaining({ statusCode: 200, error: null, responseExcerpt: 'ok' })]);
});

test('redeliverWebhook sends a finished delivery again with the same webhook-id and records the new attempt; a pending one answers CONFLICT', async () => {
  const acct = await h.newAccount('wh-redeliver');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  rx.reply((r) => (r.n === 2 ? { hang: true } : undefined));
  await createKey(h, acct.secret);
  const first = await eventually(async () => {
    const d = await iso.db.prisma.webhookDelivery.findFirst({ where: { endpointId: ep.endpoint.id } });
    return d?.status === 'SUCCEEDED' && d;
  });
  const REDELIVER = `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id status } }`;
  const again = await h.gql(REDELIVER, { id: first.id }, acct.secret);
  expect(again.data.redeliverWebhook).toEqual({ id: first.id, status: 'PENDING' });
  await rx.waitFor((x) => x.length >= 2);
  expect(rx.received[1].id).toBe(rx.received[0].id);
  // The second send hangs: still pending, so another redelivery is refused.
  const busy = await h.gql(REDELIVER, { id: first.id }, acct.secret);
  expect(busy.errors?.[0].extensions?.code).toBe('CONFLICT');
  const audit = await iso.db.prisma.auditEvent.count({ where: { accountId: acct.accountId, action: 'webhookDelivery.redeliver' } });
  expect(audit).toBe(1);
});

test('an endpoint failing for five days is disabled at its next failure, with an ENDPOINT_DISABLED security event', async () => {
  const acct = await h.newAccount('wh-5days');
  const ep = await createEndpoint(h, acct.secret, { url: rx.url, eventTypes: ['key.created'] });
  await iso.db.prisma.webhookEndpoint.update({ where: { id: ep.endpoint.id }, data: { failingSince: new Date(Date.now() - 5 * 86_400_000 - 60_000) } });
  rx.reply(() => ({ status: 500 }));
  await createKey(h, acct.secret);
  const disabled = await eventually(async () => {
    const e = await iso.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: ep.endpoint.id } });
    return !e.enabled && e;
  });
  expect(disabled.disabledReason).toMatch(/every delivery failed since/);
  const events = await iso.db.prisma.securityEvent.findMany({ where: { accountId: acct.accountId, kind: 'ENDPOINT_DISABLED' } });
  expect(events).toHaveLength(1);
  expect(events[0].details).toMatchObject({ endpointId: ep.endpoint.id });
  const d = await iso.db.prisma.webhookDelivery.findFirstOrThrow({ where: { endpointId: ep.endpoint.id } });
  expect(d.status).toBe('FAILED');
  expect(rx.received).toHaveLength(1);
});

test('a host that resolves to the metadata address at delivery time is not contacted (DNS rebinding); the attempt records why', async () => {
  const acct = await h.newAccount('wh-rebind');
  const port = new URL(rx.url).port;
  let lookups = 0;
  configureWebhooks({
    resolve: async (host) => {
      if (host !== 'rebind.test') return systemResolve(host);
      lookups++;
      return [{ address: lookups === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
    },
  });
  const ep = await createEndpoint(h, acct.secret, { url: `http://rebind.test:${port}/`, eventTypes: ['key.created'] });
  await createKey(h, acct.secret);
  const d = await eventually(async () => {
    const x = await iso.db.prisma.webhookDelivery.findFirst({ where: { endpointId: ep.endpoint.id }, include: { attempts: true } });
    return x && x.attempts.length > 0 && x;
  });
  expect(d.attempts[0].statusCode).toBeNull();
  expect(d.attempts[0].error).toMatch(/blocked: .*169\.254\.169\.254 is a cloud metadata address/);
  expect(rx.received).toHaveLength(0);
});
