import { startHarness, type Harness } from '../helpers/harness';

// The admin API raises the events verification raises for the same key uses, through the same
// recorder and detectors: ROTATED_KEY_USED for a key in its rotation grace, EMERGENCY_KEY_USED
// (and rotation due at once) for an EMERGENCY key, FAILED_AUTH_BURST for a known key refused
// again and again. Requests go over HTTP, so the admin API sees the caller's address.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ app: { detectors: { windowMs: 60_000, rateLimitThreshold: 10, failedAuthThreshold: 3 } } });
});
afterAll(() => h.close());

const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;

async function admin(secret: string, query = '{ viewer { key { id } } }') {
  const res = await fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, body: JSON.stringify({ query }) });
  return { status: res.status, ...((await res.json()) as any) };
}

async function create(master: string, input: Record<string, unknown>): Promise<{ secret: string; id: string }> {
  const r = await h.gql(CREATE, { input: { name: 'k', type: 'PRODUCTION', ...input } }, master);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret, id: r.data.createKey.key.id };
}

/** Security events of `kind` for `keyId`, once the detectors' off-path work has landed. */
async function eventsOf(keyId: string, kind: string) {
  await h.app.uses.drain();
  for (let i = 0; i < 100; i++) {
    const events = await h.db.prisma.securityEvent.findMany({ where: { keyId, kind: kind as never } });
    if (events.length > 0) return events;
    await new Promise((r) => setTimeout(r, 50));
  }
  return [];
}

test('an admin request with a key in its rotation grace raises ROTATED_KEY_USED with the caller address', async () => {
  const acct = await h.newAccount('adm-rotated');
  const old = await create(acct.secret, { permission: 'MANAGE' });
  const rotated = await h.gql(`mutation($id: ID!) { rotateKey(id: $id, gracePeriodSeconds: 3600) { secret } }`, { id: old.id }, acct.secret);
  expect(rotated.errors).toBeUndefined();
  expect((await admin(old.secret)).data.viewer.key.id).toBe(old.id);
  const events = await eventsOf(old.id, 'ROTATED_KEY_USED');
  expect(events.map((e) => e.ip)).toEqual(['127.0.0.1']);
});

test('an admin request with an EMERGENCY key raises EMERGENCY_KEY_USED and makes its rotation due', async () => {
  const acct = await h.newAccount('adm-emergency');
  const k = await create(acct.secret, { type: 'EMERGENCY', ipAllowlist: ['127.0.0.1'] });
  expect((await admin(k.secret)).data.viewer.key.id).toBe(k.id);
  expect(await eventsOf(k.id, 'EMERGENCY_KEY_USED')).toHaveLength(1);
  const after = await h.db.prisma.apiKey.findUniqueOrThrow({ where: { id: k.id } });
  expect(after.rotationDueAt!.getTime()).toBeLessThanOrEqual(Date.now());
});

test('a known key refused by the admin API again and again raises FAILED_AUTH_BURST', async () => {
  const acct = await h.newAccount('adm-burst');
  const k = await create(acct.secret, { ipAllowlist: ['192.0.2.1'] });
  for (let i = 0; i < 3; i++) expect((await admin(k.secret)).status).toBe(401);
  const events = await eventsOf(k.id, 'FAILED_AUTH_BURST');
  expect(events).toHaveLength(1);
  expect(events[0].details).toMatchObject({ lastCode: 'IP_NOT_ALLOWED' });
});
