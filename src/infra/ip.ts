import ipaddr from 'ipaddr.js';

// Client addresses as the HTTP layer and the GeoIP lookup read them.

/**
 * A dotted-quad IPv4 or an IPv6 address (no "10" or "0x7f.1" legacy spellings), an IPv4-mapped
 * IPv6 address (what a dual-stack socket reports) as its IPv4; null when `text` is neither.
 */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return null;
  const addr = ipaddr.parse(text);
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
}

/**
 * The caller a per-client counter counts under: an IPv4 address as itself, an IPv6 address by
 * its /64 (one subscriber's network: a host picks any address in it at will). Text that is not
 * an address is returned as it is.
 */
export function callerBucket(ip: string): string {
  const addr = parseAddress(ip);
  if (!addr) return ip;
  if (addr.kind() === 'ipv4') return addr.toString();
  const network = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...network, 0, 0, 0, 0]).toString()}/64`;
}

/** A loopback host name or address (localhost, 127.0.0.0/8, ::1): only this machine reaches it. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const addr = parseAddress(h);
  return addr !== null && addr.range() === 'loopback';
}
