import { clock } from '../../src/infra/clock';
import { HostnameResolver, setSharedHostnameResolver } from '../../src/infra/hostnames';
import { startHarness, type Harness } from '../helpers/harness';
import { requestFrom } from '../helpers/requests';

// Restrictions and limits through POST /v1/keys/verify (README, Verification and the gateway).

let h: Harness;
let acct: { accountId: string; secret: string };
const CREATE = `mutation($input: CreateKeyInput!) { createKey(input: $input) { secret key { id } } }`;

async function key(input: Record<string, unknown>) {
  const r = await h.gql(CREATE, { input: { name: 'k', type: 'PRODUCTION', ...input } }, acct.secret);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { secret: r.data.createKey.secret as string, id: r.data.createKey.key.id as string };
}
async function createErrors(input: Record<string, unknown>) {
  const r = await h.gql(CREATE, { input: { name: 'k', type: 'PRODUCTION', ...input } }, acct.secret);
  return r.errors?.[0];
}

beforeAll(async () => {
  setSharedHostnameResolver(
    new HostnameResolver({
      resolve: async (host, family) => (host === 'office.example.test' && family === 4 ? [{ address: '203.0.113.50', ttl: 30 }] : []),
    }),
  );
  h = await startHarness({ app: { bruteForce: { maxFailures: 5, windowMs: 60_000, blockMs: 120_000 } } });
  acct = await h.newAccount('restrict');
});
afterAll(async () => {
  setSharedHostnameResolver(undefined);
  await h.close();
});
afterEach(() => clock.reset());

/** POST /v1/keys/verify over a connection from `localAddress` (any 127.0.0.0/8 address is loopback). */
function verifyFrom(localAddress: string, body: unknown) {
  return requestFrom(`${h.url}/v1/keys/verify`, { localAddress, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

describe('rate limits, quota and bandwidth', () => {
  test('a limit of N allows exactly N and denies N+1 with RATE_LIMITED; denied requests are not counted', async () => {
    const k = await key({
      rateLimits: [
        { window: 'MINUTE', limit: 3 },
        { window: 'HOUR', limit: 100 },
      ],
    });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await h.verify({ key: k.secret })).body);
    expect(codes.map((c) => c.code)).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(codes[0].ratelimits).toEqual([expect.objectContaining({ window: 'MINUTE', limit: 3, remaining: 2 }), expect.objectContaining({ window: 'HOUR', limit: 100, remaining: 99 })]);
    // The two denials consumed nothing from the hour window.
    expect(codes[4].ratelimits.find((r: any) => r.window === 'HOUR').remaining).toBe(97);
  });

  test('quota units are spent by cost; cost 0 checks without spending', async () => {
    const k = await key({ quota: { units: 10, period: 'DAY' }, rateLimits: [] });
    expect((await h.verify({ key: k.secret, cost: 4 })).body.quota).toMatchObject({ limit: 10, remaining: 6 });
    expect((await h.verify({ key: k.secret, cost: 0 })).body.quota).toMatchObject({ remaining: 6 });
    expect((await h.verify({ key: k.secret, cost: 6 })).body).toMatchObject({ code: 'VALID', quota: { remaining: 0 } });
    expect((await h.verify({ key: k.secret, cost: 1 })).body.code).toBe('QUOTA_EXCEEDED');
  });

  test('bandwidth bytes are counted and refused past the limit', async () => {
    const k = await key({ bandwidth: { bytes: 1000, period: 'DAY' }, rateLimits: [] });
    expect((await h.verify({ key: k.secret, bytes: 600 })).body.code).toBe('VALID');
    expect((await h.verify({ key: k.secret, bytes: 600 })).body.code).toBe('BANDWIDTH_EXCEEDED');
    expect((await h.verify({ key: k.secret, bytes: 400 })).body.code).toBe('VALID');
  });

  test('a request that fails a check before the limits is not counted', async () => {
    const k = await key({ permission: 'READ_ONLY', rateLimits: [{ window: 'MINUTE', limit: 2 }] });
    for (let i = 0; i < 5; i++) expect((await h.verify({ key: k.secret, permission: 'EXECUTE' })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await h.verify({ key: k.secret })).body).toMatchObject({ code: 'VALID', ratelimits: [expect.objectContaining({ remaining: 1 })] });
  });

  test('a cached verification costs exactly one Redis command and no database query', async () => {
    const k = await key({
      rateLimits: [
        { window: 'MINUTE', limit: 1000 },
        { window: 'HOUR', limit: 10000 },
      ],
      quota: { units: 100000, period: 'MONTH' },
    });
    await h.verify({ key: k.secret });
    // Usage tallies go to Redis once a second for all requests together; pause that here so
    // the count shows what each verification itself costs.
    await h.app.usage.stop();
    let commands = 0;
    const original = h.redis.sendCommand.bind(h.redis);
    h.redis.sendCommand = ((cmd: any, stream?: any) => {
      commands++;
      return original(cmd, stream);
    }) as typeof h.redis.sendCommand;
    const queries = h.db.queryCount();
    try {
      for (let i = 0; i < 10; i++) expect((await h.verify({ key: k.secret })).body.code).toBe('VALID');
    } finally {
      h.redis.sendCommand = original;
      h.app.usage.start();
    }
    expect(commands).toBe(10);
    expect(h.db.queryCount()).toBe(queries);
  });
});

describe('access windows, countries, conditions, hostnames', () => {
  test('outside every access window answers OUTSIDE_ACCESS_WINDOW; inside answers VALID', async () => {
    const now = new Date();
    const day = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][now.getUTCDay()];
    const other = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][(now.getUTCDay() + 3) % 7];
    const inside = await key({ accessWindows: [{ days: [day, other], start: '00:00', end: '24:00', timeZone: 'UTC' }] });
    const outside = await key({ accessWindows: [{ days: [other], start: '00:00', end: '24:00', timeZone: 'UTC' }] });
    expect((await h.verify({ key: inside.secret })).body.code).toBe('VALID');
    expect((await h.verify({ key: outside.secret })).body.code).toBe('OUTSIDE_ACCESS_WINDOW');
  });

  test('allowed countries come from the offline GeoIP data', async () => {
    const k = await key({ allowedCountries: ['US'] });
    expect((await h.verify({ key: k.secret, ip: '8.8.8.8' })).body.code).toBe('VALID');
    expect((await h.verify({ key: k.secret, ip: '10.0.0.1' })).body.code).toBe('COUNTRY_NOT_ALLOWED');
  });

  test('a CEL condition over request and key attributes decides; an evaluation error denies', async () => {
    const k = await key({ condition: 'request.ip.startsWith("10.") && key.metadata.team == "ml"', metadata: { team: 'ml' } });
    expect((await h.verify({ key: k.secret, ip: '10.1.2.3' })).body.code).toBe('VALID');
    expect((await h.verify({ key: k.secret, ip: '192.0.2.1' })).body.code).toBe('CONDITION_FAILED');
    const missing = await key({ condition: 'key.metadata.absent == "x"' });
    expect((await h.verify({ key: missing.secret })).body.code).toBe('CONDITION_FAILED');
  });

  test('a hostname in the IP allowlist matches the addresses it resolves to', async () => {
    const k = await key({ ipAllowlist: ['office.example.test'] });
    expect((await h.verify({ key: k.secret, ip: '203.0.113.50' })).body.code).toBe('VALID');
    expect((await h.verify({ key: k.secret, ip: '203.0.113.51' })).body.code).toBe('IP_NOT_ALLOWED');
  });

  test.each([
    [{ condition: 'request.ip +' }, 'input.condition'],
    [{ condition: 'request.ip + 1 == 2' }, 'input.condition'],
    [{ condition: 'nosuchvar == 1' }, 'input.condition'],
    [{ allowedCountries: ['XX'] }, 'input.allowedCountries[0]'],
    [{ accessWindows: [{ days: ['MON'], start: '9:00', end: '17:00', timeZone: 'UTC' }] }, 'input.accessWindows[0].start'],
    [{ accessWindows: [{ days: ['MON'], start: '09:00', end: '17:00', timeZone: 'Mars/Olympus' }] }, 'input.accessWindows[0].timeZone'],
    [{ rateLimits: [{ window: 'MINUTE', limit: 0 }] }, 'input.rateLimits[0].limit'],
    [{ rateLimits: [{ window: 'MINUTE', limit: -5 }] }, 'input.rateLimits[0].limit'],
    [{ quota: { units: 0, period: 'DAY' } }, 'input.quota.units'],
    [{ maxConcurrent: 0 }, 'input.maxConcurrent'],
    [{ ipAllowlist: ['nowhere.example.test'] }, 'input.ipAllowlist[0]'],
  ])('%j answers BAD_USER_INPUT naming %s', async (input, field) => {
    const before = await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } });
    const err = await createErrors(input);
    expect(err?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(err?.message).toContain(field);
    expect(await h.db.prisma.apiKey.count({ where: { accountId: acct.accountId } })).toBe(before);
  });
});

describe('brute-force protection', () => {
  // Failures count under the address the request came from (the connection's, or the trusted
  // proxies' view of it), never under the body's `ip`, which only feeds the policy. Every
  // 127.0.0.0/8 address is loopback, so each test connects from addresses of its own.
  const unknown = (tag: string, i: number) => `ak_prod_${tag.repeat(40)}${i}`;

  test('a connection that keeps presenting unknown keys gets 429 TOO_MANY_FAILED_ATTEMPTS with Retry-After; other connections do not', async () => {
    const k = await key({});
    for (let i = 0; i < 5; i++) expect((await verifyFrom('127.0.0.21', { key: unknown('x', i) })).status).toBe(200);
    // The counter's script runs off the response path: give it a moment.
    await new Promise((r) => setTimeout(r, 100));
    const blocked = await verifyFrom('127.0.0.21', { key: k.secret });
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('120');
    expect(blocked.body).toMatchObject({ code: 'TOO_MANY_FAILED_ATTEMPTS' });
    expect((await verifyFrom('127.0.0.22', { key: k.secret })).body.code).toBe('VALID');
  });

  test("rotating the body's ip does not escape the block: failures count under the connection", async () => {
    const k = await key({});
    for (let i = 0; i < 5; i++) await verifyFrom('127.0.0.23', { key: unknown('r', i), ip: `198.51.100.${100 + i}` });
    await new Promise((r) => setTimeout(r, 100));
    expect((await verifyFrom('127.0.0.23', { key: k.secret, ip: '198.51.100.200' })).status).toBe(429);
    expect((await verifyFrom('127.0.0.23', { key: k.secret, ip: '2001:db8::1' })).status).toBe(429);
  });

  test("naming another address in the body's ip does not block that address", async () => {
    const k = await key({});
    for (let i = 0; i < 6; i++) await verifyFrom('127.0.0.24', { key: unknown('v', i), ip: '127.0.0.25' });
    for (let i = 0; i < 6; i++) await verifyFrom('127.0.0.24', { key: unknown('w', i), ip: '203.0.113.25' });
    await new Promise((r) => setTimeout(r, 100));
    // The victim, by its connection and as a policy ip, verifies as usual.
    expect((await verifyFrom('127.0.0.25', { key: k.secret })).body.code).toBe('VALID');
    expect((await verifyFrom('127.0.0.26', { key: k.secret, ip: '203.0.113.25' })).body.code).toBe('VALID');
    // Nor at the gateway, which shares the guard; the flooding connection is blocked there too.
    const gateway = (from: string) => requestFrom(`${h.url}/v1/agents/nowhere/x`, { localAddress: from, headers: { authorization: `Bearer ${k.secret}` } });
    expect((await gateway('127.0.0.25')).status).not.toBe(429);
    expect((await gateway('127.0.0.24')).status).toBe(429);
  });

  test('a block lasts blockMs on the process clock, which every stage of a verification reads', async () => {
    const k = await key({});
    for (let i = 0; i < 5; i++) await verifyFrom('127.0.0.27', { key: unknown('y', i) });
    await new Promise((r) => setTimeout(r, 100));
    expect((await verifyFrom('127.0.0.27', { key: k.secret })).status).toBe(429);
    clock.advance(119_000);
    expect((await verifyFrom('127.0.0.27', { key: k.secret })).status).toBe(429);
    clock.advance(1_000);
    expect((await verifyFrom('127.0.0.27', { key: k.secret })).body.code).toBe('VALID');
  });

  test('an unknown key is negatively cached: repeats read no database', async () => {
    const unknown = 'ak_prod_' + 'A'.repeat(43);
    const { checksumOf } = await import('../../src/keys/secret');
    const secret = unknown + checksumOf(unknown);
    await h.verify({ key: secret, ip: '198.51.100.90' });
    const q = h.db.queryCount();
    await h.verify({ key: secret, ip: '198.51.100.91' });
    expect(h.db.queryCount()).toBe(q);
  });
});
