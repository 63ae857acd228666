import { startHarness, type Harness } from '../helpers/harness';
import { requestFrom } from '../helpers/requests';

// TRUST_PROXY through real connections: Keywarden behind one proxy hop, and behind proxies named
// by CIDR. The caller writes whatever it likes into X-Forwarded-For; only what the trusted
// proxies appended decides its address (for IP allowlists and for the brute-force guard).

const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret } }`;

async function allowlisted(h: Harness, master: string, ip: string): Promise<string> {
  const r = await h.gql(CREATE, { input: { name: 'office', type: 'PRODUCTION', ipAllowlist: [ip] } }, master);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.createKey.secret;
}

function verifyVia(h: Harness, from: string, xff: string | null, body: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (xff !== null) headers['x-forwarded-for'] = xff;
  return requestFrom(`${h.url}/v1/keys/verify`, { localAddress: from, method: 'POST', headers, body: JSON.stringify(body) });
}

describe('TRUST_PROXY=1 (one proxy hop)', () => {
  let h: Harness;
  let secret: string;
  beforeAll(async () => {
    h = await startHarness({ app: { trustProxy: 1, bruteForce: { maxFailures: 3, windowMs: 60_000, blockMs: 60_000 } } });
    secret = await allowlisted(h, (await h.newAccount('tp-hops')).secret, '203.0.113.7');
  });
  afterAll(() => h.close());

  test('the client is the entry the proxy appended; spoofed left-most entries are ignored', async () => {
    expect((await verifyVia(h, '127.0.0.31', '203.0.113.7', { key: secret })).body.code).toBe('VALID');
    expect((await verifyVia(h, '127.0.0.31', '203.0.113.7, 198.51.100.9', { key: secret })).body.code).toBe('IP_NOT_ALLOWED');
    expect((await verifyVia(h, '127.0.0.31', '203.0.113.7, 203.0.113.7, 198.51.100.9', { key: secret })).body.code).toBe('IP_NOT_ALLOWED');
    expect((await verifyVia(h, '127.0.0.31', '198.51.100.9, 203.0.113.7', { key: secret })).body.code).toBe('VALID');
  });

  test('the brute-force guard counts the forwarded client, IPv6 per /64, whatever the left-most entries say', async () => {
    for (let i = 0; i < 3; i++) await verifyVia(h, '127.0.0.32', `198.51.100.${i}, 2001:db8:5:6::${i + 1}`, { key: `ak_prod_${'z'.repeat(40)}${i}` });
    await new Promise((r) => setTimeout(r, 100));
    expect((await verifyVia(h, '127.0.0.32', '203.0.113.1, 2001:db8:5:6:abcd::9', { key: secret })).status).toBe(429);
    // Another /64 behind the same proxy, and the proxy's own address, are not blocked.
    expect((await verifyVia(h, '127.0.0.32', '2001:db8:5:7::1', { key: secret })).status).toBe(200);
    expect((await verifyVia(h, '127.0.0.32', null, { key: secret })).status).toBe(200);
  });
});

describe('TRUST_PROXY as proxy addresses and CIDR ranges', () => {
  let h: Harness;
  let secret: string;
  beforeAll(async () => {
    h = await startHarness({ app: { trustProxy: ['127.0.0.40/30', '10.0.0.0/8'] } });
    secret = await allowlisted(h, (await h.newAccount('tp-cidr')).secret, '203.0.113.8');
  });
  afterAll(() => h.close());

  test('the client is the right-most address that is not a trusted proxy', async () => {
    expect((await verifyVia(h, '127.0.0.41', '203.0.113.8', { key: secret })).body.code).toBe('VALID');
    expect((await verifyVia(h, '127.0.0.41', '203.0.113.8, 10.2.3.4', { key: secret })).body.code).toBe('VALID');
    expect((await verifyVia(h, '127.0.0.41', '203.0.113.8, 198.51.100.9, 10.2.3.4', { key: secret })).body.code).toBe('IP_NOT_ALLOWED');
    expect((await verifyVia(h, '127.0.0.41', '203.0.113.8, 10.9.9.9, 198.51.100.9', { key: secret })).body.code).toBe('IP_NOT_ALLOWED');
  });

  test('a connection from outside the trusted ranges is its own client: its header is ignored', async () => {
    const r = await verifyVia(h, '127.0.0.50', '203.0.113.8', { key: secret });
    expect(r.body.code).toBe('IP_NOT_ALLOWED');
  });
});
