import { configureWebhooks } from '../../src/webhooks/runtime';
import { decryptSecret } from '../../src/webhooks/secrets';
import { startHarness, type Harness } from '../helpers/harness';
import { CREATE_ENDPOINT, configureTestWebhooks, createEndpoint, createKey } from '../helpers/webhooks';

// Endpoint management through GraphQL (README, Webhooks and workers): master keys only, secrets shown once and
// stored encrypted, an audit event per change, BAD_USER_INPUT naming the field, tenancy.
// No workers here: these tests look at what the API commits.

let h: Harness;
beforeAll(async () => {
  configureTestWebhooks();
  h = await startHarness();
});
afterAll(() => h.close());
afterEach(() => configureWebhooks({ allowPrivateNetworks: true }));

const counts = async (accountId: string) => ({
  endpoints: await h.db.prisma.webhookEndpoint.count({ where: { accountId } }),
  audit: await h.db.prisma.auditEvent.count({ where: { accountId } }),
});

test('createWebhookEndpoint shows a whsec_ secret once, stores it only encrypted, and writes an audit event', async () => {
  const acct = await h.newAccount('ep-create');
  const created = await createEndpoint(h, acct.secret, { url: 'http://127.0.0.1:9/hook', eventTypes: ['key.*', 'security.alert'], description: ' alerts ' });
  expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);
  expect(created.endpoint).toMatchObject({ url: 'http://127.0.0.1:9/hook', eventTypes: ['key.*', 'security.alert'], description: 'alerts', enabled: true, disabledReason: null });

  const row = await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: created.endpoint.id } });
  expect(row.secretCiphertext).not.toContain(created.secret.slice(6, 20));
  expect(decryptSecret(row.secretCiphertext, row.id)).toBe(created.secret);
  // Bound to its endpoint: the same ciphertext does not open under another id.
  expect(() => decryptSecret(row.secretCiphertext, '00000000-0000-0000-0000-000000000000')).toThrow();

  const audit = await h.db.prisma.auditEvent.findFirstOrThrow({ where: { accountId: acct.accountId, action: 'webhookEndpoint.create' } });
  expect(audit.targetId).toBe(created.endpoint.id);
  expect(JSON.stringify(audit.after)).not.toContain('whsec_');
  expect(JSON.stringify(audit.after)).not.toContain(row.secretCiphertext);

  const list = await h.gql(`{ webhookEndpoints { id url } }`, {}, acct.secret);
  expect(list.data.webhookEndpoints).toEqual([{ id: created.endpoint.id, url: 'http://127.0.0.1:9/hook' }]);
  expect(JSON.stringify(list)).not.toContain('whsec_');
});

const badInputs: [string, Record<string, unknown>, string, RegExp][] = [
  ['an invalid URL', { url: 'not a url' }, 'input.url', /not a valid URL/],
  ['a non-http scheme', { url: 'ftp://127.0.0.1/x' }, 'input.url', /http or https/],
  ['a file URL', { url: 'file:///etc/passwd' }, 'input.url', /http or https/],
  ['credentials in the URL', { url: 'http://user:pw@127.0.0.1/' }, 'input.url', /credentials/],
  ['the cloud metadata address', { url: 'http://169.254.169.254/latest/meta-data' }, 'input.url', /blocked address: .*metadata/],
  ['a link-local IPv6 address', { url: 'http://[fe80::1]/' }, 'input.url', /blocked address: .*link-local/],
  ['metadata as IPv4-mapped IPv6', { url: 'http://[::ffff:169.254.169.254]/' }, 'input.url', /blocked address/],
  ['an unknown event type', { eventTypes: ['key.created', 'key.exploded'] }, 'input.eventTypes[1]', /unknown event type "key.exploded"/],
  ['an unknown prefix', { eventTypes: ['agent.*'] }, 'input.eventTypes[0]', /unknown event type/],
  ['empty eventTypes', { eventTypes: [] }, 'input.eventTypes', /at least one event type/],
];

test.each(badInputs)('%s answers BAD_USER_INPUT naming the field and writes nothing', async (_label, input, field, message) => {
  const acct = await h.newAccount('ep-bad');
  const before = await counts(acct.accountId);
  const r = await h.gql(CREATE_ENDPOINT, { input: { url: 'http://127.0.0.1:9/', eventTypes: ['*'], ...input } }, acct.secret);
  expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(r.errors?.[0].message).toMatch(message);
  expect(await counts(acct.accountId)).toEqual(before);
});

test.each([
  ['a loopback URL', 'http://127.0.0.1:8080/'],
  ['a localhost URL', 'http://localhost:8080/'],
  ['a 10/8 private URL', 'http://10.1.2.3/'],
  ['a 192.168/16 private URL', 'http://192.168.0.10/'],
  ['a CGNAT URL', 'http://100.64.1.1/'],
  ['an IPv6 loopback URL', 'http://[::1]/'],
  ['an IPv6 unique local URL', 'http://[fd12:3456::1]/'],
  ['a multicast URL', 'http://224.0.0.1/'],
  ['a reserved-range URL', 'http://240.0.0.1/'],
  ['a decimal-encoded loopback URL', 'http://2130706433/'],
])('%s is refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS, then accepted', async (_label, url) => {
  const acct = await h.newAccount('ep-ssrf');
  configureWebhooks({ allowPrivateNetworks: false });
  const refused = await h.gql(CREATE_ENDPOINT, { input: { url, eventTypes: ['*'] } }, acct.secret);
  expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
  expect(refused.errors?.[0].message).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS/);
  configureWebhooks({ allowPrivateNetworks: true });
  const accepted = await h.gql(CREATE_ENDPOINT, { input: { url, eventTypes: ['*'] } }, acct.secret);
  expect(accepted.errors).toBeUndefined();
});

test('link-local and metadata addresses stay refused even with private networks allowed', async () => {
  const acct = await h.newAccount('ep-metadata');
  for (const url of ['http://169.254.169.254/', 'http://169.254.1.1/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/']) {
    const r = await h.gql(CREATE_ENDPOINT, { input: { url, eventTypes: ['*'] } }, acct.secret);
    expect([url, r.errors?.[0].extensions?.code]).toEqual([url, 'BAD_USER_INPUT']);
  }
});

test('update, rotate, test and delete write one audit event each; bad update input writes nothing', async () => {
  const acct = await h.newAccount('ep-audit');
  const ep = await createEndpoint(h, acct.secret, { url: 'http://127.0.0.1:9/' });
  const id = ep.endpoint.id;
  const upd = await h.gql(
    `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { eventTypes: ["key.revoked"], description: "d", enabled: false }) { eventTypes description enabled disabledReason } }`,
    { id },
    acct.secret,
  );
  expect(upd.data.updateWebhookEndpoint).toEqual({ eventTypes: ['key.revoked'], description: 'd', enabled: false, disabledReason: 'disabled by an administrator' });
  const reenabled = await h.gql(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: true }) { enabled disabledReason } }`, { id }, acct.secret);
  expect(reenabled.data.updateWebhookEndpoint).toEqual({ enabled: true, disabledReason: null });
  const before = await counts(acct.accountId);
  const bad = await h.gql(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { url: "gopher://x" }) { id } }`, { id }, acct.secret);
  expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
  expect(await counts(acct.accountId)).toEqual(before);
  await h.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id }, acct.secret);
  await h.gql(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id }, acct.secret);
  const del = await h.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id }, acct.secret);
  expect(del.data.deleteWebhookEndpoint).toBe(true);
  const actions = (await h.db.prisma.auditEvent.findMany({ where: { accountId: acct.accountId, targetId: id }, orderBy: { sequence: 'asc' } })).map((a) => a.action);
  expect(actions).toEqual(['webhookEndpoint.create', 'webhookEndpoint.update', 'webhookEndpoint.update', 'webhookEndpoint.rotateSecret', 'webhookEndpoint.test', 'webhookEndpoint.delete']);
  expect(await h.db.prisma.webhookEndpoint.count({ where: { id } })).toBe(0);
});

test("another account's endpoint or delivery answers NOT_FOUND, and only master keys may manage webhooks", async () => {
  const owner = await h.newAccount('ep-owner');
  const ep = await createEndpoint(h, owner.secret, { url: 'http://127.0.0.1:9/' });
  const delivery = (await h.gql(`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: ep.endpoint.id }, owner.secret)).data.sendTestWebhook.id;
  const stranger = await h.newAccount('ep-stranger');
  for (const [q, vars] of [
    [`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { description: "x" }) { id } }`, { id: ep.endpoint.id }],
    [`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: ep.endpoint.id }],
    [`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, { id: ep.endpoint.id }],
    [`mutation($id: ID!) { sendTestWebhook(endpointId: $id) { id } }`, { id: ep.endpoint.id }],
    [`mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }`, { id: delivery }],
  ] as const) {
    const r = await h.gql(q, vars, stranger.secret);
    expect([q, r.errors?.[0].extensions?.code]).toEqual([q, 'NOT_FOUND']);
  }
  expect((await h.gql(`{ webhookEndpoints { id } }`, {}, stranger.secret)).data.webhookEndpoints).toEqual([]);
  expect((await h.gql(`{ webhookDeliveries(first: 5) { edges { node { id } } } }`, {}, stranger.secret)).data.webhookDeliveries.edges).toEqual([]);

  const manager = await createKey(h, owner.secret, { permission: 'MANAGE' });
  const r = await h.gql(CREATE_ENDPOINT, { input: { url: 'http://127.0.0.1:9/', eventTypes: ['*'] } }, manager.secret);
  expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  expect((await h.gql(`{ webhookEndpoints { id } }`, {}, manager.secret)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
});

test('key mutations write their outbox event in the same transaction: none for a change that failed, no secret or digest in any', async () => {
  const acct = await h.newAccount('ep-outbox');
  const k = await createKey(h, acct.secret, { permission: 'MANAGE' });
  await h.gql(`mutation($id: ID!) { updateKey(id: $id, input: { name: "renamed" }) { id } }`, { id: k.key.id }, acct.secret);
  const child = (await h.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "c", type: PRODUCTION, permission: READ_ONLY }) { secret key { id } } }`, { p: k.key.id }, acct.secret)).data.deriveKey;
  const rotated = (await h.gql(`mutation($id: ID!) { rotateKey(id: $id) { secret key { id } } }`, { id: k.key.id }, acct.secret)).data.rotateKey;
  await h.gql(`mutation($id: ID!) { revokeKey(id: $id) { id } }`, { id: rotated.key.id }, acct.secret);
  // Refused (EXCEEDS_PARENT): rolled back, so no event either.
  const refused = await h.gql(`mutation($id: ID!) { updateKey(id: $id, input: { permission: FULL_ACCESS }) { id } }`, { id: child.key.id }, acct.secret);
  expect(refused.errors?.[0].extensions?.code).toBeDefined();

  const events = await h.db.prisma.outboxEvent.findMany({ where: { accountId: acct.accountId }, orderBy: { createdAt: 'asc' } });
  const types = events.map((e) => `${e.type}:${(e.data as any).key?.id ?? (e.data as any).kind}`);
  expect(types).toEqual(
    expect.arrayContaining([`key.created:${k.key.id}`, `key.updated:${k.key.id}`, `key.created:${child.key.id}`, `key.rotated:${rotated.key.id}`, `key.revoked:${rotated.key.id}`, `key.revoked:${child.key.id}`]),
  );
  expect(events.filter((e) => e.type === 'key.updated')).toHaveLength(1);
  const revokedChild = events.find((e) => e.type === 'key.revoked' && (e.data as any).key.id === child.key.id)!;
  expect((revokedChild.data as any).cascadedFrom).toBe(rotated.key.id);
  const text = JSON.stringify(events);
  for (const secret of [k.secret, child.secret, rotated.secret]) expect(text).not.toContain(secret.slice(8));
  const digests = await h.db.prisma.apiKey.findMany({ where: { accountId: acct.accountId }, select: { digest: true } });
  for (const d of digests) expect(text).not.toContain(d.digest);
});

test('a security event is also written as a security.alert outbox event with its kind and severity', async () => {
  const acct = await h.newAccount('ep-alert');
  const parent = await createKey(h, acct.secret, { permission: 'EXECUTE' });
  const r = await h.gql(`mutation($p: ID!) { deriveKey(parentId: $p, input: { name: "c", type: PRODUCTION, permission: FULL_ACCESS }) { secret } }`, { p: parent.key.id }, acct.secret);
  expect(r.errors?.[0].extensions?.code).toBe('EXCEEDS_PARENT');
  const alerts = await h.db.prisma.outboxEvent.findMany({ where: { accountId: acct.accountId, type: 'security.alert' } });
  expect(alerts).toHaveLength(1);
  expect(alerts[0].data).toMatchObject({ kind: 'PRIVILEGE_ESCALATION', severity: 'HIGH', keyId: parent.key.id });
});
