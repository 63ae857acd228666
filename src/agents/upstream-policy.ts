import net from 'node:net';
import { blockedReason, guardedLookup, systemResolve, type Resolve, type SsrfPolicy } from '../infra/ssrf';

// Where the gateway may send an agent's or workflow's requests: the webhook SSRF rules, with a
// switch of their own (UPSTREAM_ALLOW_PRIVATE_NETWORKS) for deployments whose agents live on
// private networks. Checked when an upstreamUrl is set and at every connection the gateway opens.
// Process-wide, set once at start-up (app.ts) like the webhook settings; tests set it the same way.

const runtime: { policy: SsrfPolicy; resolve: Resolve } = {
  policy: { allowPrivateNetworks: false, setting: 'UPSTREAM_ALLOW_PRIVATE_NETWORKS' },
  resolve: systemResolve,
};

export function configureUpstreams(opts: { allowPrivateNetworks?: boolean; resolve?: Resolve }): void {
  if (opts.allowPrivateNetworks !== undefined) runtime.policy = { allowPrivateNetworks: opts.allowPrivateNetworks, setting: 'UPSTREAM_ALLOW_PRIVATE_NETWORKS' };
  if (opts.resolve !== undefined) runtime.resolve = opts.resolve;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Why the gateway may not send requests to `url`, or null. A name is resolved: every address it
 * stands for must be allowed. A name that does not resolve (yet) passes here; the connection
 * checks again.
 */
export async function upstreamRefusal(url: URL): Promise<string | null> {
  const host = hostOf(url);
  if (net.isIP(host)) return blockedReason(host, runtime.policy);
  const addresses = await runtime.resolve(host).catch(() => []);
  for (const a of addresses) {
    const why = blockedReason(a.address, runtime.policy);
    if (why) return `${host} resolves to ${why}`;
  }
  return null;
}

/** At connection time, for an IP literal (which never goes through a lookup): why it is refused, or null. */
export function literalUpstreamRefusal(hostname: string): string | null {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return net.isIP(host) ? blockedReason(host, runtime.policy) : null;
}

/** A `lookup` for the gateway's connections: the addresses a name resolves to are checked, and the socket gets exactly those. */
export function upstreamLookup(hostname: string, options: unknown, callback: unknown): void {
  (guardedLookup(runtime.policy, runtime.resolve) as (h: string, o: unknown, c: unknown) => void)(hostname, options, callback);
}
