import { ipInRanges, parseAllowlistEntry, parseIp, type IpRange } from '../../src/access/ip';

function range(entry: string): IpRange {
  const parsed = parseAllowlistEntry(entry);
  if (!parsed.ok) throw new Error(`test setup: ${entry} did not parse: ${parsed.error}`);
  return parsed.range;
}

describe('parseAllowlistEntry accepts addresses and ranges', () => {
  test.each<[string, string, string, 'ipv4' | 'ipv6', number]>([
    ['a single IPv4 address', '203.0.113.7', '203.0.113.7', 'ipv4', 32],
    ['an IPv4 address with surrounding spaces', '  203.0.113.7 ', '203.0.113.7', 'ipv4', 32],
    ['0.0.0.0', '0.0.0.0', '0.0.0.0', 'ipv4', 32],
    ['255.255.255.255', '255.255.255.255', '255.255.255.255', 'ipv4', 32],
    ['a full IPv6 address', '2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1', 'ipv6', 128],
    ['a compressed IPv6 address', '2001:db8::1', '2001:db8::1', 'ipv6', 128],
    ['an upper-case IPv6 address', '2001:DB8::ABCD', '2001:db8::abcd', 'ipv6', 128],
    ['the IPv6 loopback', '::1', '::1', 'ipv6', 128],
    ['an IPv4 CIDR', '10.0.0.0/8', '10.0.0.0/8', 'ipv4', 8],
    ['an IPv4 /32', '198.51.100.4/32', '198.51.100.4/32', 'ipv4', 32],
    ['an IPv4 /0', '0.0.0.0/0', '0.0.0.0/0', 'ipv4', 0],
    ['an IPv6 CIDR', '2001:db8::/32', '2001:db8::/32', 'ipv6', 32],
    ['an IPv6 /128', '2001:db8::7/128', '2001:db8::7/128', 'ipv6', 128],
    ['an IPv6 /0', '::/0', '::/0', 'ipv6', 0],
    ['an IPv4-mapped IPv6 address (counts as its IPv4 address)', '::ffff:203.0.113.7', '203.0.113.7', 'ipv4', 32],
    ['an IPv4-mapped IPv6 address in hex form', '::ffff:cb00:7107', '203.0.113.7', 'ipv4', 32],
    ['an IPv4-mapped IPv6 range /104 (= IPv4 /8)', '::ffff:10.0.0.0/104', '10.0.0.0/8', 'ipv4', 8],
    ['an IPv4-mapped IPv6 range /128 (= IPv4 /32)', '::ffff:10.1.2.3/128', '10.1.2.3/32', 'ipv4', 32],
  ])('%s: %j -> %j', (_label, input, normalized, kind, bits) => {
    const parsed = parseAllowlistEntry(input);
    expect(parsed).toMatchObject({ ok: true, normalized });
    if (!parsed.ok) return;
    expect(parsed.range.kind).toBe(kind);
    expect(parsed.range.bits).toBe(bits);
  });
});

describe('parseAllowlistEntry clears host bits in CIDR ranges', () => {
  test.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.168.1.77/24', '192.168.1.0/24'],
    ['172.16.255.255/12', '172.16.0.0/12'],
    ['203.0.113.129/25', '203.0.113.128/25'],
    ['203.0.113.7/31', '203.0.113.6/31'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['2001:db8:abcd:1234::1/32', '2001:db8::/32'],
    ['2001:db8:abcd:12ff::1/56', '2001:db8:abcd:1200::/56'],
    ['2001:db8::ffff/127', '2001:db8::fffe/127'],
    ['::ffff:10.9.8.7/104', '10.0.0.0/8'],
  ])('%j is normalized to %j', (input, normalized) => {
    const parsed = parseAllowlistEntry(input);
    expect(parsed).toMatchObject({ ok: true, normalized });
    if (parsed.ok) expect(parsed.range.addr.toString()).toBe(normalized.split('/')[0]);
  });

  test('a range with host bits set still matches every address of the network', () => {
    const r = range('10.1.2.3/8');
    expect(ipInRanges('10.0.0.1', [r])).toBe(true);
    expect(ipInRanges('10.255.255.255', [r])).toBe(true);
    expect(ipInRanges('11.0.0.0', [r])).toBe(false);
  });
});

describe('parseAllowlistEntry rejects what is not an IP address or CIDR range', () => {
  test.each([
    ['a bare number', '10'],
    ['a hex IPv4 spelling', '0x7f.0.0.1'],
    ['an all-hex IPv4 spelling', '0x7f000001'],
    ['a decimal integer address', '2130706433'],
    ['a three-part IPv4', '127.0.1'],
    ['a two-part IPv4', '127.1'],
    ['an octal-looking IPv4', '010.0.0.1'],
    ['an IPv4 octet above 255', '256.1.1.1'],
    ['an IPv4 prefix above 32', '1.2.3.4/33'],
    ['an IPv6 prefix above 128', '::/129'],
    ['a negative prefix', '1.2.3.4/-1'],
    ['an empty prefix', '1.2.3.4/'],
    ['a prefix that is not a number', '1.2.3.4/abc'],
    ['a prefix without an address', '/8'],
    ['two prefixes', '1.2.3.4/32/1'],
    ['a hex address in a CIDR', '0x7f.0.0.1/8'],
    ['the empty string', ''],
    ['only whitespace', '   '],
    ['a hostname', 'example.com'],
    ['localhost', 'localhost'],
    ['an address with a port', '1.2.3.4:80'],
    ['a range written with a dash', '10.0.0.1-10.0.0.9'],
    ['a wildcard', '10.0.0.*'],
    ['an IPv6 address with two ::', '2001::db8::1'],
    ['garbage', 'not an ip'],
  ])('%s (%j)', (_label, input) => {
    const parsed = parseAllowlistEntry(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
  });

  test('the error message quotes the offending entry', () => {
    const parsed = parseAllowlistEntry('1.2.3.4/33');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain('1.2.3.4/33');
  });
});

describe('parseIp', () => {
  test.each([
    ['10.1.2.3', '10.1.2.3'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8::1', '2001:db8::1'],
  ])('parses %j as %j', (input, expected) => {
    expect(parseIp(input)?.toString()).toBe(expected);
  });

  test.each(['10', '0x7f.0.0.1', '', 'example.com', '10.0.0.0/8'])('returns null for %j', (input) => {
    expect(parseIp(input)).toBeNull();
  });
});

describe('ipInRanges', () => {
  const v4 = [range('10.0.0.0/8'), range('192.168.1.0/24'), range('203.0.113.7')];
  const v6 = [range('2001:db8::/32'), range('fe80::1')];

  test.each<[string, string, boolean, IpRange[]]>([
    ['an IPv4 address inside a /8', '10.1.2.3', true, v4],
    ['the network address of a /8', '10.0.0.0', true, v4],
    ['the broadcast address of a /8', '10.255.255.255', true, v4],
    ['an IPv4 address just outside a /8', '11.0.0.0', false, v4],
    ['an IPv4 address just below a /8', '9.255.255.255', false, v4],
    ['an IPv4 address inside a /24', '192.168.1.200', true, v4],
    ['an IPv4 address in the neighbouring /24', '192.168.2.1', false, v4],
    ['the single allowed IPv4 address', '203.0.113.7', true, v4],
    ['the neighbour of the single allowed IPv4 address', '203.0.113.8', false, v4],
    ['an IPv4-mapped IPv6 address inside 10.0.0.0/8', '::ffff:10.1.2.3', true, v4],
    ['an IPv4-mapped IPv6 address (hex form) inside 10.0.0.0/8', '::ffff:a01:203', true, v4],
    ['an IPv4-mapped IPv6 address outside the ranges', '::ffff:11.1.2.3', false, v4],
    ['an IPv4-mapped IPv6 address equal to the single allowed address', '::ffff:203.0.113.7', true, v4],
    ['an IPv6 address inside a /32', '2001:db8:1234::5', true, v6],
    ['an IPv6 address in upper case inside a /32', '2001:DB8::ABCD', true, v6],
    ['an IPv6 address outside a /32', '2001:db9::1', false, v6],
    ['the single allowed IPv6 address', 'fe80::1', true, v6],
    ['the neighbour of the single allowed IPv6 address', 'fe80::2', false, v6],
    ['an IPv4 address against IPv6-only ranges', '10.1.2.3', false, v6],
    ['an IPv6 address against IPv4-only ranges', '2001:db8::1', false, v4],
    ['an IPv4 address against ::/0', '10.1.2.3', false, [range('::/0')]],
    ['an IPv6 address against 0.0.0.0/0', '2001:db8::1', false, [range('0.0.0.0/0')]],
    ['any IPv4 address against 0.0.0.0/0', '8.8.8.8', true, [range('0.0.0.0/0')]],
    ['any IPv6 address against ::/0', '2606:4700::1111', true, [range('::/0')]],
    ['an IPv4 address against an IPv4-mapped range', '10.20.30.40', true, [range('::ffff:10.0.0.0/104')]],
    ['any address against an empty list', '10.1.2.3', false, []],
    ['a malformed address', '10.1.2', false, v4],
    ['a hex-spelled address that would be inside 127/8', '0x7f.0.0.1', false, [range('127.0.0.0/8')]],
    ['an empty address', '', false, v4],
    ['a hostname', 'localhost', false, [range('127.0.0.0/8')]],
  ])('%s (%s): matches = %s', (_label, ip, expected, ranges) => {
    expect(ipInRanges(ip, ranges)).toBe(expected);
  });

  test('mixed IPv4 and IPv6 lists match addresses of both families', () => {
    const both = [...v4, ...v6];
    expect(ipInRanges('10.1.2.3', both)).toBe(true);
    expect(ipInRanges('2001:db8::1', both)).toBe(true);
    expect(ipInRanges('172.16.0.1', both)).toBe(false);
    expect(ipInRanges('2002::1', both)).toBe(false);
  });
});
