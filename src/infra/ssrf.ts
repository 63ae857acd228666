import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';

// SSRF guard: a URL an account sets (a webhook endpoint, an agent's or workflow's upstream) must
// not make Keywarden reach into its own network. Checked when the URL is set and again at every
// connection, which goes to the very address that was checked (see guardedLookup), so a name
// that resolves to a public address at check time and a private one a moment later (DNS
// rebinding) gets nowhere.

export interface SsrfPolicy {
  /** Loopback, private, CGNAT, reserved ranges become reachable (link-local and metadata never do). */
  allowPrivateNetworks: boolean;
  /** The variable that sets allowPrivateNetworks, named in refusals (default WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
  setting?: string;
}

/** Cloud metadata services outside 169.254.0.0/16 (which is link-local and always refused). */
const METADATA = new Set(['fd00:ec2::254', '100.100.100.200']);

/** Why an address is refused, or null when a webhook may go there. */
export function blockedReason(address: string, policy: SsrfPolicy): string | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return `"${address}" is not an IP address`;
  }
  // IPv4 carried inside IPv6 (::ffff:a.b.c.d, NAT64 64:ff9b::/96, SIIT) is judged as that IPv4.
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    const range = v6.range();
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
    else if (range === 'rfc6052' || range === 'rfc6145') ip = ipaddr.fromByteArray(v6.toByteArray().slice(12)) as ipaddr.IPv4;
  }
  const normalized = ip.toString();
  const range = ip.range();
  if (METADATA.has(normalized) || normalized === '169.254.169.254') return `${address} is a cloud metadata address`;
  if (range === 'linkLocal') return `${address} is link-local`;
  if (range === 'unicast') return null;
  if (policy.allowPrivateNetworks) return null;
  return `${address} is in a ${describe(range)} range (set ${policy.setting ?? 'WEBHOOK_ALLOW_PRIVATE_NETWORKS'}=true to allow it)`;
}

function describe(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private',
    uniqueLocal: 'private (unique local)',
    carrierGradeNat: 'carrier-grade NAT',
    multicast: 'multicast',
    broadcast: 'broadcast',
    unspecified: 'unspecified',
  };
  return names[range] ?? `reserved (${range})`;
}

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKEDADDRESS';
}

export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Every address the URL's host stands for must be allowed; one refused address refuses the URL
 * (a name with one public and one private address is not to be trusted with either).
 */
export async function checkUrlAddresses(url: URL, policy: SsrfPolicy, resolve: Resolve = systemResolve): Promise<{ addresses: string[] }> {
  const host = hostOf(url);
  const addresses = net.isIP(host) ? [host] : (await resolve(host)).map((a) => a.address);
  if (addresses.length === 0) throw new BlockedAddressError(`${host} does not resolve to any address`);
  for (const a of addresses) {
    const why = blockedReason(a, policy);
    if (why) throw new BlockedAddressError(net.isIP(host) ? why : `${host} resolves to ${why}`);
  }
  return { addresses };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: resolves once, refuses the connection when any address is blocked,
 * and hands the socket exactly the addresses it checked.
 */
export function guardedLookup(policy: SsrfPolicy, resolve: Resolve = systemResolve) {
  return (hostname: string, options: dns.LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const all = typeof options === 'object' && options !== null && options.all === true;
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return cb(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
        for (const a of addresses) {
          const why = blockedReason(a.address, policy);
          if (why) return cb(new BlockedAddressError(`${hostname} resolves to ${why}`), '');
        }
        if (all)
          cb(
            null,
            addresses.map((a) => ({ address: a.address, family: a.family })),
          );
        else cb(null, addresses[0].address, addresses[0].family);
      },
      (err: NodeJS.ErrnoException) => cb(err, ''),
    );
  };
}
