import ipaddr from 'ipaddr.js';

// IP allowlists: single addresses and CIDR ranges, IPv4 and IPv6. IPv4-mapped IPv6 addresses
// (::ffff:203.0.113.7, what a dual-stack socket reports) count as their IPv4 address.

export type IpRange = { kind: 'ipv4' | 'ipv6'; addr: ipaddr.IPv4 | ipaddr.IPv6; bits: number };

export type AllowlistEntry = { ok: true; normalized: string; range: IpRange } | { ok: false; error: string };

function normalizeAddress(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

export function parseAllowlistEntry(raw: string): AllowlistEntry {
  const text = raw.trim();
  if (text === '') return { ok: false, error: 'empty entry' };
  if (text.includes('/')) {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    if (!isStrictAddress(text.slice(0, text.indexOf('/')))) return { ok: false, error: `"${raw}" is not a valid CIDR range` };
    try {
      parsed = ipaddr.parseCIDR(text);
    } catch {
      return { ok: false, error: `"${raw}" is not a valid CIDR range` };
    }
    let [addr, bits] = parsed;
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      addr = (addr as ipaddr.IPv6).toIPv4Address();
      bits -= 96;
    }
    const network = ipaddr.parse(networkAddress(addr, bits));
    return { ok: true, normalized: `${network.toString()}/${bits}`, range: { kind: addr.kind(), addr: network, bits } };
  }
  if (!isStrictAddress(text)) {
    return { ok: false, error: `"${raw}" is not a valid IP address or CIDR range` };
  }
  const addr = normalizeAddress(ipaddr.parse(text));
  const bits = addr.kind() === 'ipv4' ? 32 : 128;
  return { ok: true, normalized: addr.toString(), range: { kind: addr.kind(), addr, bits } };
}

function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, bits: number): string {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] &= keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Dotted-quad IPv4 or IPv6 only: no "10", "0x7f.1" or other legacy spellings. */
function isStrictAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

export function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!isStrictAddress(text)) return null;
  return normalizeAddress(ipaddr.parse(text));
}

export function ipInRanges(ip: string, ranges: readonly IpRange[]): boolean {
  const addr = parseIp(ip);
  if (!addr) return false;
  for (const r of ranges) {
    if (r.kind === addr.kind() && addr.match(r.addr, r.bits)) return true;
  }
  return false;
}
