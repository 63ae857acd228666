import ipaddr from 'ipaddr.js';

// Country of an IP address from the GeoLite2 country data that the `geoip-country` package ships
// (no network at run time). Loading reads ~8 MB into memory once, so it is lazy; call
// loadGeoIp() at startup to pay that before the first request instead of during it.

interface GeoIpDatabase {
  lookup(ip: string): { country?: string } | null;
}

let database: GeoIpDatabase | null = null;

function geoIpDatabase(): GeoIpDatabase {
  database ??= require('geoip-country') as GeoIpDatabase;
  return database;
}

/** Load the GeoIP data now (synchronous file reads). */
export function loadGeoIp(): void {
  geoIpDatabase();
}

// Ranges no GeoIP database places in a country: answered without a lookup.
const NON_PUBLIC = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'private', 'carrierGradeNat', 'uniqueLocal']);

/** A dotted-quad IPv4 or an IPv6 address (IPv4-mapped IPv6 as its IPv4), or null if not one. */
function lookupAddress(ip: string): string | null {
  const text = ip.trim();
  if (text.includes('%')) return null; // a zone id only appears on link-local addresses
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return null;
  let addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (NON_PUBLIC.has(addr.range())) return null;
  return addr.toString();
}

/** ISO 3166-1 alpha-2 code of the country `ip` is in, or null (unknown, private, not an IP). */
export function countryOf(ip: string): string | null {
  const address = lookupAddress(ip);
  if (!address) return null;
  const country = geoIpDatabase().lookup(address)?.country;
  return country && /^[A-Z]{2}$/.test(country) ? country : null;
}
