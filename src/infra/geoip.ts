import { parseAddress } from './ip';

// Country of an IP address from the GeoLite2 country data that the `geoip-country` package ships
// (no network at run time). Loading reads ~8 MB into memory once, at the first lookup.

interface GeoIpDatabase {
  lookup(ip: string): { country?: string } | null;
}

let database: GeoIpDatabase | null = null;

function geoIpDatabase(): GeoIpDatabase {
  database ??= require('geoip-country') as GeoIpDatabase;
  return database;
}

// Ranges no GeoIP database places in a country: answered without a lookup.
const NON_PUBLIC = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'private', 'carrierGradeNat', 'uniqueLocal']);

/** The address to look up (IPv4-mapped IPv6 as its IPv4), or null if not a public IP. */
function lookupAddress(ip: string): string | null {
  const text = ip.trim();
  if (text.includes('%')) return null; // a zone id only appears on link-local addresses
  const addr = parseAddress(text);
  if (!addr || NON_PUBLIC.has(addr.range())) return null;
  return addr.toString();
}

/** ISO 3166-1 alpha-2 code of the country `ip` is in, or null (unknown, private, not an IP). */
export function countryOf(ip: string): string | null {
  const address = lookupAddress(ip);
  if (!address) return null;
  const country = geoIpDatabase().lookup(address)?.country;
  return country && /^[A-Z]{2}$/.test(country) ? country : null;
}
