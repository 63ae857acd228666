import { blockedReason, checkUrlAddresses, guardedLookup, type Resolve } from '../../src/infra/ssrf';

// The SSRF guard (README, Configuration: WEBHOOK_ALLOW_PRIVATE_NETWORKS): which addresses a webhook may reach.

const strict = { allowPrivateNetworks: false };
const relaxed = { allowPrivateNetworks: true };

test.each([['8.8.8.8'], ['93.184.216.34'], ['2606:4700:4700::1111'], ['::ffff:8.8.8.8'], ['64:ff9b::808:808']])('public address %s is allowed', (address) => {
  expect(blockedReason(address, strict)).toBeNull();
});

test.each([
  ['127.0.0.1', 'loopback'],
  ['127.8.9.10', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.5.4', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['224.0.0.251', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['0.0.0.0', 'unspecified'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.10', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fd00::1', 'unique local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:10.1.1.1', 'private'],
  ['64:ff9b::a00:1', 'private'],
])('%s is refused as %s unless private networks are allowed', (address, kind) => {
  expect(blockedReason(address, strict)).toContain(kind);
  expect(blockedReason(address, strict)).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS');
  expect(blockedReason(address, relaxed)).toBeNull();
});

test.each([
  ['169.254.169.254', 'metadata'],
  ['169.254.0.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fd00:ec2::254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['64:ff9b::a9fe:a9fe', 'metadata'],
])('%s is always refused (%s), private networks allowed or not', (address, kind) => {
  expect(blockedReason(address, relaxed)).toContain(kind);
  expect(blockedReason(address, strict)).toContain(kind);
});

const fake =
  (table: Record<string, string[]>): Resolve =>
  async (host) =>
    (table[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

test('a name is refused when any of its addresses is blocked', async () => {
  const resolve = fake({ 'mixed.test': ['93.184.216.34', '10.0.0.5'], 'public.test': ['93.184.216.34', '2606:4700::1'] });
  await expect(checkUrlAddresses(new URL('https://mixed.test/x'), strict, resolve)).rejects.toThrow(/mixed.test resolves to 10.0.0.5/);
  await expect(checkUrlAddresses(new URL('https://public.test/x'), strict, resolve)).resolves.toEqual({ addresses: ['93.184.216.34', '2606:4700::1'] });
  await expect(checkUrlAddresses(new URL('https://nothing.test/'), strict, resolve)).rejects.toThrow(/does not resolve/);
  await expect(checkUrlAddresses(new URL('http://[::1]:8080/'), strict, resolve)).rejects.toThrow(/loopback/);
});

function lookupOnce(resolve: Resolve, options: object): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
  return new Promise((done) => guardedLookup(strict, resolve)('host.test', options, (err, address, family) => done({ err, address, family })));
}

test('the connection-time lookup hands the socket exactly the checked addresses, and refuses a rebound name', async () => {
  let answer = ['93.184.216.34'];
  const resolve: Resolve = async () => answer.map((address) => ({ address, family: 4 }));
  expect(await lookupOnce(resolve, {})).toEqual({ err: null, address: '93.184.216.34', family: 4 });
  expect(await lookupOnce(resolve, { all: true })).toEqual({ err: null, address: [{ address: '93.184.216.34', family: 4 }], family: undefined });
  answer = ['169.254.169.254'];
  const refused = await lookupOnce(resolve, {});
  expect(refused.err?.code).toBe('EBLOCKEDADDRESS');
  expect(refused.err?.message).toContain('metadata');
});
